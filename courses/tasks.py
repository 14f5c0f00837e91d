"""Celery tasks of the courses app."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import shared_task
from redis.exceptions import RedisError

from courses import services
from lms.jobs import RETRIED


@shared_task(name="courses.enrolment_job", **RETRIED)
def enrolment_job_task(job_id: str) -> dict[str, Any]:
    """A coordinator's bulk enrolment, in batches (idempotent: a retry or a redelivered message
    counts those already enrolled as such)."""
    job = services.run_enrolment_job(job_id=job_id)
    return {"state": job.state, "done": job.done, "total": job.total}


# How often the beat sends a drain of the first views, for views left waiting with none on its
# way (a drain that crashed holding the lock, Redis failing at the push that would have sent it).
SWEEP_SECONDS = 30.0


# No result kept: sent several times a second under load, and nobody reads it (each one stored
# was a key in Redis for a day, a subscription by the sender and a publish by the worker).
@shared_task(name="courses.drain_first_views", ignore_result=True)
def drain_first_views() -> int:
    """Write the lesson player's queued first views (courses.first_views). The flag is cleared
    first, so that every view queued after this point sends a drain of its own: this one writes
    what was there, in full batches, and stops at the first batch that is not full."""
    from courses import first_views

    first_views.clear_scheduled()
    counted = first_views.drain_now(until_empty=False)
    with contextlib.suppress(RedisError):  # else the beat's sweep sends the next drain
        first_views.reschedule_if_pending()
    return counted
