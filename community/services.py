"""State changes of the network: posting, mentions, subscriptions, moderation, chat, library."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community import permissions
from community.models import (
    Ban,
    ChatMessage,
    Forum,
    LibraryItem,
    Mention,
    ModerationAction,
    Post,
    PostAttachment,
    Report,
    Subscription,
    Thread,
)
from community.sanitize import clean_html, text_to_html
from courses.models import CourseRun
from lms.accounts.models import Institution, User
from lms.i18n import pick

MENTION = re.compile(r"(?<![\w.])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# What a post may carry: documents, pictures, audio, video and ZIP archives, as course documents
# are limited; never a program or a page a browser would run (exe, html, svg…).
ATTACHMENT_TYPES = frozenset(
    {
        *("pdf", "docx", "odt", "xlsx", "ods", "pptx", "odp", "txt", "csv"),
        *("png", "jpg", "jpeg", "gif", "webp"),
        *("mp3", "m4a", "ogg", "wav", "mp4", "webm", "ogv"),
        "zip",
    }
)


def forum_for_run(*, run: CourseRun) -> Forum:
    """The run's forum, created the first time anyone opens it."""
    forum = Forum.objects.filter(run=run).first()
    if forum is not None:
        return forum
    title = {
        code: str(run.course.title.get(code) or run.course.code) for code in settings.LANGUAGE_CODES
    }
    try:
        with transaction.atomic():
            return Forum.objects.create(
                kind=Forum.Kind.RUN, run=run, slug=f"run-{run.pk}", title=title
            )
    except IntegrityError:
        return Forum.objects.get(run=run)


def forum_for_institution(*, institution: Institution) -> Forum:
    forum = Forum.objects.filter(institution=institution).first()
    if forum is not None:
        return forum
    try:
        with transaction.atomic():
            return Forum.objects.create(
                kind=Forum.Kind.INSTITUTION,
                institution=institution,
                slug=f"institution-{institution.pk}",
                title={code: institution.name for code in settings.LANGUAGE_CODES},
            )
    except IntegrityError:
        return Forum.objects.get(institution=institution)


def _require(condition: bool, message: Any) -> None:
    if not condition:
        raise PermissionDenied(message)


def _update_search(thread: Thread, first_body: str = "") -> None:
    if connection_is_postgres():
        Thread.objects.filter(pk=thread.pk).update(
            search_vector=SearchVector(Value(thread.title), weight="A", config="simple")
            + SearchVector(Value(strip_tags(first_body)), weight="B", config="simple")
        )


def connection_is_postgres() -> bool:
    return bool(settings.IS_POSTGRES)


def strip_tags(value: str) -> str:
    return re.sub(r"<[^>]+>", " ", value)


def _notify_mentions(post: Post, author: User, text: str) -> None:
    emails = {match.lower() for match in MENTION.findall(text)}
    if not emails:
        return
    forum = post.thread.forum
    mentioned = [
        user
        for user in User.objects.filter(email__in=emails).exclude(pk=author.pk)[:20]
        if permissions.can_read_forum(user, forum)
    ]
    Mention.objects.bulk_create(
        [Mention(post=post, user=user) for user in mentioned], ignore_conflicts=True
    )
    if mentioned:
        from lms.accounts.notifications import notify

        url = f"/community/threads/{post.thread_id}/#post-{post.pk}"
        notify(
            recipients=mentioned,
            subject=_("%(name)s mentioned you in “%(thread)s”"),
            body=_("%(name)s mentioned you in a discussion of the network."),
            params={"name": author.full_name, "thread": post.thread.title},
            url=url,
        )


def _check_attachments(files: list[UploadedFile]) -> None:
    """Refuse, before anything is posted, a file too large or of a type not accepted."""
    for upload in files:
        name = upload.name or ""
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension not in ATTACHMENT_TYPES:
            raise ValidationError(
                {
                    "attachment": _(
                        "“%(name)s” cannot be attached: attach a document (PDF, office or "
                        "text), a picture, audio, video or a ZIP archive."
                    )
                    % {"name": name}
                }
            )
        if upload.size and upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"attachment": _("Each attachment must be 10 MB or smaller.")})


