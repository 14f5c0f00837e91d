"""The learner's activity dates are written in the transaction that completed the lesson (the
player's first view commits once), in one statement on PostgreSQL, and only move forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses import services as course_services
from courses.models import Enrollment, Lesson, LessonProgress
from lms.dashboards import services
from lms.dashboards.models import LearnerActivity, PlaceActivity, UserActivity
from lms.xapi.models import Statement
from tests.courses.factories import enrol_in_text_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _enrolment(learner: Any, lessons: int = 3) -> tuple[Enrollment, list[int]]:
    return enrol_in_text_course(learner, lessons)


def _visit(enrollment: Enrollment, learner: Any, lesson_id: int) -> None:
    course_services.player_visit(
        registration=enrollment.registration, user=learner, lesson_id=lesson_id
    )


def _activity(enrollment: Enrollment) -> tuple[Any, Any, Any]:
    return (
        LearnerActivity.objects.filter(enrollment_id=enrollment.pk).first(),
        UserActivity.objects.filter(user_id=enrollment.user_id).first(),
        PlaceActivity.objects.filter(user_id=enrollment.user_id).first(),
    )


@pytest.mark.django_db(transaction=True)
def test_a_first_view_writes_the_activity_before_its_only_commit(learner: Any) -> None:
    """No commit callback is needed: the rows are there when the visit returns, and the visit's
    statements hold one COMMIT (none of the activity upserts runs after it)."""
    enrollment, ids = _enrolment(learner)
    with CaptureQueriesContext(connection) as queries:
        _visit(enrollment, learner, ids[0])
    today = timezone.now().astimezone(UTC).date()
    learner_row, user_row, place_row = _activity(enrollment)
    assert learner_row is not None
    assert learner_row.last_active_on == today
    assert learner_row.run_id == enrollment.run_id
    assert learner_row.course_id == enrollment.run.course_id
    assert user_row is not None
    assert user_row.last_active_on == today
    assert place_row is not None
    assert place_row.last_active_on == today
    assert place_row.institution_id == (enrollment.institution_id or 0)
    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    assert sql.count("COMMIT") == 1, sql
    after_commit = sql[sql.index("COMMIT") + 1 :]
    assert not any("activity" in statement for statement in after_commit), after_commit


def test_the_activity_rolls_back_with_the_visit(
    learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visit that fails after the activity was written leaves no activity (nor progress, nor
    statements): it was written in the visit's transaction."""
    enrollment, ids = _enrolment(learner)

    def fail(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the visit failed after the activity")

    monkeypatch.setattr(course_services, "_complete_if_met", fail)
    with CaptureQueriesContext(connection) as queries, pytest.raises(RuntimeError):
        _visit(enrollment, learner, ids[0])
    # The upsert ran, inside the visit, before it failed.
    assert any("dashboards_learneractivity" in q["sql"] for q in queries.captured_queries)
    assert _activity(enrollment) == (None, None, None)
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()
    assert not Statement.objects.filter(registration=enrollment.registration).exists()


def test_a_result_recorded_elsewhere_writes_the_activity_too(learner: Any) -> None:
    """record_lesson_result (a quiz, a watched video, launched content) sends the same signal."""
    enrollment, ids = _enrolment(learner)
    course_services.complete_lesson(
        enrollment=enrollment, lesson=Lesson.objects.get(pk=ids[0]), actor=learner
    )
    learner_row, user_row, place_row = _activity(enrollment)
    assert learner_row is not None
    assert user_row is not None
    assert place_row is not None


def test_record_activity_is_one_statement_and_dates_only_move_forward(
    learner: Any, require_postgres: None
) -> None:
    enrollment, _ids = _enrolment(learner)
    later = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with CaptureQueriesContext(connection) as queries:
        services.record_activity(enrollment=enrollment, at=later)
    assert len(queries) == 1
    services.record_activity(enrollment=enrollment, at=later - timedelta(days=30))
    learner_row, user_row, place_row = _activity(enrollment)
    assert learner_row.last_active_on == later.date()
    assert user_row.last_active_on == later.date()
    assert place_row.last_active_on == later.date()
    services.record_activity(enrollment=enrollment, at=later + timedelta(days=1))
    learner_row, user_row, place_row = _activity(enrollment)
    assert learner_row.last_active_on == user_row.last_active_on == place_row.last_active_on
    assert learner_row.last_active_on == (later + timedelta(days=1)).date()


@pytest.mark.django_db(transaction=True)
def test_a_learners_later_lessons_of_the_day_skip_the_activity_statement(
    learner: Any, require_postgres: None
) -> None:
    """Once a first view's activity committed, the learner's next first views of the day do
    not write it again (the date would not move); a later day does, and a rolled-back one is
    not remembered."""
    enrollment, ids = _enrolment(learner, lessons=4)
    _visit(enrollment, learner, ids[0])
    with CaptureQueriesContext(connection) as queries:
        _visit(enrollment, learner, ids[1])
    assert not [q for q in queries.captured_queries if "dashboards_learneractivity" in q["sql"]]
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 2
    today = timezone.now().astimezone(UTC).date()
    assert _activity(enrollment)[0].last_active_on == today
    # A later day is written.
    tomorrow = timezone.now() + timedelta(days=1)
    with CaptureQueriesContext(connection) as queries:
        services.record_activity(enrollment=enrollment, at=tomorrow)
    assert len(queries) == 1
    assert _activity(enrollment)[0].last_active_on == tomorrow.astimezone(UTC).date()
    # A recording whose transaction rolls back is not remembered: the next one writes.
    other, _other_ids = _enrolment(UserFactory(), lessons=2)

    def record_then_fail() -> None:
        with transaction.atomic():
            services.record_activity(enrollment=other, at=timezone.now())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert _activity(other)[0] is None
    with CaptureQueriesContext(connection) as queries:
        services.record_activity(enrollment=other, at=timezone.now())
    assert len(queries) == 1
    assert _activity(other)[0] is not None
