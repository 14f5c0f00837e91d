"""An ordering question answered with ranks: each item counts only at a place no other item
claims, within 1..n; equal ranks no longer let the items' stored order decide."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments import services
from assessments.models import Answer, Question
from tests.assessments.factories import enrol, make_assessment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("ranks", "stored", "points"),
    [
        ({"i1": "1", "i2": "2", "i3": "3"}, ["i1", "i2", "i3"], "1.00"),
        ({"i1": "1", "i2": "1", "i3": "1"}, ["", "", ""], "0.00"),
        ({"i1": "1", "i2": "1", "i3": "7"}, ["", "", ""], "0.00"),
        ({"i1": "1", "i2": "1", "i3": "3"}, ["", "", "i3"], "0.33"),
        ({"i1": "2", "i2": "1", "i3": "3"}, ["i2", "i1", "i3"], "0.33"),
    ],
)
def test_ranks_are_placed_and_graded(
    client: Client, learner: Any, ranks: dict[str, str], stored: list[str], points: str
) -> None:
    assessment = make_assessment(kinds=[Question.Kind.ORDERING])
    enrollment = enrol(assessment, learner)
    attempt = services.start_attempt(assessment=assessment, enrollment=enrollment, actor=learner)
    question = attempt.draw[0]["question"]
    client.force_login(learner)
    response = client.post(
        reverse("assessments:submit", args=[attempt.pk]),
        {f"q-{question}-{item}": rank for item, rank in ranks.items()},
    )
    assert response.status_code == 302
    answer = Answer.objects.get(attempt=attempt)
    assert answer.response == stored
    assert str(answer.score) == points
