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


@pytest.fixture
def spanish_client(client: Client, learner: Any) -> Client:
    """The client signed in as a learner who reads Spanish."""
    learner.preferred_language = "es"
    learner.save()
    client.force_login(learner)
    return client


def test_a_page_that_is_not_a_whole_number_from_one_is_refused_naming_it(
    spanish_client: Client,
) -> None:
    client = spanish_client
    for url in ("/api/v1/courses/", "/api/v1/enrollments/"):
        for page in ("abc", "0", "-1", "", "1.5", "１", "9999999999", "9" * 5000):
            response = client.get(url, {"page": page}, HTTP_ACCEPT_LANGUAGE="es")
            assert response.status_code == 400, (url, page)
            assert list(response.json()) == ["page"]
            assert "número de página" in response.json()["page"][0]
        assert client.get(url, {"page": "1"}).status_code == 200
        past = client.get(url, {"page": "2"}, HTTP_ACCEPT_LANGUAGE="es")
        assert past.status_code == 404
        assert past.json() == {"detail": "Página inválida."}


def test_a_catalogue_filter_that_cannot_match_is_refused_naming_it(client: Client) -> None:
    cases = {
        "mode": "virtul", "language": "de", "member_state": "COL", "program": "no such",
        "q": "x" * 101,
    }  # fmt: skip
    for name, value in cases.items():
        response = client.get("/api/v1/courses/", {name: value}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, name
        assert list(response.json()) == [name]
    for name, value in {"mode": "onsite", "language": "fr", "member_state": "co"}.items():
        assert client.get("/api/v1/courses/", {name: value}).status_code == 200, name


def test_the_enrolments_run_filter_takes_a_code_only(client: Client, learner: Any) -> None:
    client.force_login(learner)
    response = client.get("/api/v1/enrollments/", {"run": "no such run"})
    assert response.status_code == 400
    assert list(response.json()) == ["run"]
    assert client.get("/api/v1/enrollments/", {"run": "no-such-run"}).json()["count"] == 0


def test_an_empty_run_code_is_told_as_not_a_code(client: Client, learner: Any) -> None:
    client.force_login(learner)
    for body, kind in (
        ({"run": ""}, "application/json"),
        ("run=", "application/x-www-form-urlencoded"),
    ):
        response = client.post(
            "/api/v1/enrollments/", body, content_type=kind, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 400
        assert response.json() == {"run": ["Enter the code of a course run."]}


def test_a_path_under_the_api_that_matches_nothing_is_answered_in_json(
    spanish_client: Client,
) -> None:
    client = spanish_client
    for path in ("/api/v1/enrollments/not-a-uuid/progress/", "/api/v1/nothing/"):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="es")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "No encontrado."}
    page = client.get("/courses/nothing-here/", HTTP_ACCEPT_LANGUAGE="es")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
