"""Celery tasks of the courses app."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from courses import services
from lms.jobs import RETRIED


@shared_task(name="courses.enrolment_job", **RETRIED)
def enrolment_job_task(job_id: str) -> dict[str, Any]:
    """A coordinator's bulk enrolment, in batches (idempotent: a retry or a redelivered message
    counts those already enrolled as such)."""
    job = services.run_enrolment_job(job_id=job_id)
    return {"state": job.state, "done": job.done, "total": job.total}
