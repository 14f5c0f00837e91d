"""Accreditation of course versions by partner universities: the request a course owner submits,
its review (reviewers, comments, submissions, transitions), the decision and its conditions.

Every status change goes through accreditation.services, which records a Transition row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from courses.models import CourseVersion
from lms.accounts.models import Institution, University


class AccreditationRequest(models.Model):
    """A course owner's request that a university accredit one version of a course."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_CONDITIONS = "approved_conditions", _("Approved with conditions")
        REJECTED = "rejected", pgettext_lazy("accreditation request", "Rejected")
        WITHDRAWN = "withdrawn", pgettext_lazy("accreditation request", "Withdrawn")

    class Framework(models.TextChoices):
        EQF = "EQF", _("European Qualifications Framework (EQF)")
        NATIONAL = "national", _("National qualifications framework")

    class DeliveryMode(models.TextChoices):
        ONSITE = "onsite", _("On-site")
        VIRTUAL = "virtual", _("Virtual self-paced")
        BLENDED = "blended", _("Blended")

    course_version = models.ForeignKey(
        CourseVersion,
        on_delete=models.PROTECT,
        related_name="accreditation_requests",
        verbose_name=_("course version"),
    )
    university = models.ForeignKey(
        University,
        on_delete=models.PROTECT,
        related_name="accreditation_requests",
        verbose_name=_("university"),
    )
    owner_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accreditation_requests",
        verbose_name=_("owner institution"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("prepared by"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # The dossier.
    syllabus = models.JSONField(
        _("syllabus"),
        default=list,
        blank=True,
        help_text=_("[{module, sessions: [{title, hours}]}]"),
    )
    learning_outcomes = models.JSONField(_("learning outcomes"), default=list, blank=True)
    framework = models.CharField(
        _("qualifications framework"),
        max_length=10,
        choices=Framework.choices,
        default=Framework.EQF,
    )
    framework_name = models.CharField(
        _("name of the national framework"), max_length=120, blank=True
    )
    level = models.CharField(_("level"), max_length=20, blank=True)
    contact_hours = models.DecimalField(
        _("contact hours"), max_digits=6, decimal_places=1, default=Decimal("0")
    )
    self_study_hours = models.DecimalField(
        _("self-study hours"), max_digits=6, decimal_places=1, default=Decimal("0")
    )
    delivery_mode = models.CharField(
        _("delivery mode"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.ONSITE
    )
    assessment_methods = models.TextField(_("assessment methods"), blank=True)
    passing_rules = models.TextField(_("passing rules"), blank=True)
    instructors = models.JSONField(
        _("instructors and their qualifications"), default=list, blank=True
    )
    # Review and decision.
    reviewers: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ReviewerAssignment",
        through_fields=("request", "reviewer"),
        related_name="accreditation_reviews",
        blank=True,
    )
    submission_count = models.PositiveIntegerField(_("submissions"), default=0)
    submitted_at = models.DateTimeField(_("last submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_reason = models.TextField(_("reasons"), blank=True)
    reference = models.CharField(_("accreditation reference"), max_length=60, blank=True)
    credit_hours = models.DecimalField(
        _("credit hours"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    ects_hours_per_credit = models.PositiveSmallIntegerField(
        _("workload hours per ECTS credit"),
        default=25,
        validators=[MinValueValidator(25), MaxValueValidator(30)],
    )
    ects_credits = models.DecimalField(
        _("ECTS credits"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    ceu = models.DecimalField(_("CEU"), max_digits=5, decimal_places=1, null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    quality_assurance = models.TextField(_("quality assurance"), blank=True)
    # Set when the course gets a new version after approval (courses' course_version_created).
    rereview_needed = models.BooleanField(_("re-review needed"), default=False)
    rereview_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rereviews",
        verbose_name=_("re-review of"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("accreditation request")
        verbose_name_plural = _("accreditation requests")
        indexes = [
            models.Index(fields=["university", "status"]),
            models.Index(fields=["owner_institution", "status"]),
            models.Index(fields=["course_version", "status", "valid_until"]),
            models.Index(fields=["status", "valid_until"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ects_hours_per_credit__gte=25)
                & models.Q(ects_hours_per_credit__lte=30),
                name="accreditation_ects_divisor_25_30",
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="accreditation_reference_unique",
            ),
            # One request not decided yet per course version and university (OPEN_STATUSES):
            # the same form posted twice made two, both later approved.
            models.UniqueConstraint(
                fields=["course_version", "university"],
                condition=models.Q(
                    status__in=["draft", "submitted", "in_review", "changes_requested"]
                ),
                name="accreditation_one_open_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_version} → {self.university}"

    APPROVED_STATUSES = (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS)
    EDITABLE_STATUSES = (Status.DRAFT, Status.CHANGES_REQUESTED)
    # Not decided yet (the constraint accreditation_one_open_request lists the same).
    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.IN_REVIEW, Status.CHANGES_REQUESTED)

    @property
    def is_editable(self) -> bool:
        """Only a draft, or a request sent back for changes, can be edited; a submitted one is
        frozen."""
        return self.status in self.EDITABLE_STATUSES

    @property
    def is_approved(self) -> bool:
        return self.status in self.APPROVED_STATUSES

    @property
    def level_label(self) -> str:
        if not self.level:
            return ""
        framework = self.framework_name if self.framework == self.Framework.NATIONAL else "EQF"
        return f"{framework} {self.level}".strip()

    @property
    def total_hours(self) -> Decimal:
        return (self.contact_hours or Decimal(0)) + (self.self_study_hours or Decimal(0))


class RequestAttachment(models.Model):
    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to="accreditation/%Y/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "uploaded_at"]


class Submission(models.Model):
    """A snapshot of the dossier each time it is submitted, so every round of review is kept."""

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="submissions"
    )
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="submission_unique_number")
        ]


class ReviewerAssignment(models.Model):
    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="reviewer_assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "reviewer"], name="reviewer_unique")
        ]
        indexes = [models.Index(fields=["reviewer", "request"])]


class Comment(models.Model):
    """The discussion thread of a request, between the submitter side and the reviewers."""

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "created_at"]
        indexes = [models.Index(fields=["request", "created_at"])]


class Transition(models.Model):
    """One step of the state machine: who moved the request from which status to which, when."""

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["request", "at", "pk"]
        indexes = [models.Index(fields=["request", "at"])]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"

    @property
    def to_label(self) -> str:
        return str(AccreditationRequest.Status(self.to_status).label)


class Condition(models.Model):
    """A condition attached to an approval, due by a date."""

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="conditions"
    )
    text = models.TextField(_("condition"))
    due_on = models.DateField(_("due on"))
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["request", "due_on", "pk"]


class ExpiryWarning(models.Model):
    """Records that the owner was warned `days_before` an accreditation expires (sent once)."""

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="expiry_warnings"
    )
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "days_before"], name="expiry_warning_once")
        ]
