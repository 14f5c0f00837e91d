"""Instructors: grading with rubrics, regrade history, release, practical evaluations for a
whole run, item statistics, the grades CSV, and the refusals outside their runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from assessments import selectors, services
from assessments.models import Answer, Assessment, Attempt, GradeChange, Question
from courses.models import LessonProgress
from tests.assessments.factories import enrol, make_assessment, make_rubric, run_of, submitted
from tests.courses.factories import assign_instructor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
K = Question.Kind


@pytest.fixture
def essay_exam(db: None) -> Assessment:
    assessment = make_assessment(kinds=[K.SINGLE, K.ESSAY], time_limit_minutes=None)
    essay = Question.objects.get(category__course=assessment.lesson.version.course, kind=K.ESSAY)
    essay.rubric = make_rubric(essay.course)
    essay.points = Decimal(4)
    essay.save()
    return Assessment.objects.get(pk=assessment.pk)


def _submitted(assessment: Assessment, user: Any = None) -> Attempt:
    """Submitted with "b" for every drawn question with options and an essay for the rest."""

    def responses(attempt: Attempt) -> dict[int, Any]:
        return {
            entry["question"]: "b" if entry["options"] else "Force must be proportionate."
            for entry in attempt.draw
        }

    return submitted(assessment, responses, user)


def _essay(attempt: Attempt) -> Answer:
    return attempt.answers.select_related("question__rubric").get(question__kind=K.ESSAY)


def _levels(answer: Answer, points: list[int]) -> dict[int, int]:
    rubric = answer.question.rubric
    assert rubric is not None
    return {
        criterion.pk: criterion.levels.get(points=value).pk
        for criterion, value in zip(rubric.criteria.order_by("position"), points, strict=True)
    }


def test_an_essay_waits_for_grading_and_is_not_released(essay_exam: Assessment) -> None:
    attempt = _submitted(essay_exam)
    assert attempt.status == Attempt.Status.SUBMITTED
    assert attempt.needs_grading == 1
    assert attempt.passed is None
    assert not LessonProgress.objects.filter(
        enrollment=attempt.enrollment, status="completed"
    ).exists()


def test_rubric_grading_then_release_feeds_the_course(
    essay_exam: Assessment, instructor: Any
) -> None:
    attempt = _submitted(essay_exam)
    assign_instructor(attempt.run, instructor)
    answer = _essay(attempt)
    services.grade_answer(
        answer=answer, actor=instructor, rubric_levels=_levels(answer, [2, 1]), comment="Good"
    )
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.GRADED
    assert attempt.score == Decimal(4)  # 1 (single choice) + 3 (rubric)
    assert attempt.score_pct == Decimal(80)
    assert services.release_grades(assessment=essay_exam, run=attempt.run, actor=instructor) == 1
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RELEASED
    progress = LessonProgress.objects.get(enrollment=attempt.enrollment)
    assert progress.passed is True
    assert progress.score_pct == Decimal(80)


def test_a_rubric_needs_a_level_for_every_criterion(
    essay_exam: Assessment, instructor: Any
) -> None:
    attempt = _submitted(essay_exam)
    assign_instructor(attempt.run, instructor)
    answer = _essay(attempt)
    levels = _levels(answer, [2, 1])
    levels.popitem()
    with pytest.raises(ValidationError, match="every criterion"):
        services.grade_answer(answer=answer, actor=instructor, rubric_levels=levels)


def test_regrade_needs_a_reason_and_keeps_the_history(
    essay_exam: Assessment, instructor: Any
) -> None:
    attempt = _submitted(essay_exam)
    assign_instructor(attempt.run, instructor)
    answer = _essay(attempt)
    services.grade_answer(answer=answer, actor=instructor, score=Decimal(1))
    services.release_grades(assessment=essay_exam, run=attempt.run, actor=instructor)
    with pytest.raises(ValidationError, match="why"):
        services.grade_answer(answer=answer, actor=instructor, score=Decimal(4))
    other = UserFactory()
    assign_instructor(attempt.run, other)
    services.grade_answer(
        answer=answer, actor=other, score=Decimal(4), reason="Misread the second part"
    )
    history = list(GradeChange.objects.filter(attempt=attempt).order_by("changed_at", "pk"))
    assert [(h.old_score, h.new_score, h.changed_by, h.is_regrade) for h in history] == [
        (None, Decimal(1), instructor, False),
        (Decimal(1), Decimal(4), other, True),
    ]
    assert history[1].reason == "Misread the second part"
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RELEASED
    assert attempt.score_pct == Decimal(100)
    assert LessonProgress.objects.get(enrollment=attempt.enrollment).score_pct == Decimal(100)


def test_an_auto_graded_answer_can_be_regraded_with_a_reason(instructor: Any) -> None:
    assessment = make_assessment()
    attempt = _submitted(assessment)
    assign_instructor(attempt.run, instructor)
    numeric = attempt.answers.get(question__kind=K.NUMERIC)
    assert numeric.score == 0
    services.grade_answer(
        answer=numeric, actor=instructor, score=Decimal(1), reason="Key was wrong"
    )
    assert GradeChange.objects.get(answer=numeric).is_regrade


def test_instructor_of_another_run_cannot_grade_or_release(essay_exam: Assessment) -> None:
    attempt = _submitted(essay_exam)
    stranger = UserFactory()
    other_assessment = make_assessment()
    assign_instructor(run_of(other_assessment), stranger)
    with pytest.raises(PermissionDenied):
        services.grade_answer(answer=_essay(attempt), actor=stranger, score=Decimal(1))
    with pytest.raises(PermissionDenied):
        services.release_grades(assessment=essay_exam, run=attempt.run, actor=stranger)
    assert not selectors.grading_queue(user=stranger).filter(pk=attempt.pk).exists()


def test_learner_cannot_grade_their_own_attempt(essay_exam: Assessment) -> None:
    attempt = _submitted(essay_exam)
    with pytest.raises(PermissionDenied):
        services.grade_answer(answer=_essay(attempt), actor=attempt.user, score=Decimal(4))


def test_score_outside_the_points_is_refused(essay_exam: Assessment, instructor: Any) -> None:
    attempt = _submitted(essay_exam)
    assign_instructor(attempt.run, instructor)
    with pytest.raises(ValidationError, match="between 0 and"):
        services.grade_answer(answer=_essay(attempt), actor=instructor, score=Decimal(9))
    # the points as the grader's language writes numbers
    with translation.override("es"), pytest.raises(ValidationError) as refused:
        services.grade_answer(answer=_essay(attempt), actor=instructor, score=Decimal(9))
    assert refused.value.message_dict["score"] == [
        f"La puntuación debe estar entre 0 y {_essay(attempt).max_score:.2f}.".replace(".", ",", 1)
    ]


def test_practical_evaluation_for_a_whole_run(instructor: Any) -> None:
    assessment = make_assessment(kinds=[K.PRACTICAL], kind=Assessment.Kind.PRACTICAL)
    run = run_of(assessment)
    assign_instructor(run, instructor)
    officers = [enrol(assessment) for _ in range(3)]
    question = Question.objects.get(category__course=run.course, kind=K.PRACTICAL)
    marks = {
        officers[0].pk: {question.pk: {"c1", "c2"}},
        officers[1].pk: {question.pk: {"c1"}},
        officers[2].pk: {question.pk: set()},
    }
    assert (
        services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
        == 3
    )
    scores = dict(
        Attempt.objects.filter(assessment=assessment).values_list("enrollment_id", "score")
    )
    assert scores == {officers[0].pk: 3, officers[1].pk: 2, officers[2].pk: 0}
    # Recording the same page again changes nothing; changing one officer is a regrade.
    services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    assert GradeChange.objects.count() == 3
    marks[officers[2].pk] = {question.pk: {"c2"}}
    services.record_practical(
        assessment=assessment, run=run, actor=instructor, marks=marks, reason="Seen on video"
    )
    change = GradeChange.objects.latest("pk")
    assert (change.old_score, change.new_score, change.reason) == (0, 1, "Seen on video")
    assert services.release_grades(assessment=assessment, run=run, actor=instructor) == 3


def test_practical_refused_outside_the_instructors_runs(db: None) -> None:
    assessment = make_assessment(kinds=[K.PRACTICAL])
    officer = enrol(assessment)
    with pytest.raises(PermissionDenied):
        services.record_practical(
            assessment=assessment,
            run=run_of(assessment),
            actor=UserFactory(),
            marks={officer.pk: {}},
        )


def test_grading_queue_query_count_does_not_grow_with_the_page(
    client: Any, essay_exam: Assessment, instructor: Any, django_assert_max_num_queries: Any
) -> None:
    run = run_of(essay_exam)
    assign_instructor(run, instructor)
    _submitted(essay_exam)
    client.force_login(instructor)
    url = reverse("assessments:queue") + f"?run={run.pk}"
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for _ in range(8):
        _submitted(essay_exam)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.count(b"/assessments/grading/attempts/") == 9


def test_item_statistics_find_facility_and_discrimination(instructor: Any) -> None:
    assessment = make_assessment(max_attempts=None)
    run = run_of(assessment)
    single = Question.objects.get(category__course=run.course, kind=K.SINGLE)
    numeric = Question.objects.get(category__course=run.course, kind=K.NUMERIC)
    # Strong learners get both right, weak ones get the single choice only.
    for both in (True, True, False, False):
        enrollment = enrol(assessment)
        attempt = services.start_attempt(
            assessment=assessment, enrollment=enrollment, actor=enrollment.user
        )
        services.submit_attempt(
            attempt=attempt,
            actor=enrollment.user,
            responses={single.pk: "b", numeric.pk: "3.5" if both else "9"},
        )
    stats = {s.question.pk: s for s in selectors.item_statistics(assessment=assessment, run=run)}
    assert stats[single.pk].facility == 1.0
    assert stats[single.pk].discrimination is None  # no variance: says nothing
    assert stats[numeric.pk].facility == 0.5
    assert stats[numeric.pk].discrimination is None  # rest score (the single) is constant
    assert stats[numeric.pk].responses == 4


def test_grades_csv_lists_every_learner_with_the_counted_score(
    client: Any, instructor: Any
) -> None:
    assessment = make_assessment()
    run = run_of(assessment)
    assign_instructor(run, instructor)
    attempt = _submitted(assessment)
    enrol(assessment)  # not started
    client.force_login(instructor)
    response = client.get(reverse("assessments:grades_csv", args=[run.code]))
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert len(lines) == 3
    assert f"{attempt.user.email},,Final quiz,1,50.00,no,0" in body
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(reverse("assessments:grades_csv", args=[run.code])).status_code == 403
