"""Certificates: templates per course or program, issued certificates with their verification
code, signed PDF and verifiable credential, their audit trail, and bulk issuance jobs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CourseRun, Enrollment, Program
from lms.accounts.models import Institution, University
from lms.i18n import pick
from lms.jobs import Job


class CertificateTemplate(models.Model):
    """How the certificates of one course or one program look and how long they stay valid."""

    class Layout(models.TextChoices):
        LEARNER_LANGUAGE = "learner", _("In the learner's language")
        BILINGUAL = "bilingual", _("Bilingual")

    course = models.OneToOneField(
        Course,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate_template",
        verbose_name=_("course"),
    )
    program = models.OneToOneField(
        Program,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate_template",
        verbose_name=_("program"),
    )
    layout = models.CharField(
        _("layout"), max_length=10, choices=Layout.choices, default=Layout.LEARNER_LANGUAGE
    )
    second_language = models.CharField(
        _("second language"),
        max_length=2,
        blank=True,
        help_text=_("For bilingual certificates: the language printed under the learner's."),
    )
    signatory_name = models.CharField(_("first signatory"), max_length=200, blank=True)
    signatory_title = models.JSONField(_("first signatory's title"), default=dict, blank=True)
    signature_image = models.ImageField(
        _("first signature image"), upload_to="certification/signatures/", blank=True
    )
    second_signatory_name = models.CharField(_("second signatory"), max_length=200, blank=True)
    second_signatory_title = models.JSONField(
        _("second signatory's title"), default=dict, blank=True
    )
    second_signature_image = models.ImageField(
        _("second signature image"), upload_to="certification/signatures/", blank=True
    )
    assessment_type = models.JSONField(
        _("assessment type"),
        default=dict,
        blank=True,
        help_text=_("{language: text}, for example a written exam and an on-site evaluation."),
    )
    validity_years = models.PositiveSmallIntegerField(
        _("valid for (years)"), null=True, blank=True, help_text=_("Empty: never expires.")
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("remind the holder this many days before expiry"), default=60
    )
    refresher_course = models.ForeignKey(
        Course,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refresher_for_templates",
        verbose_name=_("refresher course"),
        help_text=_("Completing it renews an expiring or expired certificate of this course."),
    )

    class Meta:
        verbose_name = _("certificate template")
        verbose_name_plural = _("certificate templates")
        constraints = [
            models.CheckConstraint(
                condition=Q(course__isnull=False, program__isnull=True)
                | Q(course__isnull=True, program__isnull=False),
                name="certificate_template_course_xor_program",
            )
        ]

    def __str__(self) -> str:
        return str(self.course or self.program)


class Certificate(models.Model):
    """One certificate: a learner's achievement of a course run or of a whole program.

    The printed facts are copied here when issued, so a later edit of the course or of the
    accreditation never changes what a certificate says.
    """

    class Kind(models.TextChoices):
        COURSE = "course", _("Course")
        PROGRAM = "program", _("Program")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("verification code"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.COURSE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("holder"),
    )
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    run = models.ForeignKey(
        CourseRun, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    # The learner's institution (coordinators of it see the certificate) and the institution
    # that issued it (its coordinators may revoke it).
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issuing_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_certificates",
    )
    university = models.ForeignKey(
        University, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    language = models.CharField(_("language"), max_length=2, default="es")
    holder_name = models.CharField(_("holder"), max_length=200)
    title = models.JSONField(_("title"), default=dict)
    credit_hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1, default=0)
    university_name = models.CharField(_("accrediting university"), max_length=200, blank=True)
    accreditation = models.JSONField(_("accreditation statement"), default=dict, blank=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revocation_reason = models.CharField(_("reason for revocation"), max_length=500, blank=True)
    # The bit of this certificate in the published Bitstring Status List (random, not the order
    # of issue, so the list does not reveal who was certified when).
    status_index = models.PositiveIntegerField(unique=True)
    renewal_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals"
    )
    pdf = models.FileField(_("PDF"), upload_to="certification/pdf/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    credential = models.JSONField(_("verifiable credential"), default=dict, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            # Exactly one certificate per learner and course run, and per learner and program.
            models.UniqueConstraint(
                fields=["user", "run"],
                condition=Q(run__isnull=False),
                name="certificate_unique_user_run",
            ),
            models.UniqueConstraint(
                fields=["user", "program"],
                condition=Q(kind="program"),
                name="certificate_unique_user_program",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-issued_at"]),
            models.Index(fields=["run", "-issued_at"]),
            models.Index(fields=["institution", "-issued_at"]),
            models.Index(fields=["issuing_institution", "-issued_at"]),
            models.Index(fields=["university", "-issued_at"]),
            models.Index(
                fields=["expires_on"], condition=Q(revoked_at__isnull=True), name="cert_expiry_idx"
            ),
            models.Index(
                fields=["status_index"],
                condition=Q(revoked_at__isnull=False),
                name="cert_revoked_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def title_in(self, language: str | None = None) -> str:
        return str(pick(self.title, language, self.language))

    def status_on(self, day: date | None = None) -> str:
        """valid, expired or revoked on `day` (today by default)."""
        if self.revoked_at is not None:
            return self.Status.REVOKED
        day = day or timezone.localdate()
        if self.expires_on is not None and self.expires_on < day:
            return self.Status.EXPIRED
        return self.Status.VALID

    @property
    def status(self) -> str:
        return self.status_on()

    @property
    def status_label(self) -> Any:
        return self.Status(self.status).label


class CertificateEvent(models.Model):
    """The audit trail of a certificate: issued, revoked, reminded, renewed, with who and when."""

    class Action(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REVOKED = "revoked", _("Revoked")
        REMINDED = "reminded", _("Expiry reminder sent")
        RENEWED = "renewed", _("Renewed")

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["certificate", "at"]
        indexes = [models.Index(fields=["certificate", "at"])]


class BulkIssuance(Job):
    """Issuing a whole run's certificates: progress kept here so a failed job can resume."""

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="bulk_issuances")
    issued = models.PositiveIntegerField(default=0)
    already = models.PositiveIntegerField(default=0)

    COUNTERS = ("issued", "already")

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["run", "-created_at"])]
