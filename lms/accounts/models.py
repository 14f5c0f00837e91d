"""People and organisations: member states, police institutions (a tree), universities, donors,
users and their scoped roles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Concat, Lower, Substr
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

LANGUAGE_CHOICES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt", "Português"),
    ("fr", "Français"),
]


class MemberState(models.Model):
    """One of the 34 OAS member states, loaded by a data migration."""

    code = models.CharField(_("ISO 3166 code"), max_length=2, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_es = models.CharField(_("name (Spanish)"), max_length=100)
    name_pt = models.CharField(_("name (Portuguese)"), max_length=100)
    name_fr = models.CharField(_("name (French)"), max_length=100)
    official_languages = models.JSONField(_("official languages"), default=list)
    # its people's times unless they choose another zone (lms.accounts.zones)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", db_default="UTC")

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("member state")
        verbose_name_plural = _("member states")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        language = (get_language() or "en")[:2]
        return str(getattr(self, f"name_{language}", None) or self.name_en)


class Institution(models.Model):
    """A police institution or one of its units; units form a tree under a top institution.

    `path` is a materialised path ("12/45/") so that "an institution and all its units" is one
    indexed prefix match, whatever the depth. Moving an institution (a new parent) moves its
    whole subtree: every unit below gets the new path prefix and the parent's member state.
    """

    class Kind(models.TextChoices):
        NATIONAL_POLICE = "national_police", _("National police")
        ACADEMY = "academy", _("Police academy")
        MINISTRY = "ministry", _("Ministry or secretariat")
        UNIT = "unit", _("Unit")

    member_state = models.ForeignKey(
        MemberState,
        on_delete=models.PROTECT,
        related_name="institutions",
        verbose_name=_("member state"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent institution"),
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.NATIONAL_POLICE
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    contact_email = models.EmailField(_("contact email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(pgettext_lazy("institution", "active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="institution_unique_name_in_parent"
            ),
        ]
        indexes = [models.Index(fields=["member_state", "parent"])]

    # The path it had before the last save moved it (None when that save did not move it).
    moved_from: str | None = None

    def __str__(self) -> str:
        return self.short_name or self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic(using=kwargs.get("using")):
            # Both rows locked, in id order: two moves at once cannot build a cycle or deadlock.
            first, second = sorted((self.pk or 0, self.parent_id or 0))
            rows = {pk: self._stored_row(pk or None, lock=True) for pk in (first, second)}
            old_path, old_state = rows[self.pk or 0]
            parent_path, parent_state = rows[self.parent_id or 0]
            self._check_parent(old_path, parent_path)
            if parent_state is not None:
                self.member_state_id = parent_state
            new_path = f"{parent_path}{self.pk}/"
            if old_path and (old_path != new_path or old_state != self.member_state_id):
                # The subtree follows in one UPDATE, before this row's post_save: the receiver
                # that forgets cached scopes (lms.accounts.principal) then finds every role
                # holder of the subtree under the new path.
                type(self).objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(models.Value(new_path), Substr("path", len(old_path) + 1)),
                    member_state_id=self.member_state_id,
                )
                update_fields = kwargs.get("update_fields")
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "path", "member_state"}
            # The path it had, for the receivers of post_save (lms.sockets re-checks the
            # dashboards of the coordinators above it before and after the move); None when
            # it did not move.
            self.moved_from = old_path if old_path and old_path != new_path else None
            if old_path:
                self.path = new_path  # also mends a path loaded before a move above it
            super().save(*args, **kwargs)
            expected = f"{parent_path}{self.pk}/"
            if self.path != expected:
                self.path = expected
                type(self).objects.filter(pk=self.pk).update(path=expected)

    def clean(self) -> None:
        super().clean()
        self._check_parent(self._stored_row(self.pk)[0], self._stored_row(self.parent_id)[0])

    @classmethod
    def _stored_row(cls, pk: int | None, *, lock: bool = False) -> tuple[str, int | None]:
        """The path and member state an institution has in the database (read afresh: a
        parent loaded before its own move has a stale path); ("", None) when there is none."""
        if pk is None:
            return "", None
        rows = cls.objects.filter(pk=pk)
        if lock:
            rows = rows.select_for_update()
        row = rows.values_list("path", "member_state_id").first()
        return row if row is not None else ("", None)

    def _check_parent(self, own_path: str, parent_path: str) -> None:
        if self.parent_id is not None and (
            self.parent_id == self.pk or (own_path and parent_path.startswith(own_path))
        ):
            raise ValidationError(
                {"parent": _("An institution cannot be placed under itself or one of its units.")}
            )

    @property
    def root(self) -> Institution:
        """The top institution of this unit's tree."""
        root_id = int(self.path.split("/")[0]) if self.path else self.pk
        return self if root_id == self.pk else Institution.objects.get(pk=root_id)

    def subtree(self) -> models.QuerySet[Institution]:
        """This institution and every unit below it."""
        return Institution.objects.filter(path__startswith=self.path)


