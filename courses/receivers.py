"""Listeners of the courses app: results that external xAPI content reported to our LRS."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models.signals import post_delete, post_save

from courses import player_state
from courses.models import Course, Enrollment, Lesson, LessonProgress
from courses.services import LessonResult, record_lesson_results

# The outcome verbs that complete a lesson (ADL verb IRIs end with these words).
_OUTCOME_VERBS = {"completed": None, "passed": True, "failed": False}


def _outcome(statement: dict[str, Any]) -> tuple[str, bool | None] | None:
    verb_id = str(statement.get("verb", {}).get("id", ""))
    word = verb_id.rstrip("/").rsplit("/", 1)[-1]
    if word not in _OUTCOME_VERBS:
        return None
    return word, _OUTCOME_VERBS[word]


def _is_learner(actor: dict[str, Any], user: Any) -> bool:
    """Only the learner's own statements count: a registration is not a credential."""
    account = actor.get("account") or {}
    if account:
        return str(account.get("name")) == str(user.pk)
    return str(actor.get("mbox", "")).lower() == f"mailto:{user.email}".lower()


def _candidates(
    statements: list[dict[str, Any]],
) -> list[tuple[uuid.UUID, str, dict[str, Any], str, bool | None]]:
    """(registration, activity id, statement, verb word, passed) of each outcome statement."""
    found = []
    for statement in statements:
        outcome = _outcome(statement)
        if outcome is None:
            continue
        registration = (statement.get("context") or {}).get("registration")
        activity_id = (statement.get("object") or {}).get("id")
        if not registration or not activity_id:
            continue
        try:
            registration_uuid = uuid.UUID(str(registration))
        except ValueError:
            continue
        found.append((registration_uuid, str(activity_id), statement, *outcome))
    return found


def _unchanged(progress: LessonProgress | None, result: LessonResult) -> bool:
    """Whether recording `result` would change nothing (the same statements sent again)."""
    if progress is None:
        return False
    if result.completed and progress.status != LessonProgress.Status.COMPLETED:
        return False
    if result.passed is not None and progress.passed != result.passed:
        return False
    return result.score_pct is None or progress.score_pct == result.score_pct


def on_statements_stored(sender: Any, statements: list[dict[str, Any]], **kwargs: Any) -> None:
    """A completed/passed/failed statement about a lesson's activity, in a learner's
    registration, updates that learner's lesson progress.

    Set-based for a whole batch: one query finds the enrolments of the batch's registrations, one
    the lessons of their versions, one the progress already recorded; only the (enrolment, lesson)
    pairs whose progress changes go through record_lesson_results together, each with the
    batch's results merged in order, so completion is checked only for the enrolments affected.
    """
    candidates = _candidates(statements)
    if not candidates:
        return
    enrollments = {
        enrollment.registration: enrollment
        for enrollment in Enrollment.objects.select_related("user").filter(
            registration__in={registration for registration, *_rest in candidates}
        )
    }
    mine = [
        (enrollments[registration], activity_id, statement, word, passed)
        for registration, activity_id, statement, word, passed in candidates
        if registration in enrollments
        and _is_learner(statement.get("actor") or {}, enrollments[registration].user)
    ]
    if not mine:
        return
    lessons = {
        (lesson.version_id, lesson.activity_id): lesson
        for lesson in Lesson.objects.filter(
            version_id__in={enrollment.version_id for enrollment, *_rest in mine},
            activity_id__in={activity_id for _enrollment, activity_id, *_rest in mine},
        )
    }
    results: dict[tuple[int, int], LessonResult] = {}
    for enrollment, activity_id, statement, word, passed in mine:
        lesson = lessons.get((enrollment.version_id, activity_id))
        if lesson is None:
            continue
        merged = results.setdefault(
            (enrollment.pk, lesson.pk),
            LessonResult(enrollment, lesson, completed=False, actor=enrollment.user),
        )
        result = statement.get("result") or {}
        scaled = (result.get("score") or {}).get("scaled")
        if passed is None and "success" in result:
            passed = bool(result["success"])
        completed = word != "failed" or bool(result.get("completion"))
        # Statements apply in order: completion sticks, the latest pass and score win.
        merged.completed = merged.completed or (
            completed and (passed is not False or not lesson.requires_pass)
        )
        if passed is not None:
            merged.passed = passed
        if scaled is not None:
            merged.score_pct = (Decimal(str(scaled)) * 100).quantize(Decimal("0.01"))
    if not results:
        return
    recorded = {
        (progress.enrollment_id, progress.lesson_id): progress
        for progress in LessonProgress.objects.filter(
            enrollment_id__in={key[0] for key in results},
            lesson_id__in={key[1] for key in results},
        )
    }
    record_lesson_results(
        [merged for key, merged in results.items() if not _unchanged(recorded.get(key), merged)]
    )


def _enrollment_written(sender: Any, instance: Enrollment, **kwargs: Any) -> None:
    if not kwargs.get("created"):  # a new enrolment has no kept state yet
        player_state.forget(instance.pk)


def _progress_written(sender: Any, instance: LessonProgress, **kwargs: Any) -> None:
    player_state.forget(instance.enrollment_id)


# What the player's state holds of a course.
_COURSE_FIELDS = frozenset({"title", "default_language", "code"})


def _course_saved(sender: Any, instance: Course, created: bool = False, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if not created and (fields is None or _COURSE_FIELDS & set(fields)):
        player_state.forget_many(
            Enrollment.objects.filter(run__course_id=instance.pk).values_list("pk", flat=True)
        )


def _bulk_updated(sender: Any, objs: Any, **kwargs: Any) -> None:
    if sender is Enrollment:
        player_state.forget_many(obj.pk for obj in objs)
    elif sender is LessonProgress:
        player_state.forget_many(obj.enrollment_id for obj in objs)


def connect() -> None:
    """Connect the listeners (from CoursesConfig.ready())."""
    from lms.db import rows_bulk_updated
    from lms.xapi.signals import statements_stored

    # The lesson player's kept state (courses.player_state) forgotten on every write of it. Not
    # on a progress row's deletion: a receiver would keep Django from deleting progress rows in
    # one statement (it loads each to send it); their QuerySet's delete forgets instead, and a
    # deleted enrolment forgets its own.
    for model, receiver in ((Enrollment, _enrollment_written), (LessonProgress, _progress_written)):
        post_save.connect(receiver, sender=model, dispatch_uid=f"courses.player_state.{model}.save")
    post_delete.connect(
        _enrollment_written, sender=Enrollment, dispatch_uid="courses.player_state.delete"
    )
    post_save.connect(_course_saved, sender=Course, dispatch_uid="courses.player_state.course")
    rows_bulk_updated.connect(_bulk_updated, dispatch_uid="courses.player_state.bulk")

    statements_stored.connect(on_statements_stored, dispatch_uid="courses.statements_stored")
