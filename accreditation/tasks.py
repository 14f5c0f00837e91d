"""Periodic work of the accreditation app (scheduled from AccreditationConfig.ready())."""

from __future__ import annotations

from celery import shared_task

from accreditation import services


@shared_task(name="accreditation.tasks.warn_expiring_accreditations")
def warn_expiring_accreditations() -> int:
    """Warn course owners 60 and 30 days before an accreditation expires."""
    return services.warn_expiring()
