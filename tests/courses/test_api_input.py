"""The REST API's enrolment and token endpoints with malformed input: 400s naming the field in
the caller's language, nothing echoed back."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_run_that_is_not_a_code_is_refused_without_echoing_it(
    client: Client, learner: Any
) -> None:
    client.force_login(learner)
    huge = ["a"] * 100_000
    response = client.post(
        "/api/v1/enrollments/", {"run": huge}, content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"run": ["Enter the code of a course run."]}
    response = client.post(
        "/api/v1/enrollments/", {"run": "no-such-run"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"run": ["No course run has this code."]}
    response = client.post(
        "/api/v1/enrollments/",
        {"run": "no-such-run", "user": "a" * 300},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "user" in response.json()


def test_the_token_endpoint_tells_a_malformed_body_in_the_callers_language(client: Client) -> None:
    response = client.post(
        "/api/v1/auth/token/", '{"username": ', content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="es",
    )  # fmt: skip
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "JSON" in detail
    assert "Expecting value" not in detail
