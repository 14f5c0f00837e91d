"""The lesson player's first views written behind (LMS_FIRST_VIEWS_BEHIND; the deployments turn
it on).

A learner opening a lesson for the first time used to wait for six round trips to PostgreSQL:
the enrolment locked, the progress inserted, the enrolment's resume point and % updated, the
statements inserted, the dashboards' activity recorded, the commit. With this on, the page is
answered from the player's kept state (courses.player_state) and the view is queued in Redis in
one round trip; a drain (a Celery task a moment later, or `drain_now`) writes the queued views
in batches: one transaction locks the batch's enrolments, inserts their progress, updates them,
inserts the statements and records the dashboards' activity, whatever the batch's size.

What stays synchronous, and why:
- a view that may complete the course (a text or document that brings the required lessons to
  100 % of an active enrolment): the completion, its certificate and the learner's page saying
  so come at once. What is queued is drained first, so the rules read every view.
- Redis failing: the view is written in the request, as before.

What the drain decides, since the request did not lock: the view counts only if the enrolment
still holds its seat (active or completed) in the version the page was read from, and only
once (the progress row's unique key; statements have fixed ids). A resume point moves only
forward in time (a revisit written since keeps its place). The % is counted again from the rows
under the lock; where it differs from what the page showed, or the drain completed the course
(a view of another tab, say), the player's kept state is forgotten and the next page reads the
database. A view drains a fraction of a second after it was made: My learning and the dashboards
show it then.

Redis keys (the cache's Redis, beside the player's states; lms.redis_queue): courses:first-views
(the views waiting, JSON), …:processing, …:lock, …:scheduled.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from courses import player_state, selectors
from courses.models import Enrollment, Lesson, LessonProgress
from lms.cache import RedisCache
from lms.redis_queue import Busy, Queue, turned_on

log = logging.getLogger(__name__)

QUEUE = "courses:first-views"
BATCH = 2000
DRAIN_COUNTDOWN = 0.2
SEAT_HOLDING = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
COMPLETED = LessonProgress.Status.COMPLETED
STARTED = LessonProgress.Status.STARTED


def _client() -> Any:
    """The Redis of the cache, where the player's states are kept: a view is queued in the
    same atomic step that keeps the state it leaves (player_state.replace_and_queue)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        raise RedisError("the default cache is not Redis")
    return cache.redis()


_queue = Queue(QUEUE, _client)


def enabled() -> bool:
    return (
        turned_on("LMS_FIRST_VIEWS_BEHIND")
        and connection.vendor == "postgresql"
        and isinstance(caches["default"], RedisCache)
    )


def completes(lesson: Lesson) -> bool:
    """Whether viewing the lesson completes it (text and documents: read once is done)."""
    return lesson.kind in (Lesson.Kind.TEXT, Lesson.Kind.DOCUMENT)


def progress_pct(progress: dict[int, Any], required: list[int], *, status: str, kept: int) -> int:
    """The enrolment's % once these lessons are recorded ({lesson id: (status, …)}): the
    required lessons completed, 100 with none required; a completed enrolment keeps what it had
    (a course completed on site, with fewer lessons recorded, is not brought down)."""
    if not required:
        pct = 100
    else:
        done = sum(1 for pk in required if pk in progress and progress[pk][0] == COMPLETED)
        pct = (100 * done) // len(required)
    return max(pct, kept) if status == Enrollment.Status.COMPLETED else pct


def queue(state: selectors.PlayerEnrollment, user: Any, lesson: Lesson, outline: Any) -> bool:
    """Queue the first view of `lesson` and bring `state` (read for this page) up to date, kept
    for the next page. False, with nothing queued, when the view must be written now: it may
    complete the course, or Redis failed."""
    now = timezone.now()
    done = completes(lesson)
    status = COMPLETED if done else STARTED
    pct = state.progress_pct
    if done:
        required = [item.pk for item in outline if item.is_required]
        pct = progress_pct(
            {**state.progress, lesson.pk: (status, 0)},
            required,
            status=state.status,
            kept=state.progress_pct,
        )
        if state.status == Enrollment.Status.ACTIVE and pct >= 100:
            return False
    item = json.dumps(
        [state.pk, user.pk, lesson.pk, state.version_id, str(status), now.isoformat(), pct,
         state.course_code],
        separators=(",", ":"),
    ).encode()  # fmt: skip
    before = (state.last_lesson_id, state.last_activity_at, state.progress_pct)
    state.progress[lesson.pk] = (str(status), 0)
    state.last_lesson_id, state.last_activity_at = lesson.pk, now
    state.progress_pct = pct
    try:
        schedule = player_state.replace_and_queue(state, QUEUE, item, _queue.scheduled)
    except RedisError:
        log.warning("First views: Redis failed, a view written at once", exc_info=True)
        state.last_lesson_id, state.last_activity_at, state.progress_pct = before
        del state.progress[lesson.pk]
        return False
    if schedule:
        try:
            _send_drain(DRAIN_COUNTDOWN)
        except Exception:  # noqa: BLE001 - the view is queued: the beat's sweep drains it
            log.warning("First views: the drain could not be sent", exc_info=True)
    return True