def _attach(post: Post, files: list[UploadedFile]) -> None:
    for upload in files:
        PostAttachment.objects.create(
            post=post, file=upload, name=(upload.name or "file")[:200], size=upload.size or 0
        )


@transaction.atomic
def start_thread(
    *, forum: Forum, author: User, title: str, text: str, files: list[UploadedFile] | None = None
) -> Thread:
    """Open a discussion with its first post; the author is subscribed to it."""
    _require(permissions.can_post_in_forum(author, forum), _("You cannot post in this forum."))
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("A thread needs a title.")})
    if not text.strip():
        raise ValidationError({"text": _("The message is empty.")})
    _check_attachments(files or [])
    now = timezone.now()
    thread = Thread.objects.create(
        forum=forum, author=author, title=title[:200], created_at=now, last_post_at=now
    )
    body = text_to_html(text)
    post = Post.objects.create(thread=thread, author=author, body=body, created_at=now)
    _attach(post, files or [])
    Forum.objects.filter(pk=forum.pk).update(thread_count=F("thread_count") + 1, last_post_at=now)
    Subscription.objects.get_or_create(user=author, thread=thread, forum=None)
    _update_search(thread, body)
    transaction.on_commit(lambda: _notify_mentions(post, author, text))
    return thread


@transaction.atomic
def reply(
    *, thread: Thread, author: User, text: str, files: list[UploadedFile] | None = None
) -> Post:
    """Add a reply; refused in a locked or hidden thread or to a banned member."""
    thread = Thread.objects.select_for_update().select_related("forum").get(pk=thread.pk)
    _require(
        permissions.can_post_in_forum(author, thread.forum), _("You cannot post in this forum.")
    )
    if thread.is_locked or thread.is_hidden:
        raise ValidationError({"text": _("This thread is locked: no more replies.")})
    if not text.strip():
        raise ValidationError({"text": _("The message is empty.")})
    _check_attachments(files or [])
    now = timezone.now()
    post = Post.objects.create(
        thread=thread, author=author, body=text_to_html(text), created_at=now
    )
    _attach(post, files or [])
    Thread.objects.filter(pk=thread.pk).update(reply_count=F("reply_count") + 1, last_post_at=now)
    Forum.objects.filter(pk=thread.forum_id).update(last_post_at=now)
    transaction.on_commit(lambda: _notify_mentions(post, author, text))
    return post


def subscribe(
    *, user: User, thread: Thread | None = None, forum: Forum | None = None
) -> Subscription:
    target_forum = forum or (thread.forum if thread else None)
    _require(permissions.can_read_forum(user, target_forum), _("You cannot follow this forum."))
    subscription, _created = Subscription.objects.get_or_create(
        user=user, thread=thread, forum=forum
    )
    return subscription


def unsubscribe(*, user: User, thread: Thread | None = None, forum: Forum | None = None) -> None:
    Subscription.objects.filter(user=user, thread=thread, forum=forum).delete()


def report_post(*, post: Post, reporter: User, reason: str) -> Report:
    _require(
        permissions.can_read_forum(reporter, post.thread.forum), _("You cannot see this post.")
    )
    if not reason.strip():
        raise ValidationError({"reason": _("Say why you report this message.")})
    return Report.objects.create(post=post, reporter=reporter, reason=reason.strip()[:500])


def _audit(actor: User, action: str, forum: Forum | None, reason: str = "", **targets: Any) -> None:
    ModerationAction.objects.create(
        actor=actor, action=action, forum=forum, reason=reason[:500], **targets
    )


