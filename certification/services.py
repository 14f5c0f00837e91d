"""Writes of the certification app: issuing (exactly once per learner and run, or program),
revoking, renewing, reminding before expiry, and bulk issuance of a run."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certification import codes, credentials, rendering, signals
from certification.models import BulkIssuance, Certificate, CertificateEvent, CertificateTemplate
from certification.selectors import holder_for, sheet_for, template_for, verify_url
from courses.models import Enrollment, Program, ProgramCourse

logger = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f0e5d1c-8f57-4b0e-9d35-3f4ad1c2b7a9")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _free_status_index() -> int:
    """A random unused bit of the status list (random so the list does not reveal issue order)."""
    candidates = [secrets.randbelow(credentials.STATUS_LIST_BITS) for _ in range(8)]
    taken = set(
        Certificate.objects.filter(status_index__in=candidates).values_list(
            "status_index", flat=True
        )
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    return _free_status_index()


def _language_for(user: Any, fallback: str) -> str:
    language = (getattr(user, "preferred_language", "") or fallback or "es")[:2]
    return language if language in settings.LANGUAGE_CODES else "es"


def _save_new(certificate: Certificate) -> None:
    """Insert with fresh random code and status index, retrying on their (rare) collisions; a
    collision on learner and run (another worker won) is re-raised."""
    for _attempt in range(5):
        certificate.code = codes.new_code()
        certificate.status_index = _free_status_index()
        try:
            with transaction.atomic():
                certificate.save(force_insert=True)
            return
        except IntegrityError as exc:
            if "certificate_unique_user" in str(exc):
                raise
    raise IntegrityError("could not allocate a unique verification code")


def _finish(certificate: Certificate, *, actor: Any, note: str) -> None:
    """Render, sign, store, credential, audit, xAPI: everything in the caller's transaction,
    then tell the other apps once it is committed."""
    key, sheet = sheet_for(certificate)
    pdf = rendering.signed_pdf(key, sheet, holder_for(certificate))
    certificate.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    certificate.pdf.save(f"{certificate.id}.pdf", ContentFile(pdf), save=False)
    certificate.credential = build_credential(certificate)
    certificate.save(update_fields=["pdf", "pdf_sha256", "credential"])
    CertificateEvent.objects.create(
        certificate=certificate, action=CertificateEvent.Action.ISSUED, actor=actor, note=note
    )
    _emit_earned(certificate)
    transaction.on_commit(
        lambda: signals.certificate_issued.send(sender=Certificate, certificate=certificate)
    )


def build_credential(certificate: Certificate) -> dict[str, Any]:
    """The signed Open Badges 3.0 credential of a certificate."""
    language = certificate.language
    with translation.override(language):
        criteria = (
            _("Completed all the courses of the program.")
            if certificate.kind == Certificate.Kind.PROGRAM
            else _("Met the completion rules of the course.")
        )
    institution = certificate.issuing_institution
    return credentials.open_badge_credential(
        certificate_id=str(certificate.id),
        holder_name=certificate.holder_name,
        holder_email=certificate.user.email,
        title=certificate.title_in(language),
        description=certificate.title_in(language),
        criteria=criteria,
        issued_at=certificate.issued_at,
        expires_on=(
            datetime.combine(certificate.expires_on, time.max, tzinfo=UTC)
            if certificate.expires_on
            else None
        ),
        issuer_name=institution.name if institution else "Police Training Network",
        status_index=certificate.status_index,
        verify_url=verify_url(certificate.code),
        credit_hours=str(certificate.credit_hours),
        language=language,
    )


def _emit_earned(certificate: Certificate) -> None:
    from lms.xapi.emit import activity_iri, emit

    emit(
        actor=certificate.user,
        verb="earned",
        activity_id=activity_iri("certificate", certificate.id),
        activity_name=certificate.title,
        activity_type="https://w3id.org/xapi/tla/activity-types/credential",
        registration=certificate.enrollment.registration if certificate.enrollment else None,
        result={"completion": True, "success": True},
        statement_id=uuid.uuid5(NAMESPACE, f"certificate-earned:{certificate.id}"),
    )


def _accreditation_snapshot(version_id: int, on: date) -> tuple[dict[str, Any], int | None, str]:
    from accreditation.selectors import accreditation_in_force

    statement = accreditation_in_force(course_version_id=version_id, on=on)
    if statement is None:
        return {}, None, ""
    snapshot = {
        "reference": statement.reference,
        "credit_hours": str(statement.credit_hours),
        "ects_credits": str(statement.ects_credits) if statement.ects_credits is not None else "",
        "ceu": str(statement.ceu) if statement.ceu is not None else "",
        "level": statement.level,
        "valid_until": statement.valid_until.isoformat(),
        "conditions": statement.conditions,
        "quality_assurance": statement.quality_assurance,
    }
    return snapshot, statement.university_id, statement.university_name


def _renewable(user_id: int, refresher_course_id: int) -> Certificate | None:
    """The learner's latest unrevoked certificate that this refresher course renews."""
    course_ids = CertificateTemplate.objects.filter(
        refresher_course_id=refresher_course_id, course__isnull=False
    ).values_list("course_id", flat=True)
    return (
        Certificate.objects.filter(
            user_id=user_id, course_id__in=list(course_ids), revoked_at__isnull=True
        )
        .order_by("-issued_at")
        .first()
    )


