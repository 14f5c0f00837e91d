"""Recording a practical evaluation is bulk work: a fixed number of queries whatever the number
of officers on the page, all or nothing, with the regrade rules of grading one answer.

It used to record one officer after the other, each in a transaction of its own (about 17
queries each: a page of 50 officers, some 850), so a refusal half-way left the officers before
it recorded and the others not.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments import services
from assessments.models import Attempt, GradeChange, Question
from courses.models import LessonProgress
from lms.accounts.permissions import get_scope
from lms.xapi.models import Statement
from tests.assessments.factories import enrol, make_assessment, practical_evaluation, run_of
from tests.courses.factories import assign_instructor

pytestmark = pytest.mark.django_db

K = Question.Kind
VERBS = "http://adlnet.gov/expapi/verbs/"


def test_recording_5_or_40_officers_costs_the_same_queries(instructor: Any) -> None:
    first, again = [], []
    get_scope(instructor)  # the person's roles, read once a request, read before counting
    for officers in (5, 40):
        assessment, run, question, enrollments = practical_evaluation(instructor, officers)
        marks = {e.pk: {question.pk: {"c1"}} for e in enrollments}
        with CaptureQueriesContext(connection) as captured:
            recorded = services.record_practical(
                assessment=assessment, run=run, actor=instructor, marks=marks
            )
        assert recorded == officers
        first.append(len(captured))
        marks = {e.pk: {question.pk: {"c1", "c2"}} for e in enrollments}
        with CaptureQueriesContext(connection) as captured:
            services.record_practical(
                assessment=assessment, run=run, actor=instructor, marks=marks, reason="Video"
            )
        again.append(len(captured))
        scores = set(Attempt.objects.filter(assessment=assessment).values_list("score", flat=True))
        assert scores == {3}
        assert GradeChange.objects.filter(attempt__assessment=assessment).count() == 2 * officers
    assert first[0] == first[1], first
    assert again[0] == again[1], again
    assert first[0] <= 16, first


def test_the_first_recording_grades_and_a_second_is_a_regrade_with_its_reason(
    instructor: Any,
) -> None:
    assessment, run, question, (one, two) = practical_evaluation(instructor, 2)
    services.record_practical(
        assessment=assessment,
        run=run,
        actor=instructor,
        marks={one.pk: {question.pk: {"c1"}}, two.pk: {question.pk: set()}},
        comments={one.pk: "Good cordon", two.pk: ""},
    )
    attempt = Attempt.objects.get(enrollment=one)
    assert (attempt.status, attempt.score, attempt.needs_grading) == ("graded", 2, 0)
    assert attempt.passed is False  # 2 of 3 points: 66.67 % < the 70 % to pass
    answer = attempt.answers.get()
    assert (answer.comment, answer.rubric_levels, answer.graded_by) == (
        "Good cordon",
        {"c1": True},
        instructor,
    )
    change = GradeChange.objects.get(attempt=attempt)
    assert (change.old_score, change.new_score, change.is_regrade, change.reason) == (
        None,
        2,
        False,
        "",
    )
    # Recorded again without a reason: the history says so.
    services.record_practical(
        assessment=assessment, run=run, actor=instructor, marks={one.pk: {question.pk: {"c2"}}}
    )
    change = GradeChange.objects.filter(attempt=attempt).latest("pk")
    assert (change.old_score, change.new_score, change.is_regrade) == (2, 1, True)
    assert change.reason == "Practical evaluation recorded again"
    assert Attempt.objects.get(enrollment=one).answers.get().comment == "Good cordon"


def test_an_officer_not_in_the_run_refuses_the_whole_page(instructor: Any) -> None:
    assessment, run, question, enrollments = practical_evaluation(instructor, 3)
    stranger = enrol(make_assessment(kinds=[K.PRACTICAL]))
    marks = {e.pk: {question.pk: {"c1"}} for e in [*enrollments, stranger]}
    with pytest.raises(ValidationError, match="not enrolled in this run"):
        services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    assert not Attempt.objects.filter(assessment=assessment).exists()


def test_a_question_outside_the_evaluation_leaves_nothing_half_written(instructor: Any) -> None:
    assessment, run, question, enrollments = practical_evaluation(instructor, 3)
    marks: dict[int, dict[int, set[str]]] = {e.pk: {question.pk: {"c1"}} for e in enrollments}
    marks[enrollments[-1].pk] = {question.pk + 1000: {"c1"}}
    with pytest.raises(ValidationError, match="not part of this evaluation"):
        services.record_practical(assessment=assessment, run=run, actor=instructor, marks=marks)
    # The attempts made for the first officers went with the refusal.
    assert not Attempt.objects.filter(assessment=assessment).exists()
    assert not GradeChange.objects.exists()


def test_recording_a_released_evaluation_again_releases_the_new_result(instructor: Any) -> None:
    assessment, run, question, enrollments = practical_evaluation(instructor, 3)
    services.record_practical(
        assessment=assessment,
        run=run,
        actor=instructor,
        marks={e.pk: {question.pk: set()} for e in enrollments},
    )
    assert services.release_grades(assessment=assessment, run=run, actor=instructor) == 3
    first = enrollments[0]
    before = set(
        Statement.objects.filter(registration=first.registration).values_list("id", flat=True)
    )
    services.record_practical(
        assessment=assessment,
        run=run,
        actor=instructor,
        marks={e.pk: {question.pk: {"c1", "c2"}} for e in enrollments[:2]},
        reason="Seen on video",
    )
    for enrollment in enrollments[:2]:
        attempt = Attempt.objects.get(enrollment=enrollment)
        assert (attempt.status, attempt.score, attempt.passed) == ("released", 3, True)
        progress = LessonProgress.objects.get(enrollment=enrollment, lesson=assessment.lesson)
        assert (progress.passed, progress.score_pct) == (True, 100)
    untouched = Attempt.objects.get(enrollment=enrollments[2])
    assert (untouched.score, untouched.passed) == (0, False)
    # The new result is a new pair of statements (the regrade's revision in their ids).
    new = Statement.objects.filter(registration=first.registration).exclude(id__in=before)
    assert set(new.values_list("verb_id", flat=True)) == {VERBS + "scored", VERBS + "passed"}


def test_the_page_records_its_officers_in_the_same_queries_for_5_or_30(
    client: Any, instructor: Any
) -> None:
    instructor.preferred_language = "es"
    instructor.save(update_fields=["preferred_language"])
    client.force_login(instructor)
    counts = []
    for officers in (5, 30):
        assessment, run, question, enrollments = practical_evaluation(instructor, officers)
        url = reverse("assessments:practical", args=[run.code, assessment.pk])
        data: dict[str, Any] = {"officer": [str(e.pk) for e in enrollments]}
        data.update({f"m-{e.pk}-{question.pk}": ["c1", "c2"] for e in enrollments})
        data.update({f"c-{e.pk}": "Observed on the range" for e in enrollments})
        assert client.get(url).status_code == 200  # signed in and the page read, as a user is
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, data)
        assert response.status_code == 302
        counts.append(len(captured))
        graded = Attempt.objects.filter(assessment=assessment, status="graded", score=3)
        assert graded.count() == officers
        page = client.get(url)
        assert f"{officers} agentes registrados." in page.content.decode()
    assert counts[0] == counts[1], counts


def test_a_new_comment_alone_is_kept_without_a_regrade_and_shown_on_the_page(
    client: Any, instructor: Any
) -> None:
    assessment, run, question, (officer,) = practical_evaluation(instructor, 1)
    marks = {officer.pk: {question.pk: {"c1"}}}
    services.record_practical(
        assessment=assessment, run=run, actor=instructor, marks=marks, comments={officer.pk: "Slow"}
    )
    services.record_practical(
        assessment=assessment,
        run=run,
        actor=instructor,
        marks=marks,
        comments={officer.pk: "Slow but safe"},
    )
    answer = Attempt.objects.get(enrollment=officer).answers.get()
    assert (answer.comment, answer.score) == ("Slow but safe", 2)
    assert GradeChange.objects.filter(answer=answer).count() == 1
    client.force_login(instructor)
    page = client.get(reverse("assessments:practical", args=[run.code, assessment.pk]))
    assert ">Slow but safe</textarea>" in page.content.decode()


def test_an_assessment_officers_answer_is_not_recorded_as_a_practical(
    client: Any, instructor: Any
) -> None:
    """The grading queue offered "Record a practical evaluation" for every assessment, and saving
    that page for a quiz made every officer a submitted attempt of the whole quiz to grade."""
    quiz = make_assessment(kinds=[K.SINGLE, K.PRACTICAL])
    run = run_of(quiz)
    assign_instructor(run, instructor)
    officer = enrol(quiz)
    with pytest.raises(ValidationError, match="officers answer this one"):
        services.record_practical(
            assessment=quiz, run=run, actor=instructor, marks={officer.pk: {}}
        )
    assert not Attempt.objects.filter(assessment=quiz).exists()
    instructor.preferred_language = "es"
    instructor.save(update_fields=["preferred_language"])
    client.force_login(instructor)
    missing = client.get(reverse("assessments:practical", args=[run.code, quiz.pk]))
    assert missing.status_code == 404
    assert '<html lang="es">' in missing.content.decode()
    assert "No encontrado" in missing.content.decode()
    queue = client.get(reverse("assessments:queue"), {"run": run.pk, "assessment": quiz.pk})
    assert "Registrar una evaluación práctica" not in queue.content.decode()
    practical, practical_run, _question, _officers = practical_evaluation(instructor, 1)
    queue = client.get(
        reverse("assessments:queue"), {"run": practical_run.pk, "assessment": practical.pk}
    )
    assert "Registrar una evaluación práctica" in queue.content.decode()


def test_the_grading_queue_is_refused_to_those_who_grade_nothing(
    client: Any, learner: Any, instructor: Any, coordinator: Any
) -> None:
    client.force_login(learner)
    refused = client.get(reverse("assessments:queue"))
    assert refused.status_code == 403
    for person in (instructor, coordinator):
        client.force_login(person)
        assert client.get(reverse("assessments:queue")).status_code == 200


def test_officers_not_assessed_yet_are_not_recorded_as_zero(client: Any, instructor: Any) -> None:
    """The page lists the whole run: saving it with one officer ticked records that one only;
    an officer evaluated before and now unticked is regraded to 0 (with a reason)."""
    assessment, run, question, (first, second) = practical_evaluation(instructor, 2)
    url = reverse("assessments:practical", args=[run.code, assessment.pk])
    client.force_login(instructor)
    officers = {"officer": [str(first.pk), str(second.pk)]}
    response = client.post(url, {**officers, f"m-{first.pk}-{question.pk}": ["c1", "c2"]})
    assert response.status_code == 302
    assert list(
        Attempt.objects.filter(assessment=assessment).values_list("enrollment", "score")
    ) == [(first.pk, 3)]
    client.post(url, {**officers, "reason": "Re-observed"})
    assert list(
        Attempt.objects.filter(assessment=assessment).values_list("enrollment", "score")
    ) == [(first.pk, 0)]
