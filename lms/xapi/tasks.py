"""Celery tasks of the LRS: forwarding statements to an institution's external LRS."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from base64 import b64encode
from typing import Any

from celery import shared_task
from django.utils import timezone
from redis.exceptions import RedisError

from lms.xapi.models import ForwardingFailure, ForwardingTarget, Statement

MAX_RETRIES = 5
SWEEP_SECONDS = 30.0


class ForwardingError(Exception):
    """The external LRS refused or could not be reached."""


def send(target: ForwardingTarget, statements: list[dict[str, Any]]) -> None:
    """POST the statements to the target LRS; raise ForwardingError on anything but 2xx."""
    auth = b64encode(f"{target.username}:{target.password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the endpoint is an admin-set http(s) URL
        target.endpoint.rstrip("/") + "/statements",
        data=json.dumps(statements).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Basic {auth}",
            "X-Experience-API-Version": "1.0.3",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            if response.status >= 300:
                raise ForwardingError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return  # already there: forwarding is idempotent by statement id
        raise ForwardingError(f"HTTP {exc.code}: {exc.read()[:300]!r}") from exc
    except OSError as exc:
        raise ForwardingError(str(exc)) from exc


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def forward_statements(self: Any, target_id: int, statement_ids: list[str]) -> int:
    """Forward stored statements; retries with exponential backoff, then records a failure."""
    target = ForwardingTarget.objects.filter(pk=target_id, is_active=True).first()
    if target is None:
        return 0
    statements = list(
        Statement.objects.filter(statement_id__in=statement_ids)
        .order_by("id")
        .values_list("data", flat=True)
    )
    try:
        send(target, statements)
    except ForwardingError as exc:
        if self.request.retries >= self.max_retries or self.request.is_eager:
            ForwardingFailure.objects.create(
                target=target,
                statement_ids=statement_ids,
                error=str(exc)[:2000],
                attempts=self.request.retries + 1,
            )
            return 0
        raise self.retry(
            exc=exc, countdown=min(2 ** (self.request.retries + 1) * 15, 3600)
        ) from exc
    return len(statements)


def retry_failure(failure: ForwardingFailure) -> bool:
    """Try a recorded failure again now; on success mark it resolved."""
    statements = list(
        Statement.objects.filter(statement_id__in=failure.statement_ids)
        .order_by("id")
        .values_list("data", flat=True)
    )
    failure.attempts += 1
    try:
        send(failure.target, statements)
    except ForwardingError as exc:
        failure.error = str(exc)[:2000]
        failure.save(update_fields=["attempts", "error"])
        return False
    failure.resolved_at = timezone.now()
    failure.save(update_fields=["attempts", "resolved_at"])
    return True


# No result kept: sent for every batch of statements, and nobody reads it (each one stored was a
# key in Redis for a day, a subscription by the sender and a publish by the worker).
@shared_task(acks_late=True, ignore_result=True)
def drain_statements() -> int:
    """Write the buffered statements (lms.xapi.buffer); a later push schedules the next drain.
    The flag is cleared first, so that every statement pushed after this point schedules a
    drain of its own: this one writes only what was there (buffer.drain_now, until_empty).
    Statements left waiting with no drain on its way (the lock held by a drain that crashed,
    Redis failing) get the next one; the beat also sends this task every SWEEP_SECONDS."""
    from lms.xapi import buffer

    buffer.redis_client().delete(buffer.SCHEDULED)
    inserted = buffer.drain_now(until_empty=False)
    with contextlib.suppress(RedisError):  # else the beat's sweep sends the next drain
        buffer.reschedule_if_pending()
    return inserted
