"""Listeners of the courses app: results that external xAPI content reported to our LRS."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from courses.models import Enrollment, Lesson

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


def on_statements_stored(sender: Any, statements: list[dict[str, Any]], **kwargs: Any) -> None:
    """A completed/passed/failed statement about a lesson's activity, in a learner's
    registration, updates that learner's lesson progress."""
    from courses.services import record_lesson_result

    for statement in statements:
        outcome = _outcome(statement)
        if outcome is None:
            continue
        word, passed = outcome
        registration = statement.get("context", {}).get("registration")
        activity_id = statement.get("object", {}).get("id")
        if not registration or not activity_id:
            continue
        try:
            registration_uuid = uuid.UUID(str(registration))
        except ValueError:
            continue
        enrollment = (
            Enrollment.objects.select_related("user").filter(registration=registration_uuid).first()
        )
        if enrollment is None or not _is_learner(statement.get("actor") or {}, enrollment.user):
            continue
        lesson = Lesson.objects.filter(
            version_id=enrollment.version_id, activity_id=activity_id
        ).first()
        if lesson is None:
            continue
        result = statement.get("result") or {}
        scaled = (result.get("score") or {}).get("scaled")
        if passed is None and "success" in result:
            passed = bool(result["success"])
        completed = word != "failed" or bool(result.get("completion"))
        record_lesson_result(
            enrollment=enrollment,
            lesson=lesson,
            completed=completed and (passed is not False or not lesson.requires_pass),
            passed=passed,
            score_pct=None
            if scaled is None
            else (Decimal(str(scaled)) * 100).quantize(Decimal("0.01")),
            actor=enrollment.user,
        )


def connect() -> None:
    """Connect the listeners (from CoursesConfig.ready())."""
    from lms.xapi.signals import statements_stored

    statements_stored.connect(on_statements_stored, dispatch_uid="courses.statements_stored")
