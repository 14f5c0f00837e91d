"""The player's first view of a lesson: what it records is what visit_lesson records (one
progress row, the statements, the enrolment's resume point and progress %, completion), in a
few round trips on PostgreSQL, and never twice for the same lesson however the tabs race."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses import player_state, selectors, services
from courses.models import CourseRun, Enrollment, EnrollmentEvent, Lesson, LessonProgress
from courses.services import statement_id
from lms.xapi.models import Statement
from tests.courses.factories import enrol_in_text_course

pytestmark = pytest.mark.django_db


def _enrolment(learner: Any, lessons: int = 4) -> tuple[Enrollment, list[int]]:
    return enrol_in_text_course(learner, lessons)


def _visit(enrollment: Enrollment, learner: Any, lesson_id: int) -> services.PlayerVisit:
    return services.player_visit(
        registration=enrollment.registration, user=learner, lesson_id=lesson_id
    )


def _read(enrollment: Enrollment, learner: Any) -> selectors.PlayerEnrollment:
    """What the player read before a first view (another tab may act before it writes)."""
    state = selectors.player_enrollment(registration=enrollment.registration, user_id=learner.pk)
    assert state is not None
    return state


def _first_view(state: selectors.PlayerEnrollment, learner: Any, lesson_id: int) -> bool:
    outline = selectors.lesson_outline(version_id=state.version_id)
    return services._first_view(state, learner, Lesson.objects.get(pk=lesson_id), outline)


def _lesson_statements(enrollment: Enrollment, lesson_id: int) -> set[Any]:
    key = Lesson.objects.get(pk=lesson_id).key
    return {
        statement_id(verb, enrollment.registration, key) for verb in ("experienced", "completed")
    }


@pytest.mark.django_db(transaction=True)
def test_a_first_view_is_seven_round_trips_with_one_commit(
    learner: Any, require_postgres: None
) -> None:
    """The unlocked read, BEGIN, the lock with the progress INSERT, the enrolment's UPDATE, the
    statements, the dashboards' activity (one statement, in the same transaction) and COMMIT;
    without the read when the learner's state is kept beside the session (courses.player_state),
    as the previous lesson's first view leaves it."""
    from lms.dashboards.services import forget_recorded

    enrollment, ids = _enrolment(learner)
    _visit(enrollment, learner, ids[0])  # the outline and lesson are cached now
    # The day's activity as another process meets it (this one remembers having recorded it
    # and skips it on the learner's later first views: tests/dashboards)
    forget_recorded()
    with CaptureQueriesContext(connection) as queries:
        visit = _visit(enrollment, learner, ids[1])
    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    assert len(sql) == 6, sql
    assert sql[0] == "BEGIN"
    assert sql[1].startswith("WITH e AS")
    assert "FOR UPDATE" in sql[1]
    assert sql[2].startswith("UPDATE courses_enrollment")
    assert "xapi_statement" in sql[3]
    assert "dashboards_learneractivity" in sql[4]
    assert sql[5] == "COMMIT"
    assert [s for s in sql if s in ("BEGIN", "COMMIT")] == ["BEGIN", "COMMIT"]
    # The same with the state not kept (its entry gone): the read first, seven in all.
    caches["default"].delete(player_state.key(enrollment.pk))
    forget_recorded()
    with CaptureQueriesContext(connection) as queries:
        _visit(enrollment, learner, ids[2])
    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    assert len(sql) == 7, sql
    assert sql[0].startswith("SELECT e.id")
    assert sql[1] == "BEGIN"
    assert sql[6] == "COMMIT"
    assert visit.enrollment.progress_pct == 50
    assert visit.enrollment.progress == {ids[0]: ("completed", 0), ids[1]: ("completed", 0)}
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 75
    assert enrollment.last_lesson_id == ids[2]
    # A revisit: nothing read (the first view kept its state), nothing written.
    with CaptureQueriesContext(connection) as queries:
        _visit(enrollment, learner, ids[2])
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]


