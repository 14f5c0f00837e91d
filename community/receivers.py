"""The chat hears at once when someone leaves a run: a withdrawn (or rejected, cancelled)
enrolment, an instructor taken off the run. Their sockets in the run's chat then check their
membership now (lms.sockets.recheck_member) instead of at the next periodic re-check (up to
ChatConsumer.RECHECK_SECONDS later)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from community.permissions import MEMBER_STATUSES
from lms.sockets import recheck_member


def chat_group(run_id: int) -> str:
    """The channel-layer group of a run's chat (community.consumers.ChatConsumer)."""
    return f"chat.run.{int(run_id)}"


def _left(from_status: Any, to_status: Any) -> bool:
    return from_status in MEMBER_STATUSES and to_status not in MEMBER_STATUSES


def enrollment_changed(
    sender: Any, enrollment: Any, from_status: Any = None, to_status: Any = None, **kwargs: Any
) -> None:
    """courses.signals.enrollment_changed (sent after the commit)."""
    if _left(from_status, to_status):
        recheck_member(chat_group(enrollment.run_id), enrollment.user_id)


def enrollments_changed(sender: Any, changes: Any = (), **kwargs: Any) -> None:
    """courses.signals.enrollments_changed (sent after the commit)."""
    for enrollment, from_status, to_status in changes:
        if _left(from_status, to_status):
            recheck_member(chat_group(enrollment.run_id), enrollment.user_id)


def instructor_removed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A RunInstructor row deleted: once the deletion commits."""
    transaction.on_commit(partial(recheck_member, chat_group(instance.run_id), instance.user_id))


def connect() -> None:
    """Connect the receivers (CommunityConfig.ready)."""
    from django.db.models.signals import post_delete

    from courses import signals
    from courses.models import RunInstructor

    signals.enrollment_changed.connect(enrollment_changed, dispatch_uid="community.chat_left")
    signals.enrollments_changed.connect(enrollments_changed, dispatch_uid="community.chats_left")
    post_delete.connect(
        instructor_removed, sender=RunInstructor, dispatch_uid="community.instructor_removed"
    )