@transaction.atomic
def set_post_hidden(*, post: Post, moderator: User, hidden: bool, reason: str = "") -> None:
    forum = post.thread.forum
    _require(permissions.can_moderate_forum(moderator, forum), _("You do not moderate this forum."))
    Post.objects.filter(pk=post.pk).update(is_hidden=hidden)
    if hidden:
        Report.objects.filter(post=post, status=Report.Status.OPEN).update(
            status=Report.Status.ACTIONED
        )
    _audit(
        moderator,
        ModerationAction.Action.HIDE_POST if hidden else ModerationAction.Action.SHOW_POST,
        forum,
        reason,
        post=post,
        target_user=post.author,
    )


@transaction.atomic
def set_thread_locked(*, thread: Thread, moderator: User, locked: bool, reason: str = "") -> None:
    _require(
        permissions.can_moderate_forum(moderator, thread.forum),
        _("You do not moderate this forum."),
    )
    Thread.objects.filter(pk=thread.pk).update(is_locked=locked)
    _audit(
        moderator,
        ModerationAction.Action.LOCK_THREAD if locked else ModerationAction.Action.UNLOCK_THREAD,
        thread.forum,
        reason,
        thread=thread,
    )


@transaction.atomic
def hide_thread(*, thread: Thread, moderator: User, reason: str = "") -> None:
    _require(
        permissions.can_moderate_forum(moderator, thread.forum),
        _("You do not moderate this forum."),
    )
    Thread.objects.filter(pk=thread.pk).update(is_hidden=True)
    _audit(moderator, ModerationAction.Action.HIDE_THREAD, thread.forum, reason, thread=thread)


@transaction.atomic
def ban_member(
    *, forum: Forum | None, user: User, moderator: User, reason: str, until: datetime | None = None
) -> Ban:
    """Ban from one forum (and its run's chat); a ban everywhere (forum None) is DPS's alone."""
    if forum is None:
        _require(
            permissions.get_scope(moderator).is_dps, _("Only DPS can ban a member everywhere.")
        )
    else:
        _require(
            permissions.can_moderate_forum(moderator, forum), _("You do not moderate this forum.")
        )
    if user.pk == moderator.pk:
        raise ValidationError({"user": _("You cannot ban yourself.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the ban.")})
    ban = Ban.objects.create(
        user=user, forum=forum, reason=reason.strip()[:500], until=until, created_by=moderator
    )
    _audit(moderator, ModerationAction.Action.BAN, forum, reason, target_user=user)
    return ban


# Chat ----------------------------------------------------------------------------------------

CHAT_RATE_LIMIT = (5, 10)  # at most 5 messages in 10 seconds per person


def _chat_rate_exceeded(author_id: int) -> bool:
    """A sliding-window count of this person's attempts (refused ones included): this window's
    counter plus the previous window's, weighted by how much of it still lies within the last
    `window` seconds. A plain fixed window would let a flood that straddles the boundary through
    at twice the limit."""
    from django.core.cache import cache

    limit, window = CHAT_RATE_LIMIT
    now = timezone.now().timestamp()
    slot = int(now // window)
    key = f"chat:rate:{author_id}:{slot}"
    cache.add(key, 0, window * 2)
    current = cache.incr(key)
    previous = cache.get(f"chat:rate:{author_id}:{slot - 1}", 0)
    overlap = (window - (now - slot * window)) / window
    return current + previous * overlap > limit


def can_chat(user: User, run: CourseRun) -> bool:
    if permissions.get_scope(user).is_dps:
        return True
    return permissions.is_run_member(user, run)


def post_chat_message(
    *, run: CourseRun, author: User, body: str, client_id: str = ""
) -> tuple[ChatMessage, bool]:
    """Store a chat message (once per client_id); returns (message, created)."""
    _require(can_chat(author, run), _("You are not a member of this cohort."))
    forum = forum_for_run(run=run)
    _require(not permissions.is_banned(author, forum), _("You are banned from this cohort's chat."))
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("The message is empty.")})
    if len(body) > 2000:
        raise ValidationError({"body": _("A chat message has at most 2,000 characters.")})
    client_id = client_id.strip()[:64]
    if client_id:
        existing = ChatMessage.objects.filter(author=author, client_id=client_id).first()
        if existing is not None:
            return existing, False
    if _chat_rate_exceeded(author.pk):
        raise ValidationError({"body": _("You are sending messages too fast; wait a few seconds.")})
    try:
        with transaction.atomic():
            return ChatMessage.objects.create(
                run=run, author=author, body=body, client_id=client_id
            ), True
    except IntegrityError:
        return ChatMessage.objects.get(author=author, client_id=client_id), False