def test_a_first_view_records_what_visit_lesson_records(
    learner: Any, require_postgres: None
) -> None:
    enrollment, ids = _enrolment(learner)
    _visit(enrollment, learner, ids[0])
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson_id=ids[0])
    assert progress.status == LessonProgress.Status.COMPLETED
    assert progress.completed_at == progress.started_at
    assert progress.position_seconds == 0
    assert progress.passed is None
    assert progress.score_pct is None
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 25
    assert enrollment.last_lesson_id == ids[0]
    assert enrollment.last_activity_at == progress.started_at
    stored = {
        row.statement_id: row
        for row in Statement.objects.filter(registration=enrollment.registration)
    }
    assert set(stored) == _lesson_statements(enrollment, ids[0])
    for row in stored.values():
        parent = row.data["context"]["contextActivities"]["parent"][0]["id"]
        assert parent.endswith(f"/course/{enrollment.run.course.code}")
        assert row.institution_id == learner.institution_id


def test_completing_the_last_lesson_completes_the_enrolment(
    learner: Any, require_postgres: None, django_capture_on_commit_callbacks: Any
) -> None:
    from courses import signals

    completed: list[Enrollment] = []
    lessons: list[int] = []

    def on_course(sender: Any, enrollment: Enrollment, **kwargs: Any) -> None:
        completed.append(enrollment)

    def on_lesson(sender: Any, enrollment: Enrollment, lesson: Lesson, **kwargs: Any) -> None:
        lessons.append(lesson.pk)

    signals.course_completed.connect(on_course)
    signals.lesson_completed.connect(on_lesson)
    try:
        enrollment, ids = _enrolment(learner, lessons=2)
        with django_capture_on_commit_callbacks(execute=True):
            _visit(enrollment, learner, ids[0])
        assert completed == []
        with django_capture_on_commit_callbacks(execute=True):
            visit = _visit(enrollment, learner, ids[1])
    finally:
        signals.course_completed.disconnect(on_course)
        signals.lesson_completed.disconnect(on_lesson)
    assert lessons == ids
    assert [e.pk for e in completed] == [enrollment.pk]
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_pct == 100
    assert enrollment.completed_at is not None
    assert visit.enrollment.status == Enrollment.Status.COMPLETED
    assert visit.enrollment.progress_pct == 100
    assert CourseRun.objects.get(pk=enrollment.run_id).completed_count == 1
    assert EnrollmentEvent.objects.filter(
        enrollment=enrollment, to_status=Enrollment.Status.COMPLETED
    ).exists()
    assert Statement.objects.filter(
        statement_id=statement_id("course-completed", enrollment.registration)
    ).exists()
    # The completed enrolment is still readable, and a revisit changes nothing.
    _visit(enrollment, learner, ids[1])
    assert CourseRun.objects.get(pk=enrollment.run_id).completed_count == 1


def test_a_lesson_another_tab_counted_first_is_counted_once(
    learner: Any, require_postgres: None
) -> None:
    """Tab A read the enrolment before tab B recorded the lesson: A's locked INSERT finds B's
    row and A goes the full way, which sees the progress and counts nothing."""
    enrollment, ids = _enrolment(learner)
    stale = _read(enrollment, learner)
    _visit(enrollment, learner, ids[0])  # tab B
    statements = Statement.objects.count()
    assert _first_view(stale, learner, ids[0]) is False
    visit = _visit(enrollment, learner, ids[0])  # what the player then shows
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 1
    assert Statement.objects.count() == statements
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 25
    assert visit.enrollment.progress_pct == 25


def test_progress_recorded_meanwhile_in_another_tab_counts_and_shows(
    learner: Any, require_postgres: None
) -> None:
    """Tab A read the enrolment, tab B completed another lesson, then A's first view: the
    progress % is counted under the lock (both lessons), and A shows B's lesson done too."""
    enrollment, ids = _enrolment(learner)
    stale = _read(enrollment, learner)
    _visit(enrollment, learner, ids[1])  # tab B
    assert _first_view(stale, learner, ids[0]) is True
    assert stale.progress_pct == 50
    assert stale.progress == {ids[0]: ("completed", 0), ids[1]: ("completed", 0)}
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 50
    assert enrollment.last_lesson_id == ids[0]


