"""A rubric grades on its range scaled to the question's points: with two criteria of levels
0, 1 and 2 on a 2-point essay, Partial and Partial earn 1, Complete and Partial 1.50, the lowest
levels nothing and the highest all 2 (the sum capped at the points gave 2 for the first two)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments import services
from assessments.models import Answer
from tests.assessments.factories import enrol, essay_assessment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [((1, 1), "1.00"), ((2, 1), "1.50"), ((0, 0), "0.00"), ((2, 2), "2.00"), ((0, 1), "0.50")],
)
def test_the_rubrics_range_is_scaled_to_the_points(chosen: tuple[int, int], expected: str) -> None:
    assessment, essay = essay_assessment(points=Decimal(2), rubric=True)
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    answer = Answer.objects.select_related("question__rubric").get(attempt=attempt)
    assert answer.max_score == Decimal(2)
    criteria = list(essay.rubric.criteria.order_by("position"))
    levels = {
        criterion.pk: criterion.levels.get(points=points).pk
        for criterion, points in zip(criteria, chosen, strict=True)
    }
    assert services.rubric_score(answer=answer, levels=levels) == Decimal(expected)
