"""Writes of the certification app: issuing (exactly once per learner and run, or program),
revoking, renewing, reminding before expiry, and bulk issuance of a run."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certification import codes, credentials, rendering, signals
from certification.models import BulkIssuance, Certificate, CertificateEvent, CertificateTemplate
from certification.selectors import holder_for, sheet_for, template_for, verify_url
from courses.models import CourseRun, Enrollment, Program, ProgramCourse

logger = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f0e5d1c-8f57-4b0e-9d35-3f4ad1c2b7a9")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _status_indexes(count: int) -> list[int]:
    """`count` random unused bits of the status list, in one query as a rule (random so the list
    does not reveal issue order)."""
    chosen: list[int] = []
    while len(chosen) < count:
        wanted = count - len(chosen)
        candidates = [
            index
            for index in dict.fromkeys(
                secrets.randbelow(credentials.STATUS_LIST_BITS) for _ in range(2 * wanted + 8)
            )
            if index not in chosen
        ]
        taken = set(
            Certificate.objects.filter(status_index__in=candidates).values_list(
                "status_index", flat=True
            )
        )
        chosen += [index for index in candidates if index not in taken][:wanted]
    return chosen


def _language_for(user: Any, fallback: str) -> str:
    language = (getattr(user, "preferred_language", "") or fallback or "es")[:2]
    return language if language in settings.LANGUAGE_CODES else "es"


def _sheet_key(certificate: Certificate) -> tuple[Any, ...]:
    """What decides a certificate's Sheet (see selectors.sheet_for), to build it once a batch."""
    return (
        certificate.kind,
        certificate.run_id,
        certificate.course_id,
        certificate.program_id,
        certificate.language,
        certificate.university_id,
        str(certificate.credit_hours),
        certificate.expires_on,
        certificate.issued_at.date(),
        json.dumps(certificate.accreditation, sort_keys=True),
        json.dumps(certificate.title, sort_keys=True),
    )


def _unique_key(certificate: Certificate) -> tuple[Any, ...]:
    """The certificate's identity under the unique constraints: learner and run, or program."""
    if certificate.kind == Certificate.Kind.PROGRAM:
        return (certificate.user_id, None, certificate.program_id)
    return (certificate.user_id, certificate.run_id, None)


def _existing_keys(certificates: list[Certificate]) -> set[tuple[Any, ...]]:
    users = {certificate.user_id for certificate in certificates}
    runs = {certificate.run_id for certificate in certificates if certificate.run_id}
    programs = {certificate.program_id for certificate in certificates if certificate.program_id}
    rows = Certificate.objects.filter(user_id__in=users).filter(
        Q(run_id__in=runs) | Q(kind=Certificate.Kind.PROGRAM, program_id__in=programs)
    )
    return {_unique_key(row) for row in rows.only("user_id", "run_id", "program_id", "kind")}


def _render(certificate: Certificate, sheets: dict[tuple[Any, ...], tuple[str, Any]]) -> None:
    """Render, sign and store the PDF of a certificate and sign its credential (not saved)."""
    sheet_key = _sheet_key(certificate)
    if sheet_key not in sheets:
        sheets[sheet_key] = sheet_for(certificate)
    key, sheet = sheets[sheet_key]
    pdf = rendering.signed_pdf(key, sheet, holder_for(certificate))
    certificate.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    certificate.pdf.save(f"{certificate.id}.pdf", ContentFile(pdf), save=False)
    certificate.credential = build_credential(certificate)


