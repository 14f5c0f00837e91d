"""Who may read, post in and moderate each forum and chat (rules registered with the platform's
permissions module)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from community.models import Ban, Forum
from courses.models import CourseRun, Enrollment, RunInstructor
from lms.accounts.permissions import get_scope, register_rule

MEMBER_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)


def is_run_member(user: Any, run: CourseRun | int) -> bool:
    """Enrolled (active or completed) learners and the run's instructors belong to its forum and chat."""
    run_id = run if isinstance(run, int) else run.pk
    return (
        Enrollment.objects.filter(
            run_id=run_id, user_id=user.pk, status__in=MEMBER_STATUSES
        ).exists()
        or RunInstructor.objects.filter(run_id=run_id, user_id=user.pk).exists()
    )


def _in_institution(user: Any, forum: Forum) -> bool:
    institution = forum.institution
    if institution is None:
        return False
    if user.institution_id == institution.pk or user.unit_id == institution.pk:
        return True
    return get_scope(user).coordinates(institution)


def can_read_forum(user: Any, forum: Forum | None) -> bool:
    if forum is None or not user.is_authenticated:
        return False
    if get_scope(user).is_dps or forum.kind == Forum.Kind.TOPIC:
        return True
    if forum.kind == Forum.Kind.INSTITUTION:
        return _in_institution(user, forum)
    return forum.run_id is not None and is_run_member(user, forum.run_id)


def can_moderate_forum(user: Any, forum: Forum | None) -> bool:
    """DPS everywhere; instructors in their runs' forums; coordinators in their institution's."""
    if forum is None or not user.is_authenticated:
        return False
    scope = get_scope(user)
    if scope.is_dps:
        return True
    if forum.kind == Forum.Kind.RUN and forum.run_id is not None:
        return RunInstructor.objects.filter(run_id=forum.run_id, user_id=user.pk).exists()
    if forum.kind == Forum.Kind.INSTITUTION and forum.institution is not None:
        return scope.coordinates(forum.institution)
    return False


def is_banned(user: Any, forum: Forum | None) -> bool:
    now = timezone.now()
    bans = Ban.objects.filter(user_id=user.pk).filter(Q(until__isnull=True) | Q(until__gt=now))
    condition = Q(forum__isnull=True)
    if forum is not None:
        condition |= Q(forum_id=forum.pk)
    return bans.filter(condition).exists()


def can_post_in_forum(user: Any, forum: Forum | None) -> bool:
    return can_read_forum(user, forum) and not is_banned(user, forum)


def can_edit_library(user: Any, obj: Any = None) -> bool:
    scope = get_scope(user)
    return scope.is_dps or scope.is_coordinator


def can_publish_library(user: Any, obj: Any = None) -> bool:
    return get_scope(user).is_dps


def is_member(user: Any, obj: Any = None) -> bool:
    return bool(user.is_authenticated and user.is_active)


def attachment_file(user: Any, name: str) -> bool:
    """Whether `user` may read the forum attachment stored as `name` (lms.media): those who may
    read its thread (of a hidden thread or post, its moderators)."""
    from community.models import PostAttachment

    attachment = (
        PostAttachment.objects.filter(file=name).select_related("post__thread__forum").first()
    )
    if attachment is None:
        return False
    post = attachment.post
    if not can_read_forum(user, post.thread.forum):
        return False
    hidden = post.is_hidden or post.thread.is_hidden
    return not hidden or can_moderate_forum(user, post.thread.forum)


def library_file(user: Any, name: str) -> bool:
    """Whether `user` may read the library file stored as `name` (lms.media): any member once
    the item is published; before, its author and DPS."""
    if not user.is_authenticated:
        return False
    from community.models import LibraryItem

    item = LibraryItem.objects.filter(file=name).first()
    if item is None:
        return False
    return (
        item.status == LibraryItem.Status.PUBLISHED
        or item.author_id == user.pk
        or can_publish_library(user)
    )


register_rule("community.read_forum", can_read_forum)
register_rule("community.post_in_forum", can_post_in_forum)
register_rule("community.moderate_forum", can_moderate_forum)
register_rule("community.edit_library", can_edit_library)
register_rule("community.publish_library", can_publish_library)
register_rule("community.view_directory", is_member)
