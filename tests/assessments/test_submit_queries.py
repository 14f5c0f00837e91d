"""Submitting an exam stores its statements in a fixed number of round trips.

An exam of twenty questions used to store its twenty `answered` statements one INSERT each (and
`scored` and `passed`/`failed` one each): in an exam window of thousands of officers, that was
most of the submit's queries. They are now one INSERT for the answers and one for the result,
whatever the number of questions.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import services
from assessments.models import Question
from lms.xapi.models import Statement
from tests.assessments.factories import enrol, make_assessment

pytestmark = pytest.mark.django_db


def _submit(questions: int) -> tuple[int, Any]:
    assessment = make_assessment(kinds=[Question.Kind.SINGLE] * questions)
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    responses = {entry["question"]: entry["options"][0] for entry in attempt.draw}
    with CaptureQueriesContext(connection) as captured:
        services.submit_attempt(attempt=attempt, actor=enrollment.user, responses=responses)
    return len(captured), enrollment


def test_the_submit_costs_the_same_for_3_and_15_questions() -> None:
    few, _ = _submit(3)
    many, enrollment = _submit(15)
    assert many == few
    registration = enrollment.registration
    verbs = list(
        Statement.objects.filter(registration=registration).values_list("verb_id", flat=True)
    )
    answered = [verb for verb in verbs if verb.endswith("/answered")]
    assert len(answered) == 15
    assert any(verb.endswith("/scored") for verb in verbs)
    assert any(verb.endswith(("/passed", "/failed")) for verb in verbs)