@transaction.atomic
def hide_chat_message(*, message: ChatMessage, moderator: User, reason: str = "") -> None:
    forum = forum_for_run(run=message.run)
    _require(permissions.can_moderate_forum(moderator, forum), _("You do not moderate this chat."))
    ChatMessage.objects.filter(pk=message.pk).update(is_hidden=True)
    _audit(
        moderator,
        ModerationAction.Action.HIDE_CHAT,
        forum,
        reason,
        chat_message=message,
        target_user_id=message.author_id,
    )


# Library -------------------------------------------------------------------------------------


def _index_item(item: LibraryItem) -> None:
    if not connection_is_postgres():
        return
    config = item.search_config
    LibraryItem.objects.filter(pk=item.pk).update(
        search_vector=SearchVector(Value(item.title), weight="A", config=config)
        + SearchVector(Value(item.summary), weight="B", config=config)
        + SearchVector(Value(strip_tags(item.body)), weight="C", config=config)
    )


@transaction.atomic
def save_library_item(
    *, author: User, item: LibraryItem | None = None, **fields: Any
) -> LibraryItem:
    """Create or edit a draft (or an item sent back to draft); published items are edited by DPS."""
    _require(permissions.can_edit_library(author), _("You cannot edit the library."))
    themes = fields.pop("themes", None)
    member_states = fields.pop("member_states", None)
    if "body" in fields:
        fields["body"] = clean_html(fields["body"] or "")
    if item is None:
        item = LibraryItem(author=author, **fields)
    else:
        if item.status == LibraryItem.Status.PUBLISHED and not permissions.can_publish_library(
            author
        ):
            raise PermissionDenied(_("Only DPS can change a published item."))
        if item.author_id != author.pk and not permissions.can_publish_library(author):
            raise PermissionDenied(_("You can edit only your own items."))
        for name, value in fields.items():
            setattr(item, name, value)
    item.full_clean(exclude=["author", "search_vector"])
    item.save()
    if themes is not None:
        item.themes.set(themes)
    if member_states is not None:
        item.member_states.set(member_states)
    _index_item(item)
    return item


_TRANSITIONS = {
    "submit": (LibraryItem.Status.DRAFT, LibraryItem.Status.REVIEW),
    "return": (LibraryItem.Status.REVIEW, LibraryItem.Status.DRAFT),
    "publish": (LibraryItem.Status.REVIEW, LibraryItem.Status.PUBLISHED),
    "unpublish": (LibraryItem.Status.PUBLISHED, LibraryItem.Status.DRAFT),
}


@transaction.atomic
def transition_library_item(*, item: LibraryItem, actor: User, action: str) -> LibraryItem:
    """Editorial workflow: draft → review → published (and back). Publishing is DPS's."""
    if action not in _TRANSITIONS:
        raise ValidationError({"action": _("Unknown editorial step.")})
    source, target = _TRANSITIONS[action]
    item = LibraryItem.objects.select_for_update().get(pk=item.pk)
    if item.status != source:
        raise ValidationError(
            {"action": _("This step is not possible from the item's current state.")}
        )
    if action == "submit":
        _require(
            item.author_id == actor.pk or permissions.can_publish_library(actor),
            _("Only the author can submit."),
        )
    else:
        _require(permissions.can_publish_library(actor), _("Only DPS can review and publish."))
    item.status = target
    if target == LibraryItem.Status.PUBLISHED:
        item.published_at = timezone.now()
        item.reviewed_by = actor
    item.save(update_fields=["status", "published_at", "reviewed_by"])
    return item


def localized_forum_title(forum: Forum) -> str:
    return str(pick(forum.title) or forum.slug)