def issue_course_certificate(*, enrollment_id: int, actor: Any = None) -> Certificate | None:
    """Issue the certificate of a completed enrolment, exactly once.

    Racing callers are serialised by a lock on the enrolment row and, should that be bypassed,
    by the unique constraint on (learner, run): every caller gets the same certificate back.
    Nothing is committed until the PDF is signed and stored, so a worker that dies half way
    leaves nothing behind and the retried task starts again. None when the enrolment is not
    completed.
    """
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related(
                "user",
                "run__course",
                "run__host_institution__member_state",
                "version",
            )
            .get(pk=enrollment_id)
        )
        if enrollment.status != Enrollment.Status.COMPLETED:
            return None
        existing = Certificate.objects.filter(
            user_id=enrollment.user_id, run_id=enrollment.run_id
        ).first()
        if existing is not None:
            return existing
        run = enrollment.run
        user = enrollment.user
        now = timezone.now()
        renews = _renewable(user.pk, run.course_id)
        course = renews.course if renews is not None and renews.course else run.course
        template = template_for(course_id=course.pk)
        snapshot, university_id, university_name = _accreditation_snapshot(
            enrollment.version_id, now.date()
        )
        certificate = Certificate(
            kind=Certificate.Kind.COURSE,
            user=user,
            enrollment=enrollment,
            run=run,
            course=course,
            institution_id=enrollment.institution_id or user.institution_id,
            issuing_institution=run.host_institution or course.owner_institution,
            university_id=university_id,
            language=_language_for(user, run.language),
            holder_name=user.full_name,
            title=course.title or {course.default_language: course.code},
            credit_hours=Decimal(snapshot["credit_hours"])
            if snapshot.get("credit_hours")
            else course.credit_hours,
            university_name=university_name,
            accreditation=snapshot,
            issued_at=now,
            expires_on=(
                _add_years(now.date(), template.validity_years) if template.validity_years else None
            ),
            renewal_of=renews,
        )
        try:
            _save_new(certificate)
        except IntegrityError:
            return Certificate.objects.get(user_id=enrollment.user_id, run_id=enrollment.run_id)
        _finish(
            certificate,
            actor=actor,
            note=f"renews {renews.code}" if renews is not None else "",
        )
        if renews is not None:
            CertificateEvent.objects.create(
                certificate=renews,
                action=CertificateEvent.Action.RENEWED,
                actor=actor,
                note=certificate.code,
            )
        user_id = user.pk
        course_id = run.course_id
        transaction.on_commit(lambda: _queue_program_check(user_id, course_id))
    return certificate