def _send_drain(countdown: float) -> None:
    from courses.tasks import drain_first_views

    drain_first_views.apply_async(countdown=countdown)


def pending() -> bool:
    try:
        return _queue.pending()
    except RedisError:
        return False


def drain_now(wait: float = 10.0, *, until_empty: bool = True) -> int:
    """Write the views queued so far (returns how many counted). Cheap when none waits. Another
    drain running: wait for it. Redis failing: nothing drained (the views wait). Drains with
    writing behind turned off too (what was queued before it was turned off)."""
    if not getattr(settings, "REDIS_URL", "") or connection.vendor != "postgresql":
        return 0
    try:
        return _queue.drain(write_batch, batch=BATCH, wait=wait, until_empty=until_empty)
    except Busy:
        return 0
    except RedisError:
        log.warning("First views: Redis failed, drain skipped", exc_info=True)
        return 0
    except DatabaseError:
        # The batch stays in the processing list and is written first by the next drain.
        log.exception("First views: the database refused a batch; the next drain tries again")
        return 0


def reschedule_if_pending() -> bool:
    """A drain task when views wait and none is on its way (after a drain that found the lock
    held past its wait)."""
    if _queue.take_schedule():
        _send_drain(1.0)
        return True
    return False


def clear_scheduled() -> None:
    _client().delete(_queue.scheduled)


# Draining ------------------------------------------------------------------------------------

_ENROLLMENT = Enrollment._meta.db_table
_PROGRESS = LessonProgress._meta.db_table
_ENROLLMENT_FIELDS = [field.attname for field in Enrollment._meta.concrete_fields]
_LOCK_SQL = (
    f"SELECT {', '.join(f.column for f in Enrollment._meta.concrete_fields)} "  # noqa: S608
    f"FROM {_ENROLLMENT} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
)
_INSERT_SQL = f"""
INSERT INTO {_PROGRESS}
    (enrollment_id, lesson_id, status, passed, score_pct, position_seconds, started_at,
     completed_at)
SELECT v.e, v.l, v.s, NULL, NULL, 0, v.t, CASE WHEN v.s = %s THEN v.t END
  FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[]) AS v(e, l, s, t)
  JOIN {Lesson._meta.db_table} l ON l.id = v.l
ON CONFLICT (enrollment_id, lesson_id) DO NOTHING
RETURNING enrollment_id, lesson_id
"""  # noqa: S608 - table names from the models, values as parameters (the join: a lesson
# deleted since the view is not counted, and does not fail the batch)
_DONE_SQL = (
    f"SELECT enrollment_id, lesson_id FROM {_PROGRESS} "  # noqa: S608
    "WHERE enrollment_id = ANY(%s) AND status = %s"
)
_UPDATE_SQL = f"""
UPDATE {_ENROLLMENT} e SET last_lesson_id = v.l, last_activity_at = v.t, progress_pct = v.p
  FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::integer[]) AS v(id, l, t, p)
 WHERE e.id = v.id
"""  # noqa: S608


class _View:
    __slots__ = ("enrollment_id", "user_id", "lesson_id", "version_id", "status", "at", "pct",
                 "course_code")  # fmt: skip

    def __init__(self, item: bytes) -> None:
        (self.enrollment_id, self.user_id, self.lesson_id, self.version_id, self.status, at,
         self.pct, self.course_code) = json.loads(item)  # fmt: skip
        self.at = datetime.fromisoformat(at)


def write_batch(items: list[bytes]) -> int:
    """Write a batch of queued views in one transaction (see the module's docstring); returns
    how many counted (progress rows inserted)."""
    views: dict[tuple[int, int], _View] = {}
    for item in items:
        try:
            view = _View(item)
        except (ValueError, TypeError):
            # not a view this code queued (a row of another version of it, say): dropped, so
            # that it does not hold up the views after it
            log.error("First views: a queued item could not be read, dropped: %r", item[:200])
            continue
        views.setdefault((view.enrollment_id, view.lesson_id), view)
    if not views:
        return 0
    # The statements are stamped `stored` in the transaction and seen at its commit: the LRS's
    # Consistent-Through stays before this write while it is in flight (lms.xapi.buffer).
    from lms.xapi import buffer as statements

    write = statements.begin_write([], claim=False)
    try:
        return _write(views)
    finally:
        statements.end_write(write)


