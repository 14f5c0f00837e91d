"""Completion rules: required lessons, required passing assessments, minimum attendance; the
completion event fires exactly once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from courses import services, signals
from courses.models import CourseRun, Enrollment, Lesson
from tests.courses.factories import (
    CourseFactory,
    RunFactory,
    add_sessions,
    assign_instructor,
    make_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def completions() -> Any:
    received: list[int] = []

    def listener(sender: Any, enrollment: Enrollment, **kwargs: Any) -> None:
        received.append(enrollment.pk)

    def many(sender: Any, enrollments: list[Enrollment], **kwargs: Any) -> None:
        received.extend(enrollment.pk for enrollment in enrollments)

    signals.course_completed.connect(listener, dispatch_uid="test-completions")
    signals.courses_completed.connect(many, dispatch_uid="test-completions-many")
    yield received
    signals.course_completed.disconnect(dispatch_uid="test-completions")
    signals.courses_completed.disconnect(dispatch_uid="test-completions-many")


def _finish_lessons(enrollment: Enrollment, lessons: list[Lesson], **result: Any) -> None:
    for lesson in lessons:
        services.record_lesson_result(
            enrollment=enrollment,
            lesson=lesson,
            completed=True,
            passed=result.get("passed"),
            score_pct=result.get("score_pct"),
            actor=enrollment.user,
        )


def test_completing_every_required_lesson_completes_the_course(
    learner: Any, completions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    run = RunFactory()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    lessons = list(Lesson.objects.filter(version=run.version).order_by("position"))
    optional = lessons[-1]
    optional.is_required = False
    optional.save()
    with django_capture_on_commit_callbacks(execute=True):
        _finish_lessons(enrollment, lessons[:1])
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.progress_pct == 50
    with django_capture_on_commit_callbacks(execute=True):
        _finish_lessons(enrollment, lessons[1:2])
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_pct == 100
    assert completions == [enrollment.pk]
    run.refresh_from_db()
    assert run.completed_count == 1


def test_progress_counts_only_the_learners_own_lessons(
    learner: Any, completions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    """Other learners of the run who finished lessons must not change this learner's progress,
    nor keep them from completing."""
    from lms.accounts.models import User

    run = RunFactory()
    lessons = list(
        Lesson.objects.filter(version=run.version, is_required=True).order_by("position")
    )
    peers = [
        User.objects.create_user(email=f"peer{i}@example.org", full_name=f"Peer {i}")
        for i in range(3)
    ]
    others = [services.enrol(user=peer, run=run, actor=peer) for peer in peers]
    with django_capture_on_commit_callbacks(execute=True):
        for other in others:
            _finish_lessons(other, lessons[:1])
        enrollment = services.enrol(user=learner, run=run, actor=learner)
        _finish_lessons(enrollment, lessons[:1])
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 100 // len(lessons)
    with django_capture_on_commit_callbacks(execute=True):
        _finish_lessons(enrollment, lessons[1:])
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 100
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert completions[-1] == enrollment.pk


def test_a_required_assessment_must_be_passed(
    learner: Any, completions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    run = RunFactory()
    quiz = Lesson.objects.filter(version=run.version).order_by("position").last()
    assert quiz is not None
    quiz.kind = Lesson.Kind.ASSESSMENT
    quiz.requires_pass = True
    quiz.save()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    others = list(Lesson.objects.filter(version=run.version).exclude(pk=quiz.pk))
    with django_capture_on_commit_callbacks(execute=True):
        _finish_lessons(enrollment, others)
        services.record_lesson_result(
            enrollment=enrollment, lesson=quiz, completed=True, passed=False,
            score_pct=Decimal("40"), actor=learner,
        )  # fmt: skip
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert services.check_completion(enrollment).assessments_passed is False
    with django_capture_on_commit_callbacks(execute=True):
        services.record_lesson_result(
            enrollment=enrollment, lesson=quiz, completed=True, passed=True,
            score_pct=Decimal("85"), actor=learner,
        )  # fmt: skip
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.passed is True
    assert enrollment.score_pct == Decimal("85.00")
    assert completions == [enrollment.pk]


def test_minimum_attendance_is_required_on_site(
    learner: Any, completions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    run = RunFactory(mode=CourseRun.Mode.BLENDED)
    run.version.min_attendance_pct = 75
    run.version.save()
    sessions = add_sessions(run, 4)
    teacher = assign_instructor(run)
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    _finish_lessons(enrollment, list(Lesson.objects.filter(version=run.version)))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    marks = ["present", "late", "absent", "present"]
    with django_capture_on_commit_callbacks(execute=True):
        for session, mark in zip(sessions[:3], marks[:3], strict=True):
            services.record_attendance(session=session, marks={enrollment.pk: mark}, actor=teacher)
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 50
    assert enrollment.status == Enrollment.Status.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        services.record_attendance(
            session=sessions[3], marks={enrollment.pk: "present"}, actor=teacher
        )
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 75
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert completions == [enrollment.pk]


def test_excused_sessions_do_not_count_against_attendance(learner: Any) -> None:
    run = RunFactory(mode=CourseRun.Mode.ONSITE)
    sessions = add_sessions(run, 2)
    teacher = assign_instructor(run)
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    services.record_attendance(session=sessions[0], marks={enrollment.pk: "excused"}, actor=teacher)
    services.record_attendance(session=sessions[1], marks={enrollment.pk: "present"}, actor=teacher)
    enrollment.refresh_from_db()
    assert enrollment.attendance_pct == 100


def test_course_completed_fires_once_when_results_repeat(
    learner: Any, completions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    run = RunFactory()
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    lessons = list(Lesson.objects.filter(version=run.version))
    with django_capture_on_commit_callbacks(execute=True):
        _finish_lessons(enrollment, lessons)
        _finish_lessons(enrollment, lessons)
        services.evaluate_completion(enrollment=enrollment, actor=learner)
    assert completions == [enrollment.pk]
    run.refresh_from_db()
    assert run.completed_count == 1


def test_a_qualifying_run_makes_its_graduates_trainers(learner: Any) -> None:
    run = RunFactory(qualifies_trainers=True)
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    _finish_lessons(enrollment, list(Lesson.objects.filter(version=run.version)))
    assert learner.trainer_qualifications.filter(course=run.course, qualified_by_run=run).exists()


def test_completion_rules_follow_the_pinned_version(learner: Any) -> None:
    course = CourseFactory()
    version = make_version(course, lessons=2)
    run = RunFactory(course=course, version=version)
    enrollment = services.enrol(user=learner, run=run, actor=learner)
    assert enrollment.version_id == version.pk
    other = make_version(course, lessons=1)
    with pytest.raises(ValidationError, match="not part of your course version"):
        services.record_lesson_result(
            enrollment=enrollment, lesson=other.lessons.get(), completed=True, passed=None,
            score_pct=None, actor=learner,
        )  # fmt: skip