def _queue_program_check(user_id: int, course_id: int) -> None:
    from certification.tasks import issue_program_certificates_task

    program_ids = list(
        ProgramCourse.objects.filter(course_id=course_id).values_list("program_id", flat=True)
    )
    for program_id in program_ids:
        issue_program_certificates_task.delay(user_id, program_id)


def issue_program_certificate(*, user_id: int, program_id: int) -> Certificate | None:
    """Issue the program certificate once the learner has completed every required course of
    the program (exactly once, like course certificates). None while courses are missing."""
    with transaction.atomic():
        program = (
            Program.objects.select_for_update(of=("self",))
            .select_related("owner_institution__member_state")
            .get(pk=program_id)
        )
        existing = Certificate.objects.filter(
            user_id=user_id, program_id=program_id, kind=Certificate.Kind.PROGRAM
        ).first()
        if existing is not None:
            return existing
        required = list(
            ProgramCourse.objects.filter(program=program, required=True).select_related("course")
        )
        if not required:
            return None
        completed = dict(
            Enrollment.objects.filter(
                user_id=user_id,
                status=Enrollment.Status.COMPLETED,
                run__course_id__in=[row.course_id for row in required],
            ).values_list("run__course_id", "run__host_institution_id")
        )
        if any(row.course_id not in completed for row in required):
            return None
        from lms.accounts.models import User

        user = User.objects.get(pk=user_id)
        template = template_for(program_id=program_id)
        now = timezone.now()
        certificate = Certificate(
            kind=Certificate.Kind.PROGRAM,
            user=user,
            program=program,
            institution_id=user.institution_id,
            issuing_institution=program.owner_institution,
            language=_language_for(user, program.default_language),
            holder_name=user.full_name,
            title=program.title or {program.default_language: program.code},
            credit_hours=sum((row.course.credit_hours for row in required), Decimal(0)),
            issued_at=now,
            expires_on=(
                _add_years(now.date(), template.validity_years) if template.validity_years else None
            ),
        )
        try:
            _save_new(certificate)
        except IntegrityError:
            return Certificate.objects.get(
                user_id=user_id, program_id=program_id, kind=Certificate.Kind.PROGRAM
            )
        _finish(certificate, actor=None, note="")
    return certificate


