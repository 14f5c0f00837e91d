"""The grading page says "of 1.00 point" and "of 2.00 points": the attempt's and each answer's
points take the plural their maximum needs, their numbers in the reader's notation as before."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.assessments.factories import essay_assessment, run_of, submitted
from tests.courses.factories import assign_instructor

pytestmark = pytest.mark.django_db


def _grading_page(client: Client, instructor: Any, points: str, language: str = "en") -> str:
    assessment, essay = essay_assessment(points=Decimal(points))
    attempt = submitted(assessment, {essay.pk: "My essay"})
    assign_instructor(run_of(assessment), instructor)
    instructor.preferred_language = language  # the page's language, as the middleware sets it
    instructor.save(update_fields=["preferred_language"])
    client.force_login(instructor)
    with translation.override(language):
        return client.get(reverse("assessments:grade", args=[attempt.pk])).content.decode()


def _points(page: str) -> list[str]:
    """The "score of max points" texts: the attempt's, then each answer's."""
    return re.findall(r"[^ >]+ of [^<·]+? points?\b", page)


@pytest.mark.parametrize(
    ("points", "shown"),
    [
        ("1", ["0.00 of 1.00 point", "– of 1.00 point"]),
        ("2", ["0.00 of 2.00 points", "– of 2.00 points"]),
        ("0.5", ["0.00 of 0.50 points", "– of 0.50 points"]),
        ("1.5", ["0.00 of 1.50 points", "– of 1.50 points"]),
    ],
)
def test_the_points_take_the_plural_of_their_maximum(
    client: Client, instructor: Any, points: str, shown: list[str]
) -> None:
    assert _points(_grading_page(client, instructor, points)) == shown


def test_the_maximum_keeps_the_readers_decimal_comma(client: Client, instructor: Any) -> None:
    page = _grading_page(client, instructor, "0.5", language="fr")
    assert "0,50" in page
    assert "0.50" not in page
