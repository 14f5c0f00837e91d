"""Releasing a run's grades is bulk work: a fixed number of queries whatever the number of
officers, with the same outcome as releasing them one by one.

It used to release one attempt after the other (about 17 queries and 13 ms each: a run of a
thousand officers took longer than a request may). Now the attempts, their statements, the
results that count and the officers' course progress are written together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import services
from assessments.models import Assessment, Attempt, Question
from courses.models import Enrollment, EnrollmentEvent, LessonProgress
from lms.xapi.models import Statement
from tests.assessments.factories import enrol, make_assessment, practical_evaluation, run_of
from tests.courses.factories import assign_instructor

pytestmark = pytest.mark.django_db

K = Question.Kind
VERBS = "http://adlnet.gov/expapi/verbs/"


def _graded_practical(officers: int, instructor: Any) -> tuple[Assessment, Any, list[Enrollment]]:
    """A practical evaluation recorded for `officers` officers and not yet released."""
    assessment, run, question, enrollments = practical_evaluation(instructor, officers)
    # Alternately everything observed and nothing: some pass, some fail.
    marks = {
        e.pk: {question.pk: ({"c1", "c2"} if n % 2 else set())} for n, e in enumerate(enrollments)
    }
    services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    return assessment, run, enrollments


@pytest.mark.usefixtures("require_postgres")  # SQLite splits bulk writes at 999 parameters
def test_releasing_5_or_40_officers_costs_the_same_queries(instructor: Any) -> None:
    counts = []
    for officers in (5, 40):
        assessment, run, _enrollments = _graded_practical(officers, instructor)
        with CaptureQueriesContext(connection) as captured:
            released = services.release_grades(assessment=assessment, run=run, actor=instructor)
        assert released == officers
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_a_bulk_release_records_what_one_at_a_time_did(instructor: Any) -> None:
    assessment, run, enrollments = _graded_practical(4, instructor)
    services.release_grades(assessment=assessment, run=run, actor=instructor)
    attempts = Attempt.objects.filter(assessment=assessment)
    assert set(attempts.values_list("status", flat=True)) == {"released"}
    lesson = assessment.lesson
    progress = {p.enrollment_id: p for p in LessonProgress.objects.filter(lesson=lesson)}
    for n, enrollment in enumerate(enrollments):
        attempt = attempts.get(enrollment=enrollment)
        mine = progress[enrollment.pk]
        assert mine.status == "completed"
        assert mine.score_pct == attempt.score_pct
        assert mine.passed is attempt.passed
        assert attempt.passed is bool(n % 2)
        enrollment.refresh_from_db()
        # The quiz is one of the version's two required lessons; its score is the course's.
        assert enrollment.progress_pct == 50
        assert enrollment.score_pct == attempt.score_pct
        verbs = set(
            Statement.objects.filter(registration=enrollment.registration).values_list(
                "verb_id", flat=True
            )
        )
        assert {VERBS + "scored", VERBS + ("passed" if n % 2 else "failed")} <= verbs
        assert VERBS + "completed" in verbs  # the lesson
    # Nothing left to release: a second click releases none and changes nothing.
    assert services.release_grades(assessment=assessment, run=run, actor=instructor) == 0
    assert LessonProgress.objects.filter(lesson=lesson).count() == 4


@pytest.mark.parametrize(
    ("method", "counted"),
    [("highest", Decimal("100.00")), ("last", Decimal("0.00")), ("average", Decimal("50.00"))],
)
def test_two_attempts_of_one_officer_released_together_count_by_the_method(
    instructor: Any, method: str, counted: Decimal
) -> None:
    assessment = make_assessment(
        kinds=[K.SINGLE], auto_release=False, max_attempts=2, grading_method=method
    )
    run = run_of(assessment)
    assign_instructor(run, instructor)
    enrollment = enrol(assessment)
    question = Question.objects.get(category__course=run.course)
    right, wrong = question.key["correct"], "zz"
    for answer in (right, wrong):
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        services.submit_attempt(
            attempt=attempt, actor=enrollment.user, responses={question.pk: answer}
        )
    assert services.release_grades(assessment=assessment, run=run, actor=instructor) == 2
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=assessment.lesson)
    assert progress.score_pct == counted
    assert progress.passed is (counted >= assessment.passing_score_pct)


def _final_exam(officers: int, instructor: Any) -> tuple[Assessment, Any, list[Enrollment]]:
    """A practical evaluation that is the course's only required lesson, recorded (all pass)."""
    assessment, run, enrollments = _graded_practical(0, instructor)
    assessment.lesson.version.lessons.exclude(pk=assessment.lesson_id).update(is_required=False)
    enrollments = [enrol(assessment) for _ in range(officers)]
    question = Question.objects.get(category__course=run.course, kind=K.PRACTICAL)
    marks = {e.pk: {question.pk: {"c1", "c2"}} for e in enrollments}
    services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    return assessment, run, enrollments


@pytest.mark.usefixtures("require_postgres")  # SQLite splits bulk writes at 999 parameters
def test_releasing_a_final_exam_completes_5_or_30_courses_in_the_same_queries(
    instructor: Any,
) -> None:
    counts = []
    for officers in (5, 30):
        assessment, run, enrollments = _final_exam(officers, instructor)
        with CaptureQueriesContext(connection) as captured:
            services.release_grades(assessment=assessment, run=run, actor=instructor)
        counts.append(len(captured))
        completed = Enrollment.objects.filter(pk__in=[e.pk for e in enrollments])
        assert set(completed.values_list("status", "passed")) == {("completed", True)}
        run.refresh_from_db()
        assert run.completed_count == officers
        assert (
            EnrollmentEvent.objects.filter(
                enrollment__run=run, to_status="completed", note="completion rules met"
            ).count()
            == officers
        )
        course_completed = Statement.objects.filter(
            verb_id=VERBS + "completed",
            registration__in=[e.registration for e in enrollments],
            activity_id__contains="/course/",
        )
        assert course_completed.count() == officers
    assert counts[0] == counts[1], counts


@pytest.mark.django_db(transaction=True)
def test_the_dashboards_count_each_completion_of_a_release_once(instructor: Any) -> None:
    from lms.dashboards.models import RunTotal

    assessment, run, enrollments = _final_exam(4, instructor)
    services.release_grades(assessment=assessment, run=run, actor=instructor)
    services.release_grades(assessment=assessment, run=run, actor=instructor)  # nothing left
    total = RunTotal.objects.get(run_id=run.pk)
    # (The factory's enrolments are rows made directly: their enrolling was never counted.)
    assert (total.enrolled, total.completed, total.passed) == (0, 4, 4)


@pytest.mark.parametrize(
    ("officers", "said"), [(1, "1 calificación publicada."), (3, "3 calificaciones publicadas.")]
)
def test_the_release_says_how_many_in_the_readers_grammar(
    client: Any, instructor: Any, officers: int, said: str
) -> None:
    from django.urls import reverse

    assessment, run, _enrollments = _graded_practical(officers, instructor)
    instructor.preferred_language = "es"
    instructor.save(update_fields=["preferred_language"])
    client.force_login(instructor)
    url = reverse("assessments:release", args=[run.code, assessment.pk])
    page = client.post(url, follow=True).content.decode()
    assert said in page