def _issue_all(
    certificates: list[Certificate], *, actor: Any, notes: dict[uuid.UUID, str]
) -> list[Certificate]:
    """Issue new certificates together, in the caller's transaction: give each a random code and
    status bit, render, sign and store its PDF, sign its credential, insert them all in one
    statement, then audit and record the xAPI statements; tell the other apps once committed.

    Returns those inserted. A certificate whose learner already has one for that run (or
    program) is left out: the caller fetches the existing one. Rows lost to a code or status bit
    drawn meanwhile by another worker (rare) draw again.
    """
    issued: list[Certificate] = []
    pending = certificates
    sheets: dict[tuple[Any, ...], tuple[str, Any]] = {}
    for _attempt in range(5):
        for certificate, index in zip(pending, _status_indexes(len(pending)), strict=True):
            certificate.code = codes.new_code()
            certificate.status_index = index
            _render(certificate, sheets)
        # ON CONFLICT DO NOTHING: a conflict on any unique constraint skips the row, and the
        # query below tells which rows went in.
        Certificate.objects.bulk_create(pending, ignore_conflicts=True)
        stored = set(
            Certificate.objects.filter(pk__in=[row.pk for row in pending]).values_list(
                "pk", flat=True
            )
        )
        issued += [row for row in pending if row.pk in stored]
        lost = [row for row in pending if row.pk not in stored]
        for row in lost:
            row.pdf.delete(save=False)
        if not lost:
            break
        existing = _existing_keys(lost)
        pending = [row for row in lost if _unique_key(row) not in existing]
        if not pending:
            break
    else:
        raise IntegrityError("could not allocate a unique verification code")
    if not issued:
        return issued
    CertificateEvent.objects.bulk_create(
        CertificateEvent(
            certificate=certificate,
            action=CertificateEvent.Action.ISSUED,
            actor=actor,
            note=notes.get(certificate.pk, ""),
        )
        for certificate in issued
    )
    _emit_earned(issued)
    _notify_holders(issued)
    transaction.on_commit(partial(_announce, issued))
    return issued


def _notify_holders(certificates: list[Certificate]) -> None:
    """Tell each holder their certificate is issued, linking to My certificates: one notify()
    (one insert, emails and pushes once committed) per printed title, so a run's batch costs
    one to a few (one per language of its learners) whatever its size."""
    from lms.accounts.notifications import notify

    holders: dict[str, list[Any]] = {}
    for certificate in certificates:
        holders.setdefault(certificate.title_in(certificate.language), []).append(certificate.user)
    for title, recipients in holders.items():
        notify(
            recipients=recipients,
            subject=gettext_lazy("Certificate issued: %(title)s"),
            body=gettext_lazy(
                "Your certificate of %(title)s has been issued. Download it or share its "
                "verification link from My certificates."
            ),
            params={"title": title},
            url=reverse("certification:my_certificates"),
        )


