"""State changes of the network: posting, mentions, subscriptions, moderation, chat, library."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
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
# The same thread, reply or chat message sent again within this time (a double click, a resent
# form, the back button) is the one already stored: the second request is shown the first.
SAME_POST_WINDOW = timedelta(seconds=60)
MAX_REASON = 500
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
# What the first bytes of a file of these types are: a file whose name claims one of them and
# whose content is something else (a program renamed guide.pdf, a page renamed photo.png) is
# refused. Office documents (OOXML and OpenDocument) are ZIP archives.
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
FILE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    **dict.fromkeys(("zip", "docx", "xlsx", "pptx", "odt", "ods", "odp"), _ZIP),
}


class AlreadyPosted(Exception):  # noqa: N818 - not an error: the request was done before
    """The same thread or reply was posted a moment ago, or the same person reported the same
    post before: `existing` is what is stored; nothing new was."""

    def __init__(self, existing: Any) -> None:
        super().__init__(existing)
        self.existing = existing


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


def check_upload(upload: UploadedFile, field: str) -> None:
    """Refuse a file of a type not accepted (by its name: a program, a page, an SVG…), or whose
    first bytes are not those of the type its name claims (PDF, PNG, JPEG, ZIP and office)."""
    name = upload.name or ""
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        raise ValidationError(
            {
                field: _(
                    "“%(name)s” cannot be attached: attach a document (PDF, office or "
                    "text), a picture, audio, video or a ZIP archive."
                )
                % {"name": name}
            }
        )
    signatures = FILE_SIGNATURES.get(extension)
    if signatures:
        upload.seek(0)
        head = upload.read(8)
        upload.seek(0)
        if not head.startswith(signatures):
            raise ValidationError(
                {
                    field: _(
                        "“%(name)s” does not hold what its name says: it is not a %(type)s file."
                    )
                    % {"name": name, "type": extension.upper()}
                }
            )


def _check_attachments(files: list[UploadedFile]) -> None:
    """Refuse, before anything is posted, a file too large or of a type not accepted."""
    for upload in files:
        check_upload(upload, "attachment")
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
    """Open a discussion with its first post; the author is subscribed to it.

    AlreadyPosted (with the thread) when the author opened the same thread (title and text) in
    this forum within SAME_POST_WINDOW."""
    _require(permissions.can_post_in_forum(author, forum), _("You cannot post in this forum."))
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("A thread needs a title.")})
    if not text.strip():
        raise ValidationError({"text": _("The message is empty.")})
    _check_attachments(files or [])
    title = title[:200]
    body = text_to_html(text)
    # The forum's row is locked until this transaction ends: the same thread sent twice at once
    # waits here, then finds the first one below.
    Forum.objects.select_for_update().filter(pk=forum.pk).exists()
    now = timezone.now()
    same = Thread.objects.filter(
        forum=forum,
        author=author,
        title=title,
        created_at__gte=now - SAME_POST_WINDOW,
        posts__author=author,
        posts__body=body,
        posts__created_at=F("created_at"),
    ).first()
    if same is not None:
        raise AlreadyPosted(same)
    thread = Thread.objects.create(
        forum=forum, author=author, title=title, created_at=now, last_post_at=now
    )
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
    """Add a reply; refused in a locked or hidden thread or to a banned member. AlreadyPosted
    (with the post) when the author posted the same text in this thread within
    SAME_POST_WINDOW."""
    thread = Thread.objects.select_for_update().select_related("forum").get(pk=thread.pk)
    _require(
        permissions.can_post_in_forum(author, thread.forum), _("You cannot post in this forum.")
    )
    if thread.is_locked or thread.is_hidden:
        raise ValidationError({"text": _("This thread is locked: no more replies.")})
    if not text.strip():
        raise ValidationError({"text": _("The message is empty.")})
    _check_attachments(files or [])
    body = text_to_html(text)
    now = timezone.now()
    # The thread's row is locked above: the same reply sent twice at once finds the first here.
    same = (
        Post.objects.filter(
            thread=thread, author=author, body=body, created_at__gte=now - SAME_POST_WINDOW
        )
        .order_by("created_at", "id")
        .first()
    )
    if same is not None:
        raise AlreadyPosted(same)
    post = Post.objects.create(thread=thread, author=author, body=body, created_at=now)
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


def _reason_too_long() -> ValidationError:
    return ValidationError(
        {
            "reason": _("%(field)s: at most %(count)s characters.")
            % {"field": _("Reason"), "count": MAX_REASON}
        }
    )


def report_post(*, post: Post, reporter: User, reason: str) -> Report:
    """A person reports a post once: AlreadyPosted (with their report) the second time."""
    _require(
        permissions.can_read_forum(reporter, post.thread.forum), _("You cannot see this post.")
    )
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you report this message.")})
    if len(reason) > MAX_REASON:
        raise _reason_too_long()
    try:
        with transaction.atomic():
            return Report.objects.create(post=post, reporter=reporter, reason=reason)
    except IntegrityError:
        raise AlreadyPosted(Report.objects.get(post=post, reporter=reporter)) from None


def _audit(actor: User, action: str, forum: Forum | None, reason: str = "", **targets: Any) -> None:
    ModerationAction.objects.create(
        actor=actor, action=action, forum=forum, reason=reason[:500], **targets
    )


@transaction.atomic
def set_post_hidden(*, post: Post, moderator: User, hidden: bool, reason: str = "") -> None:
    forum = post.thread.forum
    _require(permissions.can_moderate_forum(moderator, forum), _("You do not moderate this forum."))
    # The thread's row is locked: its reply count follows the posts shown, however many
    # moderators click at once, and the search no longer finds a hidden opening post's text.
    thread = Thread.objects.select_for_update().get(pk=post.thread_id)
    changed = Post.objects.filter(pk=post.pk).exclude(is_hidden=hidden).update(is_hidden=hidden)
    first = Post.objects.filter(thread=thread).order_by("created_at", "id").first()
    if changed and first is not None:
        if first.pk == post.pk:
            _update_search(thread, "" if hidden else first.body)
        else:
            step = F("reply_count") - 1 if hidden else F("reply_count") + 1
            Thread.objects.filter(pk=thread.pk).update(reply_count=step)
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
    if Thread.objects.filter(pk=thread.pk, is_hidden=False).update(is_hidden=True):
        # the forum's count is of the threads its members see
        Forum.objects.filter(pk=thread.forum_id).update(thread_count=F("thread_count") - 1)
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
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the ban.")})
    if len(reason) > MAX_REASON:
        raise _reason_too_long()
    ban = Ban.objects.create(
        user=user, forum=forum, reason=reason, until=until, created_by=moderator
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


CHAT_MAX_BODY = 2000
CHAT_MAX_CLIENT_ID = 64


def _text_problem(value: str, field: str, label: Any) -> ValidationError | None:
    """A text PostgreSQL cannot store: a null character, or a lone surrogate (JSON's "\\ud800"
    read by the chat's socket), which no encoding writes."""
    if "\x00" in value:
        message = _("%(field)s: a null character is not allowed here.") % {"field": label}
        return ValidationError({field: message})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ValidationError({field: _("%(field)s: must be text.") % {"field": label}})
    return None


def post_chat_message(
    *, run: CourseRun, author: User, body: str, client_id: str = ""
) -> tuple[ChatMessage, bool]:
    """Store a chat message; returns (message, created). Sent again with the same client_id (the
    live chat's), the stored message is returned; without one (the plain form), the same text
    sent within SAME_POST_WINDOW is."""
    _require(can_chat(author, run), _("You are not a member of this cohort."))
    forum = forum_for_run(run=run)
    _require(not permissions.is_banned(author, forum), _("You are banned from this cohort's chat."))
    body = body.strip()
    problem = _text_problem(body, "body", _("Message"))
    if problem is not None:
        raise problem
    if not body:
        raise ValidationError({"body": _("The message is empty.")})
    if len(body) > CHAT_MAX_BODY:
        raise ValidationError({"body": _("A chat message has at most 2,000 characters.")})
    client_id = client_id.strip()
    problem = _text_problem(client_id, "client_id", "client_id")
    if problem is not None:
        raise problem
    if len(client_id) > CHAT_MAX_CLIENT_ID:
        raise ValidationError(
            {
                "client_id": _("%(field)s: at most %(count)s characters.")
                % {"field": "client_id", "count": CHAT_MAX_CLIENT_ID}
            }
        )
    if client_id:
        existing = ChatMessage.objects.filter(author=author, client_id=client_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            if not client_id:
                # The run's forum row is locked until the message is stored: the same form sent
                # twice at once waits here, then finds the first message.
                Forum.objects.select_for_update().filter(pk=forum.pk).exists()
                same = (
                    ChatMessage.objects.filter(
                        run=run,
                        author=author,
                        body=body,
                        created_at__gte=timezone.now() - SAME_POST_WINDOW,
                    )
                    .order_by("id")
                    .first()
                )
                if same is not None:
                    return same, False
            if _chat_rate_exceeded(author.pk):
                raise ValidationError(
                    {"body": _("You are sending messages too fast; wait a few seconds.")}
                )
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
    if isinstance(fields.get("file"), UploadedFile):
        # the types a forum post may carry, and a content that is what the name says
        check_upload(fields["file"], "file")
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
