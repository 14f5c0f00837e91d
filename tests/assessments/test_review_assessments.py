"""Review of the assessments app: holes in the attempt state machine, score arithmetic, the
grades CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from assessments import services
from assessments.models import Assessment, Attempt, Question
from courses.models import LessonProgress
from tests.assessments.factories import enrol, make_assessment, practical_evaluation, run_of
from tests.courses.factories import assign_instructor

pytestmark = pytest.mark.django_db
K = Question.Kind


def test_a_learner_cannot_start_a_practical_evaluation(client: Any, instructor: Any) -> None:
    """A practical evaluation is recorded by the instructor; an officer posting "start" to it
    (the page shows no button, the address is guessable) got an attempt in progress, which
    then made the instructor's recording of the whole run fail."""
    assessment, run, question, (officer, other) = practical_evaluation(instructor, 2)
    client.force_login(officer.user)

    client.post(reverse("assessments:start", args=[assessment.pk]))

    assert not Attempt.objects.filter(enrollment=officer).exists()
    page = client.get(reverse("assessments:overview", args=[assessment.pk]))
    assert "Your instructor records this practical evaluation" in page.content.decode()
    # and the instructor can record the run
    services.record_practical(
        assessment=assessment,
        run=run,
        actor=instructor,
        marks={officer.pk: {question.pk: {"c1"}}, other.pk: {question.pk: {"c2"}}},
    )
    assert Attempt.objects.get(enrollment=officer).score == 2


def test_an_assessment_without_questions_is_not_started(client: Any, learner: Any) -> None:
    """A quiz whose sections draw nothing (its questions deactivated, a tag no question has)
    gave an attempt of 0 points: submitted, it was released as 0 % failed and used up the one
    attempt allowed."""
    assessment = make_assessment(max_attempts=1)
    Question.objects.filter(course=assessment.lesson.version.course).update(is_active=False)
    for section in assessment.sections.all():
        services.rebuild_pool(section=section)
    enrollment = enrol(assessment, learner)
    client.force_login(learner)

    client.post(reverse("assessments:start", args=[assessment.pk]))

    assert not Attempt.objects.filter(enrollment=enrollment).exists()
    assert not LessonProgress.objects.filter(enrollment=enrollment, passed=False).exists()


def test_a_start_racing_a_submit_makes_no_attempt_beyond_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two starts checked the limit before either wrote: when the first's attempt was submitted
    before the second inserted, the second got the next number, one more than allowed."""
    assessment = make_assessment(max_attempts=1)
    enrollment = enrol(assessment)
    draw = services.draw_questions
    raced = []

    def draw_while_another_request_starts_and_submits(**kwargs: Any) -> Any:
        if not raced:
            raced.append(True)
            other = services.start_attempt(
                assessment=assessment, enrollment=enrollment, actor=enrollment.user
            )
            services.submit_attempt(attempt=other, actor=enrollment.user, responses={})
        return draw(**kwargs)

    monkeypatch.setattr(services, "draw_questions", draw_while_another_request_starts_and_submits)

    with pytest.raises(services.AttemptRefused):
        services.start_attempt(assessment=assessment, enrollment=enrollment, actor=enrollment.user)

    assert Attempt.objects.filter(enrollment=enrollment).count() == 1


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_grades_csv_averages_as_the_learners_result_does(client: Any, instructor: Any) -> None:
    """The CSV rounded an average of attempts half to even (80.025 → 80.02) where the learner's
    result and course progress round half up (80.03)."""
    assessment = make_assessment(
        grading_method=Assessment.GradingMethod.AVERAGE, max_attempts=2, time_limit_minutes=None
    )
    run = run_of(assessment)
    assign_instructor(run, instructor)
    enrollment = enrol(assessment)
    for _ in range(2):
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        services.submit_attempt(attempt=attempt, actor=enrollment.user, responses={})
    first, second = Attempt.objects.filter(enrollment=enrollment).order_by("number")
    Attempt.objects.filter(pk=first.pk).update(score_pct=Decimal("80.00"))
    Attempt.objects.filter(pk=second.pk).update(score_pct=Decimal("80.05"))
    counted = services.counted_result(assessment=assessment, enrollment=enrollment)
    assert counted == Decimal("80.03")
    client.force_login(instructor)

    rows = _csv(client.get(reverse("assessments:grades_csv", args=[run.code])))

    assert rows[1][5] == "80.03"


def test_a_score_in_scientific_notation_is_not_a_server_error(client: Any, instructor: Any) -> None:
    """ "1e-999999" passed the range check and overflowed the database's numeric column: a 500
    for the instructor. The score is kept to the cents the column holds."""
    from tests.assessments.factories import essay_assessment, submitted

    assessment, essay = essay_assessment()
    attempt = submitted(assessment, {essay.pk: "Proportionate force."})
    assign_instructor(run_of(assessment), instructor)
    answer = attempt.answers.get()
    client.force_login(instructor)

    response = client.post(
        reverse("assessments:grade", args=[attempt.pk]),
        {"answer": answer.pk, "score": "1e-999999", "comment": ""},
    )

    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.score == Decimal("0.00")
    assert attempt.grade_history.get().new_score == Decimal("0.00")


def test_a_withdrawn_learner_cannot_submit_the_attempt_they_had_started(learner: Any) -> None:
    """Withdrawn from the run (by themselves or their coordinator) in the middle of an exam, the
    officer may not start one (check_can_start), but could still save and submit the attempt
    under way: graded, released and recorded in the withdrawn enrolment's progress."""
    from courses import services as courses_services

    assessment = make_assessment()
    enrollment = enrol(assessment, learner)
    attempt = services.start_attempt(assessment=assessment, enrollment=enrollment, actor=learner)
    courses_services.withdraw(enrollment=enrollment, actor=learner)
    responses = {e["question"]: ("b" if e["options"] else "3.5") for e in attempt.draw}

    with pytest.raises(services.AttemptRefused):
        services.save_answers(attempt=attempt, actor=learner, responses=responses)
    with pytest.raises(services.AttemptRefused):
        services.submit_attempt(attempt=attempt, actor=learner, responses=responses)

    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS
    assert not attempt.answers.exclude(response=None).exists()
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()