class University(models.Model):
    """A partner university that accredits courses and validates certificates."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    member_state = models.ForeignKey(
        MemberState,
        on_delete=models.PROTECT,
        related_name="universities",
        verbose_name=_("member state"),
    )
    is_coordinating = models.BooleanField(
        _("coordinating university"),
        default=False,
        help_text=_("The university that leads the network of partner universities."),
    )
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="universities/", blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("university")
        verbose_name_plural = _("universities")
        constraints = [
            models.UniqueConstraint(
                fields=["is_coordinating"],
                condition=models.Q(is_coordinating=True),
                name="one_coordinating_university",
            )
        ]

    def __str__(self) -> str:
        return self.short_name or self.name


class Donor(models.Model):
    """An organisation that funds programs; its users see only the programs it funds."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    website = models.URLField(_("website"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("donor")
        verbose_name_plural = _("donors")

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        if password:
            # a person given a password here can sign in with it: not an invitation pending
            fields.setdefault("status", User.Status.ACTIVE)
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, status=User.Status.ACTIVE)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: an officer, instructor, coordinator, validator, donor or DPS staff member."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=LANGUAGE_CHOICES, blank=True, default=""
    )
    institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("institution"),
        help_text=_("The top police institution the person belongs to."),
    )
    unit = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="unit_members",
        verbose_name=_("unit"),
    )
    member_state = models.ForeignKey(
        MemberState,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
        verbose_name=_("member state"),
    )
    badge_number = models.CharField(
        _("badge or staff number"), max_length=50, blank=True, default=""
    )
    # The zone the person reads and types times in; blank: their member state's
    # (lms.accounts.zones).
    # db_default: the officer import and the scale seeder write rows in SQL (COPY, INSERT)
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, default="", db_default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.INVITED
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.UniqueConstraint(
                fields=["institution", "badge_number"],
                condition=~models.Q(badge_number=""),
                name="user_badge_unique_in_institution",
            ),
        ]
        indexes = [
            models.Index(fields=["institution", "status"]),
            models.Index(fields=["member_state"]),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        if self.institution_id and not self.member_state_id:
            self.member_state_id = (
                Institution.objects.filter(pk=self.institution_id)
                .values_list("member_state_id", flat=True)
                .first()
            )
        # set_password() leaves the new password here until the save (a rehash at sign-in
        # does not): a new password ends the API tokens of the old one, as it ends sessions.
        password_changed = getattr(self, "_password", None) is not None and self.pk is not None
        super().save(*args, **kwargs)
        if password_changed:
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user_id=self.pk).delete()

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Only suspended people are refused; invited people cannot sign in without a password."""
        return self.status != self.Status.SUSPENDED

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def language(self) -> str:
        return self.preferred_language or settings.LANGUAGE_CODE


class Role(models.TextChoices):
    """Roles a person can hold; each one but DPS administrator has a scope."""

    LEARNER = "learner", _("Learner")
    INSTRUCTOR = "instructor", _("Instructor")
    COORDINATOR = "coordinator", _("Institution coordinator")
    VALIDATOR = "validator", _("University validator")
    DONOR = "donor", _("Donor representative")
    DPS_ADMIN = "dps_admin", _("DPS administrator")


class RoleAssignment(models.Model):
    """A role held by a person within a scope (an institution, a university or a donor)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        verbose_name=_("institution"),
    )
    university = models.ForeignKey(
        University,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        verbose_name=_("university"),
    )
    donor = models.ForeignKey(
        Donor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        verbose_name=_("donor"),
    )
    granted_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "institution", "university", "donor"],
                name="role_assignment_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(role="coordinator", institution__isnull=False)
                    | models.Q(role="validator", university__isnull=False)
                    | models.Q(role="donor", donor__isnull=False)
                    | models.Q(role__in=["learner", "instructor", "dps_admin"])
                ),
                name="role_assignment_has_scope",
            ),
        ]
        indexes = [
            models.Index(fields=["role", "institution"]),
            models.Index(fields=["role", "university"]),
        ]

    def __str__(self) -> str:
        scope = self.institution or self.university or self.donor
        return f"{self.user} · {self.get_role_display()}" + (f" · {scope}" if scope else "")


class Notification(models.Model):
    """A message to one person, shown on the site and sent by email, in their language.

    ``subject`` and ``body`` are the text as sent (the email's, in the recipient's language then);
    ``message`` keeps their untranslated source and parameters, so the site shows the notification
    in the language the person reads now (``shown_subject``, ``shown_body``).
    """

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    message = models.JSONField(_("message source"), default=dict, blank=True)
    created_at = models.DateTimeField(
        pgettext_lazy("notification", "created at"), default=timezone.now
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "read_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.subject

    def shown_subject(self) -> str:
        """The subject in the active language (as sent, for a notification without a source)."""
        from lms.accounts.message_source import render_source

        return render_source(self.message, "subject", self.subject)

    def shown_body(self) -> str:
        """The body in the active language (as sent, for a notification without a source)."""
        from lms.accounts.message_source import render_source

        return render_source(self.message, "body", self.body)
