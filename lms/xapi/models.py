"""Storage of the Learning Record Store: statements, attachments, documents, clients, forwarding.

A statement is kept whole (JSONB on PostgreSQL) with the values every query filters on copied into
indexed columns, so that a query never has to look inside the JSON of 100 million rows.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LRSClient(models.Model):
    """A system that talks to the LRS with HTTP Basic (a content package, an institution's LRS)."""

    class Scope(models.TextChoices):
        OWN = "own", _("Its own statements")
        INSTITUTION = "institution", _("All statements of its institution")

    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(_("key"), max_length=64, unique=True, editable=False)
    secret_hash = models.CharField(max_length=256, editable=False)
    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.PROTECT,
        related_name="lrs_clients",
        verbose_name=_("institution"),
    )
    scope = models.CharField(_("reading scope"), max_length=12, choices=Scope.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("LRS client")
        verbose_name_plural = _("LRS clients")
        ordering = ["name"]
        indexes = [models.Index(fields=["institution", "name"])]

    def __str__(self) -> str:
        return self.name

    def check_secret(self, secret: str) -> bool:
        """Whether the secret matches the stored hash."""
        from lms.xapi.services import check_hash

        return check_hash(secret, self.secret_hash)


class LaunchCredential(models.Model):
    """A short-lived credential for one learner and one registration, handed to launched content."""

    key = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=256)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="xapi_launches"
    )
    registration = models.UUIDField()
    activity_id = models.CharField(max_length=2048)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("launch credential")
        verbose_name_plural = _("launch credentials")


class Statement(models.Model):
    """One stored statement; `data` is the statement exactly as the LRS returns it."""

    statement_id = models.UUIDField(unique=True)
    data = models.JSONField()
    # Extracted for queries: "mbox:mailto:a@b", "account:https://home|name", ...
    actor_key = models.CharField(max_length=512)
    verb_id = models.CharField(max_length=512)
    activity_id = models.CharField(max_length=2048, blank=True, default="")
    registration = models.UUIDField(null=True, blank=True)
    # Every activity and agent the statement mentions, for related_activities/related_agents.
    related_activities = models.JSONField(default=list)
    related_agents = models.JSONField(default=list)
    timestamp = models.DateTimeField()
    stored = models.DateTimeField()
    voided = models.BooleanField(default=False)
    # A voiding statement names its target here (the target is then marked voided). Not indexed:
    # no query filters on it (the target is found by statement_id), and an index costs every insert.
    voids = models.UUIDField(null=True, blank=True)
    # The statement any StatementRef object points at (voiding or not): a query matching a
    # statement also returns the statements that target it (xAPI 1.0.3 Communication 2.1.4).
    object_ref = models.UUIDField(null=True, blank=True)
    # No single-column indexes on these keys: (institution, stored) and (client, stored) below
    # serve their lookups, and each index costs every insert (see docs/performance/xapi_storage.md).
    institution = models.ForeignKey(
        "accounts.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    client = models.ForeignKey(
        LRSClient,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The learner the statement was emitted for or launched by (platform and launch credentials);
    # indexed for the SET NULL that deleting a user runs.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    has_attachments = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        indexes = [
            # agent + verb + since, newest first: the query that must stay fast at 100M rows.
            models.Index(fields=["actor_key", "verb_id", "stored"], name="xapi_st_actor_verb"),
            models.Index(fields=["activity_id", "stored"], name="xapi_st_activity"),
            models.Index(fields=["verb_id", "stored"], name="xapi_st_verb"),
            models.Index(fields=["registration", "stored"], name="xapi_st_registration"),
            models.Index(fields=["institution", "stored"], name="xapi_st_institution"),
            models.Index(fields=["client", "stored"], name="xapi_st_client"),
            models.Index(
                fields=["object_ref"],
                name="xapi_st_object_ref",
                condition=models.Q(object_ref__isnull=False),
            ),
            # BRIN on stored and GIN on the related lists: PostgreSQL only, see 0002.
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class Attachment(models.Model):
    """The raw bytes of an attachment, shared by every statement naming the same SHA-2."""

    sha2 = models.CharField(max_length=128, primary_key=True)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class Document(models.Model):
    """A State, Activity Profile or Agent Profile document.

    Documents live in spaces: an institution's shared space (`client` empty: its
    institution-scope clients, its learners' sessions and launched content), and one space of
    its own for each "own"-scope client, which reads and writes only the documents it wrote
    (lms.xapi.documents)."""

    class Kind(models.TextChoices):
        STATE = "state", _("State")
        ACTIVITY_PROFILE = "activity_profile", _("Activity profile")
        AGENT_PROFILE = "agent_profile", _("Agent profile")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    document_id = models.CharField(max_length=1024)
    activity_id = models.CharField(max_length=2048, blank=True, default="")
    agent_key = models.CharField(max_length=512, blank=True, default="")
    registration = models.UUIDField(null=True, blank=True)
    content = models.BinaryField()
    content_type = models.CharField(max_length=255)
    etag = models.CharField(max_length=64)
    updated = models.DateTimeField(default=timezone.now)
    institution = models.ForeignKey(
        "accounts.Institution", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The "own"-scope client whose space the document is in; empty: the institution's space.
    # Not indexed by itself: lookups go through the unique constraint's index, and deleting a
    # client (its documents with it) is rare.
    client = models.ForeignKey(
        LRSClient,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "institution",
                    "activity_id",
                    "agent_key",
                    "registration",
                    "document_id",
                    "client",
                ],
                name="xapi_document_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "institution", "activity_id", "agent_key", "updated"],
                name="xapi_doc_lookup",
            )
        ]

    @property
    def is_json(self) -> bool:
        return self.content_type.split(";")[0].strip() == "application/json"


class ForwardingTarget(models.Model):
    """An institution's own external LRS, to which its statements are copied."""

    institution = models.OneToOneField(
        "accounts.Institution",
        on_delete=models.CASCADE,
        related_name="xapi_forwarding",
        verbose_name=_("institution"),
    )
    endpoint = models.URLField(_("endpoint"), max_length=500)
    username = models.CharField(_("username"), max_length=200)
    password = models.CharField(_("password"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("forwarding target")
        verbose_name_plural = _("forwarding targets")

    def __str__(self) -> str:
        return self.endpoint


class ForwardingFailure(models.Model):
    """Statements that could not be forwarded after every retry; an admin action retries them."""

    target = models.ForeignKey(ForwardingTarget, on_delete=models.CASCADE, related_name="failures")
    statement_ids = models.JSONField(default=list)
    error = models.TextField(_("error"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("forwarding failure")
        verbose_name_plural = _("forwarding failures")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.target} ({len(self.statement_ids)})"


def new_key() -> str:
    """A random public key for a client or launch."""
    return uuid.uuid4().hex


def agent_key(agent: dict[str, Any]) -> str:
    """The identity of an agent as one string (the inverse functional identifier)."""
    if agent.get("mbox"):
        return "mbox:" + str(agent["mbox"]).lower()
    if agent.get("mbox_sha1sum"):
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if agent.get("openid"):
        return "openid:" + str(agent["openid"])
    account = agent.get("account") or {}
    if account:
        return f"account:{account.get('homePage', '')}|{account.get('name', '')}"
    return ""
