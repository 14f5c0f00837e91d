"""An attempt's results reach the LRS when the learner may see them (QA: the per-question
`answered` statements, with their score and success, were stored at submit and read by the
learner through /xapi/statements while the grade waited for the instructor's release).

Statements carrying an attempt's results (`answered` with its result, `scored`, `passed` or
`failed`) are stored at submit when the results are released at once (auto_release and nothing
to grade by hand), otherwise when the instructor releases the grades.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from assessments import services
from assessments.models import Answer, Assessment, Attempt, Question
from tests.assessments.factories import enrol, essay_assessment, make_assessment, run_of
from tests.courses.factories import assign_instructor
from tests.xapi.conftest import LRS

pytestmark = pytest.mark.django_db

VERBS = "http://adlnet.gov/expapi/verbs/"
ANSWERED = VERBS + "answered"


def _right(attempt: Attempt) -> dict[int, Any]:
    """Right responses to the default single-choice and numeric questions."""
    kinds = dict(
        Question.objects.filter(pk__in=[e["question"] for e in attempt.draw]).values_list(
            "pk", "kind"
        )
    )
    return {pk: ("b" if kind == Question.Kind.SINGLE else "3.5") for pk, kind in kinds.items()}


def _submit(assessment: Assessment) -> Attempt:
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    return services.submit_attempt(
        attempt=attempt, actor=enrollment.user, responses=_right(attempt)
    ).attempt


def _as_learner(user: Any, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The statements the learner reads with their session, as content inside the LMS does."""
    session = LRS(None)
    session.client.force_login(user)
    response = session.get("statements", params or {})
    assert response.status_code == 200, response.content
    return list(response.json()["statements"])


def _results(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if "score" in (s.get("result") or {})]


def test_an_unreleased_attempt_shows_the_learner_no_result(instructor: Any) -> None:
    assessment = make_assessment(auto_release=False)
    attempt = _submit(assessment)
    assert attempt.status == Attempt.Status.GRADED  # graded, waiting for the release
    answered = _as_learner(attempt.user, {"verb": ANSWERED})
    assert _results(answered) == []
    assert [s for s in answered if "success" in (s.get("result") or {})] == []
    assert _results(_as_learner(attempt.user)) == []  # nor scored, passed or failed


def test_the_release_stores_the_results_the_learner_then_reads(instructor: Any) -> None:
    assessment = make_assessment(auto_release=False)
    attempt = _submit(assessment)
    run = run_of(assessment)
    assign_instructor(run, instructor)
    assert services.release_grades(assessment=assessment, run=run, actor=instructor) == 1
    answered = _as_learner(attempt.user, {"verb": ANSWERED})
    assert len(answered) == len(attempt.draw)
    for one in answered:
        assert one["result"]["score"]["raw"] == one["result"]["score"]["max"]
        assert one["result"]["success"] is True
        # the moment the learner answered, not the release's
        assert one["timestamp"].startswith(attempt.submitted_at.strftime("%Y-%m-%dT%H:%M:%S"))
    verbs = {s["verb"]["id"] for s in _results(_as_learner(attempt.user))}
    assert {VERBS + "scored", VERBS + "passed", ANSWERED} <= verbs


def test_an_auto_released_quiz_stores_its_results_at_submit() -> None:
    assessment = make_assessment()  # auto_release, objective questions only
    attempt = _submit(assessment)
    assert attempt.status == Attempt.Status.RELEASED
    answered = _as_learner(attempt.user, {"verb": ANSWERED})
    assert len(_results(answered)) == len(attempt.draw)
    verbs = {s["verb"]["id"] for s in _as_learner(attempt.user)}
    assert {VERBS + "scored", VERBS + "passed"} <= verbs


def test_an_essay_to_grade_stores_its_results_once_graded_and_released(
    instructor: Any,
) -> None:
    # auto_release, but an essay to grade by hand
    assessment, essay = essay_assessment(points=Decimal(5))
    enrollment = enrol(assessment)
    attempt = services.start_attempt(
        assessment=assessment, enrollment=enrollment, actor=enrollment.user
    )
    services.submit_attempt(
        attempt=attempt, actor=enrollment.user, responses={essay.pk: "The law says…"}
    )
    assert _as_learner(enrollment.user, {"verb": ANSWERED}) == []
    run = run_of(assessment)
    assign_instructor(run, instructor)
    answer = Answer.objects.get(attempt=attempt, question=essay)
    services.grade_answer(answer=answer, actor=instructor, score=Decimal(2))
    assert _as_learner(enrollment.user, {"verb": ANSWERED}) == []  # graded, not released
    services.release_grades(assessment=assessment, run=run, actor=instructor)
    [answered] = _as_learner(enrollment.user, {"verb": ANSWERED})
    assert answered["result"]["score"]["raw"] == 2.0  # the instructor's grade
    assert answered["result"]["response"] == "The law says…"