def _announce(certificates: list[Certificate]) -> None:
    """Tell the other apps, once committed, what this transaction issued (one send a batch).

    The certificates are committed by then: a receiver's failure is logged, not raised, so it
    neither fails the issuing task nor marks a bulk job failed (a retry would find the
    certificates issued and could not tell the receivers again anyway)."""
    for receiver, result in signals.certificates_issued.send_robust(
        sender=Certificate, certificates=certificates
    ):
        if isinstance(result, Exception):
            logger.error(
                "certificates_issued receiver %r failed for %d certificates",
                receiver,
                len(certificates),
                exc_info=result,
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


def _emit_earned(certificates: list[Certificate]) -> None:
    """One xAPI "earned" statement per certificate, all stored in one round trip (a stable id per
    certificate, so recording one twice stores it once)."""
    from lms.xapi.emit import activity_iri, emit_many

    emit_many(
        (
            certificate.user,
            {
                "verb": "earned",
                "activity_id": activity_iri("certificate", certificate.id),
                "activity_name": certificate.title,
                "activity_type": "https://w3id.org/xapi/tla/activity-types/credential",
                "registration": (
                    certificate.enrollment.registration if certificate.enrollment else None
                ),
                "result": {"completion": True, "success": True},
                "statement_id": uuid.uuid5(NAMESPACE, f"certificate-earned:{certificate.id}"),
            },
        )
        for certificate in certificates
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


def _renewals(enrollments: list[Enrollment]) -> dict[tuple[int, int], Certificate]:
    """{(learner, refresher course): the learner's latest unrevoked certificate that completing
    that refresher course renews}, in two queries for a whole batch."""
    renewed_courses: dict[int, set[int]] = {}
    for refresher_id, course_id in CertificateTemplate.objects.filter(
        refresher_course_id__in={enrollment.run.course_id for enrollment in enrollments},
        course__isnull=False,
    ).values_list("refresher_course_id", "course_id"):
        renewed_courses.setdefault(refresher_id, set()).add(course_id)
    if not renewed_courses:
        return {}
    found: dict[tuple[int, int], Certificate] = {}
    candidates = (
        Certificate.objects.filter(
            user_id__in={enrollment.user_id for enrollment in enrollments},
            course_id__in=set().union(*renewed_courses.values()),
            revoked_at__isnull=True,
        )
        .select_related("course")
        .order_by("-issued_at")
    )
    for certificate in candidates:
        for refresher_id, course_ids in renewed_courses.items():
            if certificate.course_id in course_ids:
                found.setdefault((certificate.user_id, refresher_id), certificate)
    return found


def _course_certificate(
    enrollment: Enrollment,
    *,
    now: datetime,
    renews: Certificate | None,
    template: CertificateTemplate,
    accreditation: tuple[dict[str, Any], int | None, str],
) -> Certificate:
    """The unsaved certificate of a completed enrolment, with what it prints copied in."""
    run = enrollment.run
    user = enrollment.user
    course = renews.course if renews is not None and renews.course else run.course
    snapshot, university_id, university_name = accreditation
    return Certificate(
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


def issue_course_certificates(
    *, enrollment_ids: list[int], actor: Any = None, job_id: uuid.UUID | str | None = None
) -> dict[int, Certificate]:
    """Issue the certificates of completed enrolments, exactly once each, in one transaction:
    {enrolment id: its certificate (new or issued before)}; enrolments not completed are left
    out. A bulk job's counter (`job_id`) is advanced in the same transaction.

    Racing callers are serialised by locks on the enrolment rows (taken in id order, so two
    batches never deadlock) and, should that be bypassed, by the unique constraint on (learner,
    run): every caller gets the same certificate back. Nothing is committed until every PDF is
    signed and stored, so a worker that dies half way leaves nothing behind and the retried task
    starts again. What is the same for a whole batch (template, accreditation, renewals, the
    printed page) is read or laid out once.
    """
    with transaction.atomic():
        enrollments = list(
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("user", "run__course", "run__host_institution__member_state")
            .filter(pk__in=enrollment_ids, status=Enrollment.Status.COMPLETED)
            .order_by("pk")
        )
        result, issued = _issue_locked(enrollments, actor=actor)
        if job_id is not None:
            # Last statement of the transaction: the job row stays locked only until commit.
            # Enrolments of the batch no longer completed leave the job's total.
            gone = len(set(enrollment_ids)) - len(enrollments)
            if issued or gone:
                BulkIssuance.objects.filter(pk=job_id).update(
                    issued=F("issued") + issued, total=F("total") - gone
                )
    return result


def _issue_locked(
    enrollments: list[Enrollment], *, actor: Any
) -> tuple[dict[int, Certificate], int]:
    """The body of issue_course_certificates, the enrolments locked: ({enrolment id:
    certificate}, how many were issued now)."""
    existing = {
        (row.user_id, row.run_id): row
        for row in Certificate.objects.filter(
            run_id__in={enrollment.run_id for enrollment in enrollments},
            user_id__in={enrollment.user_id for enrollment in enrollments},
        )
    }
    result = {
        enrollment.pk: existing[(enrollment.user_id, enrollment.run_id)]
        for enrollment in enrollments
        if (enrollment.user_id, enrollment.run_id) in existing
    }
    new = [enrollment for enrollment in enrollments if enrollment.pk not in result]
    if not new:
        return result, 0
    now = timezone.now()
    renewals = _renewals(new)
    templates: dict[int, CertificateTemplate] = {}
    accreditations: dict[int, tuple[dict[str, Any], int | None, str]] = {}
    certificates: dict[int, Certificate] = {}
    for enrollment in new:
        renews = renewals.get((enrollment.user_id, enrollment.run.course_id))
        course_id = renews.course_id if renews and renews.course_id else enrollment.run.course_id
        if course_id not in templates:
            templates[course_id] = template_for(course_id=course_id)
        if enrollment.version_id not in accreditations:
            accreditations[enrollment.version_id] = _accreditation_snapshot(
                enrollment.version_id, now.date()
            )
        certificates[enrollment.pk] = _course_certificate(
            enrollment,
            now=now,
            renews=renews,
            template=templates[course_id],
            accreditation=accreditations[enrollment.version_id],
        )
    notes = {
        certificate.pk: f"renews {certificate.renewal_of.code}"
        for certificate in certificates.values()
        if certificate.renewal_of is not None
    }
    issued = {
        certificate.pk
        for certificate in _issue_all(list(certificates.values()), actor=actor, notes=notes)
    }
    CertificateEvent.objects.bulk_create(
        CertificateEvent(
            certificate=certificate.renewal_of,
            action=CertificateEvent.Action.RENEWED,
            actor=actor,
            note=certificate.code,
        )
        for certificate in certificates.values()
        if certificate.renewal_of is not None and certificate.pk in issued
    )
    result.update(
        {
            enrollment_id: certificate
            for enrollment_id, certificate in certificates.items()
            if certificate.pk in issued
        }
    )
    lost = [enrollment for enrollment in new if enrollment.pk not in result]
    if lost:  # issued meanwhile by a caller that bypassed the locks
        winners = {
            (row.user_id, row.run_id): row
            for row in Certificate.objects.filter(
                run_id__in={enrollment.run_id for enrollment in lost},
                user_id__in={enrollment.user_id for enrollment in lost},
            )
        }
        for enrollment in lost:
            result[enrollment.pk] = winners[(enrollment.user_id, enrollment.run_id)]
    pairs = [
        (certificate.user_id, certificate.run.course_id)
        for certificate in certificates.values()
        if certificate.pk in issued and certificate.run is not None
    ]
    transaction.on_commit(partial(_queue_program_checks, pairs))
    return result, len(issued)


def issue_course_certificate(*, enrollment_id: int, actor: Any = None) -> Certificate | None:
    """Issue the certificate of a completed enrolment, exactly once (see
    issue_course_certificates). None when the enrolment is not completed."""
    return issue_course_certificates(enrollment_ids=[enrollment_id], actor=actor).get(enrollment_id)


def _queue_program_checks(pairs: list[tuple[int, int]]) -> None:
    """Queue the program check of each (learner, course) just certified: one query a batch."""
    from certification.tasks import issue_program_certificates_task

    if not pairs:
        return
    programs: dict[int, list[int]] = {}
    for program_id, course_id in ProgramCourse.objects.filter(
        course_id__in={course_id for _user, course_id in pairs}
    ).values_list("program_id", "course_id"):
        programs.setdefault(course_id, []).append(program_id)
    for user_id, course_id in pairs:
        for program_id in programs.get(course_id, []):
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
        # A course whose certificate was revoked does not count toward the program.
        revoked = Certificate.objects.filter(
            user_id=user_id, run_id=OuterRef("run_id"), revoked_at__isnull=False
        )
        completed = dict(
            Enrollment.objects.filter(
                user_id=user_id,
                status=Enrollment.Status.COMPLETED,
                run__course_id__in=[row.course_id for row in required],
            )
            .exclude(Exists(revoked))
            .values_list("run__course_id", "run__host_institution_id")
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
        if not _issue_all([certificate], actor=None, notes={}):
            return Certificate.objects.get(
                user_id=user_id, program_id=program_id, kind=Certificate.Kind.PROGRAM
            )
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
                "date": date_format(certificate.expires_on, "DATE_FORMAT"),
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


ACTIVE_JOB_STATES = (BulkIssuance.State.QUEUED, BulkIssuance.State.RUNNING)


def _lock_run_jobs(run_id: int) -> BulkIssuance | None:
    """Lock the run's row (FOR NO KEY UPDATE: certificates and enrolments may still be written
    for it) so that the run's jobs are started one at a time, and return its queued or running
    job, if any. Inside a transaction."""
    CourseRun.objects.select_for_update(no_key=True).filter(pk=run_id).values_list("pk").first()
    return (
        BulkIssuance.objects.filter(run_id=run_id, state__in=ACTIVE_JOB_STATES)
        .order_by("-created_at")
        .first()
    )


def start_bulk_issuance(*, run: Any, actor: Any) -> BulkIssuance:
    """Create a bulk issuance job for a run and queue it once committed. While the run has a job
    queued or running, that job is returned instead: the same form posted twice (or by two
    people at once) starts one job."""
    with transaction.atomic():
        active = _lock_run_jobs(run.pk)
        if active is not None:
            return active
        job = BulkIssuance.objects.create(run=run, requested_by=actor)
        job_id = job.pk
        transaction.on_commit(lambda: _queue_bulk(job_id))
    return job


class JobNotResumable(Exception):
    """Resuming a job that has not failed (queued, running or done): it would run twice."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resume_bulk_issuance(*, job: BulkIssuance) -> BulkIssuance:
    """Queue a failed job again: it carries on with the learners still missing a certificate
    (issuing is idempotent, so nothing is issued twice). A job whose worker died needs no resume:
    its task, acknowledged late, is delivered again (lms.jobs.RETRIED). While another job of the run
    is queued or running, that one is returned and this one stays as it is. A job that has not
    failed raises JobNotResumable (a 409 in the view): queuing it again would run it twice."""
    with transaction.atomic():
        active = _lock_run_jobs(job.run_id)
        if active is not None and active.pk != job.pk:
            return active
        resumed = BulkIssuance.objects.filter(pk=job.pk, state=BulkIssuance.State.FAILED).update(
            state=BulkIssuance.State.QUEUED, error=""
        )
        if not resumed:
            raise JobNotResumable(_("Only a failed job can be resumed."))
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
    }


def publish_progress(job: BulkIssuance) -> None:
    """Send the job's progress to the WebSocket clients watching it."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(bulk_group(job.pk), job_message(job))


BULK_BATCH_SIZE = 50


def _reset_job(job_id: uuid.UUID | str) -> tuple[BulkIssuance, list[int]]:
    """Mark a job running and return it with the completed enrolments still without a
    certificate. The job row is locked while they are counted: a batch that commits before
    is counted as `already`, one that commits after adds itself to `issued` (it updates the
    job row last), so issued + already reaches total exactly once everything is issued."""
    with transaction.atomic():
        job = BulkIssuance.objects.select_for_update().get(pk=job_id)
        completed = Enrollment.objects.filter(run_id=job.run_id, status=Enrollment.Status.COMPLETED)
        total = completed.count()
        pending = list(
            completed.exclude(
                user_id__in=Certificate.objects.filter(run_id=job.run_id).values("user_id")
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        job.state = BulkIssuance.State.RUNNING
        job.total, job.already, job.issued, job.error = total, total - len(pending), 0, ""
        job.save(update_fields=["state", "total", "already", "issued", "error", "updated_at"])
    return job, pending


def _job_failed(job_id: uuid.UUID | str, exc: Exception) -> None:
    """Mark the job failed. The technical detail goes to the log and the job's row (for DPS in
    the admin); its page and WebSocket show people a translated message instead."""
    logger.error("bulk issuance job %s failed", job_id, exc_info=exc)
    BulkIssuance.objects.filter(pk=job_id).update(
        state=BulkIssuance.State.FAILED, error=str(exc)[:500]
    )
    publish_progress(BulkIssuance.objects.get(pk=job_id))


def issue_bulk_batch(*, job_id: uuid.UUID | str, enrollment_ids: list[int]) -> BulkIssuance:
    """Issue one batch of a bulk job in one transaction (which also advances the job's
    counter), mark the job done when it was the last, and publish the progress. A failure
    marks the job failed and is raised again (the task retries the batch; a retry that
    succeeds carries the job on to done)."""
    job = BulkIssuance.objects.get(pk=job_id)
    try:
        issue_course_certificates(
            enrollment_ids=enrollment_ids, actor=job.requested_by, job_id=job.pk
        )
    except Exception as exc:
        _job_failed(job.pk, exc)
        raise
    BulkIssuance.objects.filter(
        pk=job.pk,
        state__in=[BulkIssuance.State.RUNNING, BulkIssuance.State.FAILED],
        total__lte=F("issued") + F("already"),
    ).update(state=BulkIssuance.State.DONE, error="")
    job.refresh_from_db()
    publish_progress(job)
    return job


def run_bulk_issuance(
    *, job_id: uuid.UUID | str, batch_size: int = BULK_BATCH_SIZE, fan_out: bool | None = None
) -> BulkIssuance:
    """Issue the certificates of every completed learner of the job's run that has none yet.

    The learners still missing one are cut into batches of `batch_size`. With a Celery broker
    (`fan_out`, the default unless tasks run eagerly) each batch is a task of its own, so every
    worker process (every core) takes batches; otherwise they are issued here one after the
    other. Each batch publishes the progress when committed. Safe to run again after a failure:
    it carries on with the learners still missing a certificate.
    """
    job, pending = _reset_job(job_id)
    publish_progress(job)
    if not pending:
        BulkIssuance.objects.filter(pk=job.pk).update(state=BulkIssuance.State.DONE)
        job.refresh_from_db()
        publish_progress(job)
        return job
    batches = [pending[start : start + batch_size] for start in range(0, len(pending), batch_size)]
    if fan_out is None:
        fan_out = not settings.CELERY_TASK_ALWAYS_EAGER
    if fan_out:
        from certification.tasks import bulk_issue_batch_task

        for batch in batches:
            bulk_issue_batch_task.delay(str(job.pk), batch)
        return job
    for batch in batches:
        job = issue_bulk_batch(job_id=job.pk, enrollment_ids=batch)
    return job
