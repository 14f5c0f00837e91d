"""Ids read from requests (lms/ids.py), and the pages that read them: a superscript digit or an
id longer than a bigint was a 500 wherever a view trusted str.isdigit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lms.ids import as_id

pytestmark = pytest.mark.django_db


def test_only_short_ascii_digit_strings_are_ids() -> None:
    assert as_id("42") == 42
    assert as_id("9" * 18) == int("9" * 18)
    for bad in ("²", "¹2", "٣", "-1", "1e3", "", "9" * 19, "4 2", " 7 ", None, 5):
        assert as_id(bad) is None, bad


def test_the_grading_queue_and_the_dashboards_answer_bad_ids_without_a_500(
    client: Client, instructor: Any, dps_admin: Any
) -> None:
    client.force_login(instructor)
    for value in ("²", "9" * 25):
        page = client.get(reverse("assessments:queue"), {"run": value, "assessment": value})
        assert page.status_code == 200  # an id that is not one filters nothing
    client.force_login(dps_admin)
    for value in ("²", "9" * 25):
        response = client.get(reverse("dashboards:home"), {"run": value, "institution": value})
        assert response.status_code == 400
