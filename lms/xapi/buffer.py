"""Buffered ingest of launched statements (LMS_XAPI_BUFFERED, off by default).

A POST or PUT by launched content (a cached launch credential, no attachments, no voiding) is
answered once its statements are claimed in Redis and checked against the database in one read;
the prepared rows wait in a Redis list and a drain (a Celery task, or `drain_now` before any read
or synchronous write) copies them into PostgreSQL in batches.

Redis keys (the LRS's Redis database):
  xapi:claim:<id>        sha256 of the statement's comparable form, 24 h: duplicates and 409s
  xapi:buffer            the prepared rows waiting (JSON, one per item)
  xapi:buffer:processing the batch a drain is writing; a crashed drain's batch is written again
  xapi:drain-lock        one drain at a time
  xapi:drain-scheduled   a drain task is on its way
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from lms.xapi import store
from lms.xapi.models import Statement
from lms.xapi.signals import statements_stored

BUFFER = "xapi:buffer"
PROCESSING = "xapi:buffer:processing"
LOCK = "xapi:drain-lock"
SCHEDULED = "xapi:drain-scheduled"
CLAIM = "xapi:claim:"
CLAIM_SECONDS = 86400
BATCH = 5000
LOCK_MS = 60_000
DRAIN_COUNTDOWN = 0.2

_redis: Any = None

# Move up to ARGV[1] rows from the buffer to the processing list, atomically (a crash leaves
# them in one list or the other); a leftover processing batch is returned first, unmoved.
_MOVE = """
local left = redis.call('LRANGE', KEYS[2], 0, -1)
if #left > 0 then return left end
local batch = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #batch == 0 then return batch end
redis.call('LTRIM', KEYS[1], #batch, -1)
for i = 1, #batch, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(batch, i, math.min(i + 999, #batch)))
end
return batch
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def enabled() -> bool:
    value = getattr(settings, "LMS_XAPI_BUFFERED", None)
    if value is None:
        value = os.environ.get("LMS_XAPI_BUFFERED", "")
    if isinstance(value, str):
        value = value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value) and bool(getattr(settings, "REDIS_URL", ""))


def redis_client() -> Any:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


# Claims ------------------------------------------------------------------------------------

_IGNORED = frozenset({"stored", "authority", "version", "id"})