def revoke_certificate(*, certificate: Certificate, actor: Any, reason: str) -> Certificate:
    """Revoke with a reason (audited); the status list and verification page show it at once."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.revocation_reason = reason[:500]
        locked.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
        CertificateEvent.objects.create(
            certificate=locked, action=CertificateEvent.Action.REVOKED, actor=actor, note=reason
        )
        transaction.on_commit(
            lambda: signals.certificate_revoked.send(sender=Certificate, certificate=locked)
        )
    return locked


def send_expiry_reminders(*, on: date | None = None) -> int:
    """Email the holders of certificates that lapse within their template's reminder window,
    once per certificate, pointing at the refresher course. Returns how many were sent."""
    from certification.selectors import expiring_certificates

    on = on or timezone.localdate()
    window = int(getattr(settings, "CERTIFICATION_REMINDER_MAX_DAYS", 90))
    sent = 0
    for certificate in expiring_certificates(on=on, within_days=window).iterator(chunk_size=500):
        template = template_for(course_id=certificate.course_id, program_id=certificate.program_id)
        if certificate.expires_on is None or certificate.expires_on > on + timedelta(
            days=template.reminder_days
        ):
            continue
        with transaction.atomic():
            claimed = Certificate.objects.filter(
                pk=certificate.pk, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=timezone.now())
            if not claimed:
                continue
            CertificateEvent.objects.create(
                certificate=certificate, action=CertificateEvent.Action.REMINDED
            )
        with translation.override(certificate.language):
            refresher = template.refresher_course
            body = _("Your certificate %(title)s (%(code)s) expires on %(date)s.") % {
                "title": certificate.title_in(certificate.language),
                "code": codes.display_code(certificate.code),
                "date": certificate.expires_on.isoformat(),
            }
            if refresher is not None:
                body += " " + _("Renew it by completing the refresher course %(course)s.") % {
                    "course": refresher.localized_title(certificate.language)
                }
            send_mail(
                _("Your certificate expires soon"),
                body,
                None,
                [certificate.user.email],
            )
        sent += 1
    return sent


# Bulk issuance ---------------------------------------------------------------------------------


def start_bulk_issuance(*, run: Any, actor: Any) -> BulkIssuance:
    """Create a bulk issuance job for a run and queue it once committed."""
    with transaction.atomic():
        job = BulkIssuance.objects.create(run=run, requested_by=actor)
        job_id = job.pk
        transaction.on_commit(lambda: _queue_bulk(job_id))
    return job


def resume_bulk_issuance(*, job: BulkIssuance) -> BulkIssuance:
    """Queue a failed or interrupted job again: it carries on with the learners still missing a
    certificate (issuing is idempotent, so nothing is issued twice)."""
    BulkIssuance.objects.filter(pk=job.pk).update(state=BulkIssuance.State.QUEUED, error="")
    job_id = job.pk
    transaction.on_commit(lambda: _queue_bulk(job_id))
    job.refresh_from_db()
    return job


def _queue_bulk(job_id: uuid.UUID) -> None:
    from certification.tasks import bulk_issue_task

    bulk_issue_task.delay(str(job_id))


def bulk_group(job_id: uuid.UUID | str) -> str:
    """The channel-layer group that receives a job's progress."""
    return f"certification.bulk.{job_id}"


def job_message(job: BulkIssuance) -> dict[str, Any]:
    return {
        "type": "bulk.progress",
        "job": str(job.pk),
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "issued": job.issued,
        "already": job.already,
        "percent": job.percent,
        "error": job.error,
    }


def publish_progress(job: BulkIssuance) -> None:
    """Send the job's progress to the WebSocket clients watching it."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(bulk_group(job.pk), job_message(job))


def run_bulk_issuance(*, job_id: uuid.UUID | str, batch_size: int = 50) -> BulkIssuance:
    """Issue the certificates of every completed learner of the job's run that has none yet,
    publishing progress after each batch. Safe to run again after a failure."""
    job = BulkIssuance.objects.select_related("run").get(pk=job_id)
    completed = Enrollment.objects.filter(run_id=job.run_id, status=Enrollment.Status.COMPLETED)
    missing = completed.exclude(
        user_id__in=Certificate.objects.filter(run_id=job.run_id).values("user_id")
    )
    total = completed.count()
    pending = list(missing.order_by("pk").values_list("pk", flat=True))
    BulkIssuance.objects.filter(pk=job.pk).update(
        state=BulkIssuance.State.RUNNING, total=total, already=total - len(pending), issued=0
    )
    job.refresh_from_db()
    publish_progress(job)
    try:
        for start in range(0, len(pending), batch_size):
            issued = 0
            for enrollment_id in pending[start : start + batch_size]:
                if issue_course_certificate(enrollment_id=enrollment_id, actor=job.requested_by):
                    issued += 1
            job.issued += issued
            BulkIssuance.objects.filter(pk=job.pk).update(issued=job.issued)
            publish_progress(job)
    except Exception as exc:
        job.state = BulkIssuance.State.FAILED
        job.error = str(exc)[:500]
        BulkIssuance.objects.filter(pk=job.pk).update(state=job.state, error=job.error)
        publish_progress(job)
        raise
    job.state = BulkIssuance.State.DONE
    BulkIssuance.objects.filter(pk=job.pk).update(state=job.state)
    publish_progress(job)
    return job
