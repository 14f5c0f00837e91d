"""The network: forums (per run, per institution, hemisphere-wide topics), live cohort chat, the
knowledge library and the directory of member institutions, with moderation and its audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from courses.models import CourseRun
from lms.accounts.models import Institution, MemberState
from lms.i18n import pick


class Forum(models.Model):
    """A discussion forum: one per course run, one per institution, or a hemisphere-wide topic."""

    class Kind(models.TextChoices):
        RUN = "run", _("Course run")
        INSTITUTION = "institution", _("Institution")
        TOPIC = "topic", _("Hemisphere topic")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    run = models.OneToOneField(
        CourseRun, null=True, blank=True, on_delete=models.CASCADE, related_name="forum"
    )
    institution = models.OneToOneField(
        Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="forum"
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.JSONField(_("title"), default=dict)
    description = models.JSONField(_("description"), default=dict, blank=True)
    thread_count = models.PositiveIntegerField(default=0)
    last_post_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "slug"]
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="run", run__isnull=False, institution__isnull=True)
                    | models.Q(kind="institution", institution__isnull=False, run__isnull=True)
                    | models.Q(kind="topic", run__isnull=True, institution__isnull=True)
                ),
                name="forum_scope_matches_kind",
            )
        ]

    def __str__(self) -> str:
        return str(pick(self.title) or self.slug)


class Thread(models.Model):
    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="threads")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    last_post_at = models.DateTimeField(default=timezone.now)
    reply_count = models.PositiveIntegerField(default=0)
    is_locked = models.BooleanField(_("locked"), default=False)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-last_post_at"]
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        indexes = [
            models.Index(fields=["forum", "is_hidden", "-last_post_at"]),
            GinIndex(fields=["search_vector"], name="community_thread_search"),
        ]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"), help_text=_("Sanitised HTML."))
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(_("hidden"), default=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} in {self.thread_id}"


class PostAttachment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attachments")
    # indexed: lms.media finds the attachment of a requested file by its name
    file = models.FileField(
        _("attachment"), upload_to="community/attachments/%Y/%m/", db_index=True
    )
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField(default=0)


class Mention(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="mention_unique")]


class Subscription(models.Model):
    """A person follows a thread or a whole forum and gets new posts in an email digest."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_subscriptions"
    )
    forum = models.ForeignKey(
        Forum, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_digest_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "forum", "thread"], name="subscription_unique", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=models.Q(forum__isnull=False) | models.Q(thread__isnull=False),
                name="subscription_has_target",
            ),
        ]
        indexes = [models.Index(fields=["last_digest_at"])]


class Report(models.Model):
    """A member flags a post or chat message for moderators."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("report", "Open")
        ACTIONED = "actioned", _("Actioned")
        DISMISSED = "dismissed", _("Dismissed")

    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    chat_message = models.ForeignKey(
        "ChatMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # a person reports a post once (a second report is the first one)
            models.UniqueConstraint(
                fields=["post", "reporter"],
                condition=models.Q(post__isnull=False),
                name="report_post_once_per_reporter",
            )
        ]


class Ban(models.Model):
    """A person banned from posting in one forum (and its chat), or everywhere when forum is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_bans"
    )
    forum = models.ForeignKey(
        Forum, null=True, blank=True, on_delete=models.CASCADE, related_name="bans"
    )
    reason = models.CharField(_("reason"), max_length=500)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "forum"])]


class ModerationAction(models.Model):
    """The audit trail: every moderation step, who, when, why."""

    class Action(models.TextChoices):
        HIDE_POST = "hide_post", _("Hid a post")
        SHOW_POST = "show_post", _("Restored a post")
        LOCK_THREAD = "lock_thread", _("Locked a thread")
        UNLOCK_THREAD = "unlock_thread", _("Unlocked a thread")
        HIDE_THREAD = "hide_thread", _("Hid a thread")
        BAN = "ban", _("Banned a member")
        HIDE_CHAT = "hide_chat", _("Hid a chat message")
        DISMISS_REPORT = "dismiss_report", _("Dismissed a report")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    forum = models.ForeignKey(
        Forum, null=True, on_delete=models.SET_NULL, related_name="moderation_actions"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chat_message = models.ForeignKey(
        "ChatMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["forum", "-at"])]


class ChatMessage(models.Model):
    """A message of a cohort's live chat, stored so history and reconnects lose nothing."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="chat_messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=2000)
    client_id = models.CharField(
        max_length=64, blank=True, help_text=_("Sent by the browser to make resending idempotent.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    is_hidden = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=~models.Q(client_id=""),
                name="chat_message_idempotent",
            )
        ]


class Theme(models.Model):
    """A theme of the knowledge library, e.g. community policing."""

    slug = models.SlugField(unique=True)
    name = models.JSONField(_("name"), default=dict)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return str(pick(self.name) or self.slug)


SEARCH_CONFIGS = {"en": "english", "es": "spanish", "pt": "portuguese", "fr": "french"}


class LibraryItem(models.Model):
    """A publication, best practice, news item, video or blog post of the knowledge library."""

    class Kind(models.TextChoices):
        PUBLICATION = "publication", _("Publication")
        BEST_PRACTICE = "best_practice", _("Best practice")
        NEWS = "news", _("News")
        VIDEO = "video", _("Video")
        BLOG = "blog", _("Blog post")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")

    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=250)
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(_("text"), blank=True, help_text=_("Sanitised HTML."))
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    themes = models.ManyToManyField(
        Theme, blank=True, related_name="items", verbose_name=_("themes")
    )
    member_states = models.ManyToManyField(
        MemberState, blank=True, related_name="library_items", verbose_name=_("member states")
    )
    file = models.FileField(_("file"), upload_to="library/%Y/", blank=True)
    link = models.URLField(_("link"), blank=True)
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.SET_NULL, related_name="library_items"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("library item")
        verbose_name_plural = _("library items")
        indexes = [
            models.Index(fields=["status", "language", "-published_at"]),
            GinIndex(fields=["search_vector"], name="community_library_search"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def search_config(self) -> str:
        return SEARCH_CONFIGS.get(self.language, "simple")


class InstitutionProfile(models.Model):
    """What the directory shows of a member institution."""

    institution = models.OneToOneField(
        Institution, on_delete=models.CASCADE, related_name="profile"
    )
    description = models.JSONField(_("description"), default=dict, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)

    def __str__(self) -> str:
        return str(self.institution)


class QualityCertification(models.Model):
    """A quality-management certification held by an institution, e.g. ISO 9001 for a process."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="quality_certifications"
    )
    standard = models.CharField(_("standard"), max_length=100)
    scope = models.CharField(_("scope"), max_length=300)
    certified_on = models.DateField(_("certified on"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["institution", "standard"]

    def __str__(self) -> str:
        return f"{self.standard} · {self.scope}"


class ChatPresence(models.Model):
    """One open chat connection; who is online is the distinct people with a recent connection."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["run", "last_seen"])]