def fingerprint(statement: dict[str, Any]) -> str:
    """The sha256 of a statement as received, less what an identical re-POST may change (id,
    stored, authority, version). Equal hashes: `_same_statement` holds. Statements equal only
    after its normalisation (defaults, mbox case) hash apart: the synchronous path then decides
    with its exact rule (Fallback), so nothing is refused that it would accept."""
    body = {k: v for k, v in statement.items() if k not in _IGNORED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Fallback(Exception):
    """The buffered path cannot decide (a statement already stored, an id claimed for another
    statement): the synchronous path answers, with its exact rules."""


# KEYS: the buffer, the drain-scheduled flag, one claim per statement; ARGV: the claim's
# seconds, then per statement its hash and its row. All or nothing: an id claimed for another
# statement pushes nothing (-1); ids claimed for the same statement are not pushed again.
# Returns 0 (nothing new), 1 (pushed) or 2 (pushed, and a drain is to be scheduled).
_ACCEPT = """
local n = #KEYS - 2
local new = {}
for i = 1, n do
  local found = redis.call('GET', KEYS[i + 2])
  if not found then
    new[#new + 1] = i
  elseif found ~= ARGV[2 * i] then
    return -1
  end
end
if #new == 0 then return 0 end
for _, i in ipairs(new) do
  redis.call('SET', KEYS[i + 2], ARGV[2 * i], 'EX', tonumber(ARGV[1]))
  redis.call('RPUSH', KEYS[1], ARGV[2 * i + 1])
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', 500) then return 2 end
return 1
"""
_accept_script: Any = None


def accept(ids: list[str], hashes: list[str], rows: list[store.Row]) -> None:
    """Claim the statements' ids and queue the new ones, in one atomic Redis round trip; a drain
    is scheduled unless one is already on its way. Fallback: an id claimed for another statement.
    """
    global _accept_script
    if _accept_script is None:
        _accept_script = redis_client().register_script(_ACCEPT)
    args: list[Any] = [CLAIM_SECONDS]
    for digest, row in zip(hashes, rows, strict=True):
        args += [digest, _dump(row)]
    result = _accept_script(keys=[BUFFER, SCHEDULED, *[CLAIM + i for i in ids]], args=args)
    if result == -1:
        raise Fallback
    if result == 2:
        from lms.xapi.tasks import drain_statements

        drain_statements.apply_async(countdown=DRAIN_COUNTDOWN)


_CHECK_SQL: str | None = None


def _check_sql() -> str:
    global _CHECK_SQL
    if _CHECK_SQL is None:
        _CHECK_SQL = (
            f"SELECT EXISTS ({store.launch_holds_sql()}), "  # noqa: S608
            f"EXISTS (SELECT 1 FROM {Statement._meta.db_table} "
            "WHERE statement_id = ANY(%s::text[]::uuid[]))"
        )
    return _CHECK_SQL


def check(confirm: store.LaunchCheck, ids: list[str]) -> tuple[bool, bool]:
    """(the launch credential holds, one of `ids` is stored already), in one indexed read."""
    if connection.vendor != "postgresql":
        stored = Statement.objects.filter(statement_id__in=ids).exists()
        return store.confirm_launch(confirm), stored
    with store._bound_cursor() as cursor:
        cursor.execute(_check_sql(), [*store.launch_holds_params(confirm), ids])
        ok, stored = cursor.fetchone()
    return bool(ok), bool(stored)


# Rows in Redis -----------------------------------------------------------------------------


def _dump(row: store.Row) -> bytes:
    return json.dumps(
        [
            str(row.statement_id),
            row.data,
            row.actor_key,
            row.verb_id,
            row.activity_id,
            str(row.registration) if row.registration else None,
            row.related_activities,
            row.related_agents,
            row.timestamp.isoformat(),
            row.stored.isoformat(),
            str(row.object_ref) if row.object_ref else None,
            row.institution_id,
            row.client_id,
            row.user_id,
            row.has_attachments,
        ],
        separators=(",", ":"),
    ).encode()


def _load(item: bytes) -> store.Row:
    (
        sid,
        data,
        actor,
        verb,
        activity,
        reg,
        acts,
        agents,
        ts,
        stored,
        ref,
        inst,
        client,
        user,
        att,
    ) = json.loads(item)
    return store.Row(
        statement_id=uuid.UUID(sid),
        data=data,
        actor_key=actor,
        verb_id=verb,
        activity_id=activity,
        registration=uuid.UUID(reg) if reg else None,
        related_activities=acts,
        related_agents=agents,
        timestamp=datetime.fromisoformat(ts),
        stored=datetime.fromisoformat(stored),
        voids=None,  # voiding statements are never buffered
        object_ref=uuid.UUID(ref) if ref else None,
        institution_id=inst,
        client_id=client,
        user_id=user,
        has_attachments=att,
    )


# Draining ----------------------------------------------------------------------------------


def move_batch(limit: int = BATCH) -> list[bytes]:
    """The batch to write: a crashed drain's leftover, else up to `limit` rows moved from the
    buffer to the processing list in one atomic step."""
    r = redis_client()
    return list(r.eval(_MOVE, 2, BUFFER, PROCESSING, limit))


def _write_batch(items: list[bytes]) -> int:
    rows = [_load(item) for item in items]
    with transaction.atomic():
        written = store.write(rows)
        store.forward_written(written)
        stored = [row.data for row in rows if row.statement_id in written.inserted]
        if stored:
            transaction.on_commit(
                lambda: statements_stored.send(sender=Statement, statements=stored)
            )
    return len(written.inserted)


def pending() -> bool:
    """Whether anything waits to be written (one round trip)."""
    return bool(redis_client().exists(BUFFER, PROCESSING))


def drain_now(wait: float = 10.0) -> int:
    """Write everything buffered so far; returns the number of statements inserted. Cheap when
    nothing waits. Another drain running: wait for it (a reader must see its own writes)."""
    if not enabled() or not pending():
        return 0
    r = redis_client()
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not r.set(LOCK, token, nx=True, px=LOCK_MS):
        if time.monotonic() > deadline:
            return 0
        time.sleep(0.005)
        if not pending():
            return 0
    inserted = 0
    try:
        while True:
            items = move_batch()
            if not items:
                break
            inserted += _write_batch(items)
            r.delete(PROCESSING)
    finally:
        r.eval(_UNLOCK, 1, LOCK, token)
    return inserted
