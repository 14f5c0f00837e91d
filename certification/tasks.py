"""Celery tasks of the certification app: late acknowledgement and retries everywhere, because
every task is idempotent (issuing twice returns the certificate issued first)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from certification import services
from lms.jobs import RETRIED


@shared_task(
    name="certification.issue_course_certificate",
    **RETRIED,
)
def issue_course_certificate_task(enrollment_id: int) -> str | None:
    """Issue the certificate of a completed enrolment (exactly once)."""
    certificate = services.issue_course_certificate(enrollment_id=enrollment_id)
    return str(certificate.pk) if certificate else None


@shared_task(
    name="certification.issue_course_certificates",
    **RETRIED,
)
def issue_course_certificates_task(enrollment_ids: list[int]) -> int:
    """Issue the certificates of completed enrolments together, exactly once each (a batch of a
    run's completions); returns how many have one now."""
    return len(services.issue_course_certificates(enrollment_ids=enrollment_ids))


@shared_task(
    name="certification.issue_program_certificates",
    **RETRIED,
)
def issue_program_certificates_task(user_id: int, program_id: int) -> str | None:
    """Issue a program certificate if the learner has now completed the whole program."""
    certificate = services.issue_program_certificate(user_id=user_id, program_id=program_id)
    return str(certificate.pk) if certificate else None


@shared_task(
    name="certification.bulk_issue",
    **RETRIED,
)
def bulk_issue_task(job_id: str) -> dict[str, Any]:
    """Start issuing a whole run's certificates: queue one batch task per 50 learners still
    missing a certificate (a retry queues only those still missing one)."""
    job = services.run_bulk_issuance(job_id=job_id)
    return services.job_message(job)


@shared_task(
    name="certification.bulk_issue_batch",
    **RETRIED,
)
def bulk_issue_batch_task(job_id: str, enrollment_ids: list[int]) -> dict[str, Any]:
    """Issue one batch of a bulk job in one transaction (idempotent: a retry or a redelivered
    message issues only what is still missing and counts only what it issued)."""
    job = services.issue_bulk_batch(job_id=job_id, enrollment_ids=enrollment_ids)
    return services.job_message(job)


@shared_task(name="certification.send_expiry_reminders", acks_late=True)
def send_expiry_reminders_task() -> int:
    """Daily: remind holders whose certificates lapse soon."""
    return services.send_expiry_reminders()