def _write(views: dict[tuple[int, int], _View]) -> int:
    from courses import services

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [sorted({v.enrollment_id for v in views.values()})])
        enrollments = {
            row[0]: Enrollment.from_db(connection.alias, _ENROLLMENT_FIELDS, row)
            for row in cursor.fetchall()
        }
        valid = [
            view
            for view in views.values()
            if (enrollment := enrollments.get(view.enrollment_id)) is not None
            and enrollment.status in SEAT_HOLDING
            and enrollment.version_id == view.version_id
        ]
        if not valid:
            return 0
        cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")
        cursor.execute(
            _INSERT_SQL,
            [COMPLETED, [v.enrollment_id for v in valid], [v.lesson_id for v in valid],
             [v.status for v in valid], [v.at for v in valid]],
        )  # fmt: skip
        inserted = {(e, lesson) for e, lesson in cursor.fetchall()}
        counted = [v for v in valid if (v.enrollment_id, v.lesson_id) in inserted]
        lessons = {
            lesson.pk: lesson
            for lesson in Lesson.objects.filter(pk__in={v.lesson_id for v in valid}).only(
                "id", "key", "title", "kind", "version_id", "activity_id"
            )
        }
        completing = {v.enrollment_id for v in counted if v.status == COMPLETED}
        done: dict[int, set[int]] = {pk: set() for pk in completing}
        if completing:
            cursor.execute(_DONE_SQL, [sorted(completing), COMPLETED])
            for enrollment_id, lesson_id in cursor.fetchall():
                done[enrollment_id].add(lesson_id)
        required: dict[int, list[int]] = {}  # a version's required lessons
        latest: dict[int, _View] = {}
        for view in counted:
            seen = latest.get(view.enrollment_id)
            if seen is None or view.at > seen.at:
                latest[view.enrollment_id] = view
        for enrollment_id, view in latest.items():
            enrollment = enrollments[enrollment_id]
            if enrollment.last_activity_at is None or enrollment.last_activity_at < view.at:
                enrollment.last_lesson_id = view.lesson_id
                enrollment.last_activity_at = view.at
            if enrollment_id in completing:
                version = enrollment.version_id
                if version not in required:
                    outline = selectors.lesson_outline(version_id=version)
                    required[version] = [item.pk for item in outline if item.is_required]
                enrollment.progress_pct = progress_pct(
                    {pk: (COMPLETED,) for pk in done[enrollment_id]},
                    required[version],
                    status=enrollment.status,
                    kept=enrollment.progress_pct,
                )
        if latest:
            changed = [enrollments[pk] for pk in sorted(latest)]
            cursor.execute(
                _UPDATE_SQL,
                [[e.pk for e in changed], [e.last_lesson_id for e in changed],
                 [e.last_activity_at for e in changed], [e.progress_pct for e in changed]],
            )  # fmt: skip
        users = {
            user.pk: user
            for user in get_user_model()
            .objects.filter(pk__in={v.user_id for v in valid})
            .only("id", "full_name", "institution_id")
        }
        events: list[tuple[Any, dict[str, Any]]] = []
        for view in valid:
            user, lesson = users.get(view.user_id), lessons.get(view.lesson_id)
            if user is None or lesson is None:
                continue
            registration = enrollments[view.enrollment_id].registration
            verb = "experienced" if view.status == COMPLETED else "launched"
            events.append((user, {
                **services._lesson_statement(registration, view.course_code, lesson, verb),
                "timestamp": view.at,
            }))  # fmt: skip
            if view.status == COMPLETED:
                events.append((user, {
                    **services._lesson_statement(
                        registration, view.course_code, lesson, "completed", {"completion": True}
                    ),
                    "timestamp": view.at,
                }))  # fmt: skip
        from lms.xapi.emit import emit_many

        emit_many(events, buffered=False)
        services._lessons_completed(
            [
                (enrollments[v.enrollment_id], lessons[v.lesson_id])
                for v in counted
                if v.status == COMPLETED and v.lesson_id in lessons
            ]
        )
        # A course completed by a view drained here (the page expected less: another tab's
        # view, or a lesson made required since) is completed by the same rules.
        candidates = [
            pk
            for pk in sorted(completing)
            if enrollments[pk].status == Enrollment.Status.ACTIVE
            and enrollments[pk].progress_pct >= 100
        ]
        completed: list[Enrollment] = []
        if candidates:
            cursor.execute("SELECT set_config('synchronous_commit', 'on', true)")
            loaded = list(
                Enrollment.objects.select_related("run__course", "version", "user")
                .defer("run__course__description", "run__course__learning_outcomes")
                .filter(pk__in=candidates)
            )
            completed = services._complete_all_met(loaded, {e.pk: e.user for e in loaded})
        # The page's kept state said what it expected; where the database says otherwise it
        # is forgotten (the next page reads the database).
        expected = {v.enrollment_id: v for v in sorted(valid, key=lambda v: v.at)}
        stale = {e.pk for e in completed} | {
            pk for pk, view in expected.items() if enrollments[pk].progress_pct != view.pct
        }
        stale |= {v.enrollment_id for v in views.values()} - {v.enrollment_id for v in valid}
        if stale:
            player_state.forget_many(stale)
    return len(counted)