def test_an_enrolment_withdrawn_meanwhile_is_refused(learner: Any, require_postgres: None) -> None:
    from django.core.exceptions import PermissionDenied

    enrollment, ids = _enrolment(learner)
    stale = _read(enrollment, learner)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.WITHDRAWN)
    assert _first_view(stale, learner, ids[0]) is False
    assert not LessonProgress.objects.filter(enrollment=enrollment).exists()
    with pytest.raises(PermissionDenied):
        _visit(enrollment, learner, ids[0])


def test_a_launched_lesson_records_its_start_without_progress(
    learner: Any, require_postgres: None
) -> None:
    """A video's first view records "launched" and a started progress; the % does not move."""
    enrollment, ids = _enrolment(learner)
    Lesson.objects.filter(pk=ids[0]).update(kind=Lesson.Kind.VIDEO)
    from django.core.cache import cache

    cache.delete(selectors.lesson_cache_key(ids[0]))
    cache.delete(selectors.outline_cache_key(enrollment.version_id))
    visit = _visit(enrollment, learner, ids[0])
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson_id=ids[0])
    assert progress.status == LessonProgress.Status.STARTED
    assert progress.completed_at is None
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 0
    assert enrollment.last_lesson_id == ids[0]
    assert visit.enrollment.progress == {ids[0]: ("started", 0)}
    key = Lesson.objects.get(pk=ids[0]).key
    assert list(
        Statement.objects.filter(registration=enrollment.registration).values_list(
            "statement_id", flat=True
        )
    ) == [statement_id("launched", enrollment.registration, key)]


def _in_another_tab(enrollment: Enrollment, learner: Any, lesson_id: int) -> Any:
    """Tab B's first view of `lesson_id` in its own connection, its transaction (and so the
    enrolment's lock) held open until the returned function is called."""
    import threading

    from django.db import connections, transaction

    locked, release = threading.Event(), threading.Event()

    def tab() -> None:
        try:
            with transaction.atomic():
                _visit(enrollment, learner, lesson_id)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=tab)
    thread.start()
    assert locked.wait(10)

    def commit_later() -> threading.Thread:
        threading.Timer(0.3, release.set).start()
        return thread

    return commit_later


@pytest.mark.django_db(transaction=True)
def test_two_tabs_racing_on_postgresql_count_once_and_both(
    learner: Any, require_postgres: None
) -> None:
    """Real locks: tab A's first view waits for tab B's transaction; the same lesson is then
    not counted again, and another lesson's % counts B's lesson too."""
    enrollment, ids = _enrolment(learner)
    stale = _read(enrollment, learner)
    thread = _in_another_tab(enrollment, learner, ids[1])()
    assert _first_view(stale, learner, ids[1]) is False  # waited for B, then found its row
    thread.join()
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 1
    stale = _read(enrollment, learner)
    thread = _in_another_tab(enrollment, learner, ids[2])()
    assert _first_view(stale, learner, ids[0]) is True
    thread.join()
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 75
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 3


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def test_a_first_view_commits_without_waiting_for_the_disk(
    learner: Any, require_postgres: None
) -> None:
    """The first view's transaction turns synchronous_commit off for itself (the test runs in
    one outer transaction, so the setting is still visible after the visit); the view that
    completes the course turns it on again: a completion commits durably."""
    enrollment, ids = _enrolment(learner, lessons=2)
    assert _synchronous_commit() == "on"
    _visit(enrollment, learner, ids[0])
    assert _synchronous_commit() == "off"
    visit = _visit(enrollment, learner, ids[1])
    assert visit.enrollment.status == Enrollment.Status.COMPLETED
    assert _synchronous_commit() == "on"


@pytest.mark.django_db(transaction=True)
def test_the_asynchronous_commit_ends_with_the_first_views_transaction(
    learner: Any, require_postgres: None
) -> None:
    """In autocommit (as in a request) the setting is the transaction's own: the connection's
    next transactions commit durably again."""
    enrollment, ids = _enrolment(learner)
    _visit(enrollment, learner, ids[0])
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[0]).exists()
    assert _synchronous_commit() == "on"
