"""First views written behind (courses.first_views, LMS_FIRST_VIEWS_BEHIND): the page is answered
from the player's kept state with the view queued in Redis; the drain writes what the
synchronous first view writes (progress, resume point, %, statements at the view's time, the
dashboards' activity, completion), once, only for an enrolment still holding its seat, and in a
fixed number of queries whatever the batch; a view that may complete the course is written at
once, after the views queued before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses import first_views, player_state, selectors, services, tasks
from courses.models import Enrollment, Lesson, LessonProgress
from courses.services import statement_id
from lms.dashboards.models import LearnerActivity
from lms.xapi.models import Statement
from tests.courses.factories import enrol_in_text_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _clear() -> None:
    r = first_views._client()
    q = first_views._queue
    r.delete(q.name, q.processing, q.lock, q.scheduled)


@pytest.fixture(autouse=True)
def behind(
    settings: Any, require_postgres: None, require_redis: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[float]]:
    """Writing behind on; the drain task recorded, not run (Celery is eager in tests): the views
    wait until a drain_now()."""
    settings.LMS_FIRST_VIEWS_BEHIND = True
    _clear()
    sent: list[float] = []
    monkeypatch.setattr(
        tasks.drain_first_views,
        "apply_async",
        lambda *a, countdown=0.0, **k: sent.append(countdown),
    )
    yield sent
    _clear()


def _url(enrollment: Enrollment, lesson_id: int) -> str:
    return reverse("courses:lesson", args=[enrollment.registration, lesson_id])


def _queued() -> int:
    return int(first_views._client().llen(first_views.QUEUE))


def _opened(client: Client, learner: Any, lessons: int = 4) -> tuple[Enrollment, list[int]]:
    """An enrolment whose first lesson was opened and drained, its state kept."""
    enrollment, ids = enrol_in_text_course(learner, lessons)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert first_views.drain_now() == 1
    caches["default"].delete(player_state.key(enrollment.pk))
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert isinstance(
        caches["default"].get(player_state.key(enrollment.pk)), selectors.PlayerEnrollment
    )
    return enrollment, ids


def _statements(enrollment: Enrollment, lesson_id: int) -> list[Any]:
    key = Lesson.objects.get(pk=lesson_id).key
    ids = [
        statement_id(verb, enrollment.registration, key) for verb in ("experienced", "completed")
    ]
    return list(Statement.objects.filter(statement_id__in=ids))


def test_a_first_view_is_answered_at_once_and_written_by_the_drain(
    client: Client, learner: Any, behind: list[float]
) -> None:
    from lms.dashboards.services import forget_recorded

    enrollment, ids = _opened(client, learner)
    behind.clear()
    first_views.clear_scheduled()  # the opening's drain is on its way for 500 ms
    forget_recorded()
    LearnerActivity.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(enrollment, ids[1]))
    assert response.status_code == 200
    # the page: lesson 2 done, 2 of 4 lessons (50 %), without a query of the database
    assert 'aria-valuenow="50"' in response.content.decode()
    assert [q["sql"] for q in queries.captured_queries] == []
    assert _queued() == 1
    assert behind == [first_views.DRAIN_COUNTDOWN]
    assert not LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()
    assert _statements(enrollment, ids[1]) == []

    assert first_views.drain_now() == 1
    assert _queued() == 0
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson_id=ids[1])
    assert progress.status == LessonProgress.Status.COMPLETED
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 50
    assert enrollment.last_lesson_id == ids[1]
    assert enrollment.last_activity_at == progress.started_at == progress.completed_at
    statements = _statements(enrollment, ids[1])
    assert sorted(s.verb_id.rsplit("/", 1)[-1] for s in statements) == ["completed", "experienced"]
    # the statements carry the view's time, not the drain's
    assert {s.data["timestamp"][:19] for s in statements} == {progress.started_at.isoformat()[:19]}
    assert LearnerActivity.objects.filter(enrollment_id=enrollment.pk).exists()
    # the kept state agreed with the database: the next page still reads nothing
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_url(enrollment, ids[2])).status_code == 200
    assert [q["sql"] for q in queries.captured_queries] == []


def test_a_view_that_completes_the_course_is_written_at_once_after_the_queue(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner, lessons=3)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    assert _queued() == 1
    response = client.get(_url(enrollment, ids[2]))
    assert response.status_code == 200
    assert _queued() == 0  # lesson 2 was drained before the last lesson was written
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_pct == 100
    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 3


def test_a_view_of_an_enrolment_that_left_its_seat_is_not_counted(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    services.withdraw(enrollment=enrollment, actor=learner)
    assert first_views.drain_now() == 0
    assert not LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()
    assert _statements(enrollment, ids[1]) == []
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 25
    assert client.get(_url(enrollment, ids[1])).status_code == 403


def test_a_view_queued_twice_counts_once(client: Client, learner: Any) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    # the kept state lost (expired, say) before the drain: the next page reads the database,
    # where the view is not yet, and queues it again
    caches["default"].delete(player_state.key(enrollment.pk))
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    assert _queued() == 2
    assert first_views.drain_now() == 1
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).count() == 1
    assert len(_statements(enrollment, ids[1])) == 2
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 50


def test_a_resume_point_written_after_a_queued_view_keeps_its_place(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200  # queued
    # back on lesson 1: a revisit, written at once (the resume point moves back)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == ids[0]
    assert first_views.drain_now() == 1
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == ids[0]  # the older view did not move it forward
    assert enrollment.progress_pct == 50


def test_the_drain_completes_a_course_the_page_did_not_expect_and_forgets_the_state(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner, lessons=3)
    assert client.get(_url(enrollment, ids[1])).status_code == 200  # queued, 66 % expected
    # lesson 3 completed meanwhile by a write that did not count the %
    LessonProgress.objects.create(
        enrollment=enrollment, lesson_id=ids[2], status=LessonProgress.Status.COMPLETED,
        started_at=timezone.now(), completed_at=timezone.now(),
    )  # fmt: skip
    caches["default"].delete(player_state.key(enrollment.pk))
    services.player_visit(registration=enrollment.registration, user=learner, lesson_id=ids[0])
    assert caches["default"].get(player_state.key(enrollment.pk)) is not None  # kept again
    assert first_views.drain_now() == 1
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_pct == 100
    assert caches["default"].get(player_state.key(enrollment.pk)) == player_state.TOMBSTONE
    visit = services.player_visit(
        registration=enrollment.registration, user=learner, lesson_id=ids[0]
    )
    assert visit.enrollment.status == Enrollment.Status.COMPLETED


def test_the_drain_takes_a_fixed_number_of_queries_whatever_the_batch(
    client: Client, learner: Any
) -> None:
    def drained(learners: int) -> int:
        for _ in range(learners):
            person = UserFactory(institution=learner.institution)
            enrollment, ids = enrol_in_text_course(person, 4)
            client.force_login(person)
            for lesson_id in ids[:2]:
                assert client.get(_url(enrollment, lesson_id)).status_code == 200
        assert _queued() == 2 * learners
        with CaptureQueriesContext(connection) as queries:
            assert first_views.drain_now() == 2 * learners
        return len(queries.captured_queries)

    assert drained(2) == drained(6)


def test_the_drain_task_writes_what_waits_and_clears_its_flag(client: Client, learner: Any) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    assert first_views._client().exists(first_views._queue.scheduled)
    assert tasks.drain_first_views() == 1
    assert not first_views._client().exists(first_views._queue.scheduled)
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()


def test_off_by_default_and_written_in_the_request(
    client: Client, learner: Any, settings: Any
) -> None:
    settings.LMS_FIRST_VIEWS_BEHIND = False
    enrollment, ids = enrol_in_text_course(learner, 2)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert _queued() == 0
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[0]).exists()


def test_a_started_lesson_is_queued_as_launched(learner: Any) -> None:
    """A lesson other than text or document (a video) is recorded as started, its % unchanged."""
    enrollment, ids = enrol_in_text_course(learner, 2)
    Lesson.objects.filter(pk=ids[1]).update(
        kind=Lesson.Kind.VIDEO, video_url="https://example.org/v.mp4"
    )
    caches["default"].clear()
    services.player_visit(registration=enrollment.registration, user=learner, lesson_id=ids[1])
    assert first_views.drain_now() == 1
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson_id=ids[1])
    assert progress.status == LessonProgress.Status.STARTED
    assert progress.completed_at is None
    assert [s.verb_id.rsplit("/", 1)[-1] for s in _statements(enrollment, ids[1])] == []
    key = Lesson.objects.get(pk=ids[1]).key
    assert Statement.objects.filter(
        statement_id=statement_id("launched", enrollment.registration, key)
    ).exists()
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 0
    assert enrollment.last_activity_at is not None
    assert timezone.now() - enrollment.last_activity_at < timedelta(minutes=1)


def test_views_queued_before_writing_behind_was_turned_off_still_drain(
    client: Client, learner: Any, settings: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    settings.LMS_FIRST_VIEWS_BEHIND = False
    assert tasks.drain_first_views() == 1
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()


def test_a_view_of_a_deleted_lesson_or_an_unreadable_item_does_not_hold_up_the_batch(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    other = UserFactory(institution=learner.institution)
    other_enrollment, other_ids = enrol_in_text_course(other, 3)
    client.force_login(other)
    assert client.get(_url(other_enrollment, other_ids[0])).status_code == 200
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    Lesson.objects.filter(pk=ids[1]).delete()
    first_views._client().rpush(first_views.QUEUE, b"not json", b"[1, 2]")
    assert _queued() == 4
    assert first_views.drain_now() == 1
    assert _queued() == 0
    assert LessonProgress.objects.filter(enrollment=other_enrollment).count() == 1
    assert not LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()


def test_a_batch_a_crashed_drain_left_is_written_by_the_next(client: Client, learner: Any) -> None:
    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    r = first_views._client()
    # a drain took the batch and died before writing it
    assert first_views._queue.move_batch(first_views.BATCH)
    assert _queued() == 0
    assert r.llen(first_views._queue.processing) == 1
    assert first_views.drain_now() == 1
    assert r.llen(first_views._queue.processing) == 0
    assert LessonProgress.objects.filter(enrollment=enrollment, lesson_id=ids[1]).exists()


def test_the_lrs_consistent_through_stays_before_a_drain_in_flight(
    client: Client, learner: Any
) -> None:
    """The drain stamps its statements' `stored` in its transaction: until it commits, the LRS's
    floor (what Consistent-Through stays below) is no later than that stamp."""
    from courses import signals
    from lms.xapi import buffer

    enrollment, ids = _opened(client, learner)
    assert client.get(_url(enrollment, ids[1])).status_code == 200
    floors: list[Any] = []

    def during(**kwargs: Any) -> None:
        floors.append(buffer.floor())

    signals.lesson_completed_in_transaction.connect(during, dispatch_uid="test-floor")
    try:
        assert first_views.drain_now() == 1
    finally:
        signals.lesson_completed_in_transaction.disconnect(dispatch_uid="test-floor")
    stored = min(s.stored for s in _statements(enrollment, ids[1]))
    assert floors
    assert floors[0] is not None
    assert floors[0] <= stored
    assert buffer.floor() is None  # the write ended
