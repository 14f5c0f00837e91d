"""Background jobs that a page follows: the fields and progress common to each kind of job
(a run's certificates issued in bulk, a coordinator's bulk enrolment). A concrete job adds what
it is about and the counters (COUNTERS) whose sum is how many are `done`."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The Celery options of a job's tasks, which are idempotent: late acknowledgement (a message
# whose worker dies is delivered again) and retries with backoff.
RETRIED: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


class Job(models.Model):
    """A job's state and progress, kept in the database so that a failed job can resume."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    # The counters whose sum is how many of `total` are done (each concrete job names its own).
    COUNTERS: tuple[str, ...] = ()

    @property
    def done(self) -> int:
        return sum(int(getattr(self, name)) for name in self.COUNTERS)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))
