"""Buffered ingest of launched statements (LMS_XAPI_BUFFERED; the deployments turn it on).

A POST or PUT by launched content (a cached launch credential, no attachments, no voiding) is
answered once its statements are claimed in Redis, in one round trip and without reading the
database; the prepared rows wait in a Redis list and a drain (a Celery task, or `drain_now` before
any read or synchronous write) inserts them into PostgreSQL in batches: under the load test, about
a third of the database's work per statement of one INSERT each (docs/performance/hot_paths.md).

What the drain decides, since the request did not read the database:
- the launch credential: each row's credential must still hold when its batch is written (the
  same rule as the synchronous write: not deleted, not expired at acceptance, its learner not
  suspended nor moved to another institution). The rows of a credential that no longer holds are
  not stored and the credential is marked refused in Redis, so that its next write gets 401
  (through the database) in every process; withdrawing a credential therefore drops at most what
  its content sent between the withdrawal and the next drain, a fraction of a second under load.
- ids: a claim (below) makes the same id with another statement a 409 for CLAIM_SECONDS. The
  synchronous path claims the ids it is about to store too (begin_write), so an id written by an
  LRS client, with attachments or by a voiding statement is decided by the synchronous path
  when launched content sends it again (a 409 if the statements differ). An id stored
  with no claim (before buffering was turned on, by the platform, or after its claim expired) is
  not stored twice (ON CONFLICT DO NOTHING) and, if the statements differ, the stored one is kept
  and the conflict logged.

Redis keys (the LRS's Redis database):
  xapi:claim:<id>        sha256 of the statement's comparable form, 24 h: duplicates and 409s
                         ("synchronous": the synchronous path stores it, and decides; a
                         synchronous write that fails removes the marks it set)
  xapi:writing           synchronous writes in flight by their start (Consistent-Through)
  xapi:refused:<key>     a launch credential the drain found withdrawn (launch cache TTL)
  xapi:buffer            the prepared rows waiting (JSON, one per item): launched content's,
                         and the platform's own statements (queue_platform; no claim)
  xapi:buffer:processing the batch a drain is writing; a crashed drain's batch is written again
  xapi:drain-lock        one drain at a time
  xapi:drain-scheduled   a drain task is on its way
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from redis.exceptions import RedisError

from lms import redis_queue
from lms.db import bound_cursor
from lms.redis_held import FAILED, HeldConnection
from lms.xapi import store
from lms.xapi.models import Statement
from lms.xapi.signals import statements_stored

BUFFER = "xapi:buffer"
PROCESSING = "xapi:buffer:processing"
LOCK = "xapi:drain-lock"
SCHEDULED = "xapi:drain-scheduled"
CLAIM = "xapi:claim:"
WRITING = "xapi:writing"
REFUSED = "xapi:refused:"
CLAIM_SECONDS = 86400
BATCH = 5000
LOCK_MS = redis_queue.LOCK_MS
DRAIN_COUNTDOWN = 0.2
WRITE_EXPIRY = 600  # seconds after which a write still registered is taken for dead

_redis: Any = None
log = logging.getLogger(__name__)


def enabled() -> bool:
    return redis_queue.turned_on("LMS_XAPI_BUFFERED")


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


class Refused(Exception):
    """The drain found this launch credential withdrawn: the database decides (401)."""


# KEYS: the buffer, the drain-scheduled flag, the credential's refusal mark, one claim per
# statement; ARGV: the claim's seconds, then per statement its hash and its row. All or nothing:
# a refused credential (-2) or an id claimed for another statement (-1) pushes nothing; ids
# claimed for the same statement are not pushed again.
# Returns 0 (nothing new), 1 (pushed) or 2 (pushed, and a drain is to be scheduled).
_ACCEPT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
local n = #KEYS - 3
local new = {}
for i = 1, n do
  local found = redis.call('GET', KEYS[i + 3])
  if not found then
    new[#new + 1] = i
  elseif found ~= ARGV[2 * i] then
    return -1
  end
end
if #new == 0 then return 0 end
for _, i in ipairs(new) do
  redis.call('SET', KEYS[i + 3], ARGV[2 * i], 'EX', tonumber(ARGV[1]))
  redis.call('RPUSH', KEYS[1], ARGV[2 * i + 1])
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', 500) then return 2 end
return 1
"""
_accept_script: Any = None
_held = HeldConnection(lambda: redis_client().connection_pool)


def _run(script: Any, keys: list[str], args: list[Any]) -> Any:
    """A registered script, on the thread's held connection; when that fails (or Redis lost
    the script), through redis-py, which loads the script and retries."""
    result = _held.call("EVALSHA", script.sha, len(keys), *keys, *args)
    if result is FAILED:
        result = script(keys=keys, args=args)
    return result


def accept(
    ids: list[str], hashes: list[str], rows: list[store.Row], confirm: store.LaunchCheck
) -> None:
    """Claim the statements' ids and queue the new ones with the credential they were accepted
    under, in one atomic Redis round trip; a drain is scheduled unless one is already on its
    way. Fallback: an id claimed for another statement. Refused: the credential was found
    withdrawn by a drain."""
    global _accept_script
    if _accept_script is None:
        _accept_script = redis_client().register_script(_ACCEPT)
    args: list[Any] = [CLAIM_SECONDS]
    for digest, row in zip(hashes, rows, strict=True):
        args += [digest, _dump(row, confirm)]
    keys = [BUFFER, SCHEDULED, REFUSED + confirm.key, *[CLAIM + i for i in ids]]
    # Running it twice (_run) is harmless: the claims of the first run make the second push
    # nothing.
    result = _run(_accept_script, keys, args)
    if result == -2:
        raise Refused
    if result == -1:
        raise Fallback
    _schedule(result)


# KEYS: the writes-in-flight set, then one claim per statement; ARGV: the write's token, its
# start (epoch seconds), the claims' seconds. Registers the write, claims each id not yet
# claimed with a mark no launched statement's hash equals, and returns the positions of the ids
# launched content had claimed (accepted, maybe not yet written), then those of the ids it
# claimed (end_write gives these back when the write fails).
_BEGIN = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local contested = {}
local claimed = {}
for i = 2, #KEYS do
  local found = redis.call('GET', KEYS[i])
  if not found then
    redis.call('SET', KEYS[i], 'synchronous', 'EX', tonumber(ARGV[3]))
    claimed[#claimed + 1] = i - 1
  elseif found ~= 'synchronous' then
    contested[#contested + 1] = i - 1
  end
end
return {contested, claimed}
"""
_begin_script: Any = None

# KEYS: the writes-in-flight set, then the claims a failed write made; ARGV: the write's token.
# Ends the write and gives back its claims in one step; a claim no longer the synchronous mark
# (expired, and claimed since by launched content) is left as it is.
_FAIL = """
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == 'synchronous' then redis.call('DEL', KEYS[i]) end
end
return 0
"""
_fail_script: Any = None


class Write:
    """A synchronous write registered by begin_write: its token, the ids launched content had
    claimed first (their statements must be written before this write decides) and the ids
    whose claims this write made (not those an earlier write made)."""

    def __init__(
        self, token: str | None, contested: list[str], claimed: list[str] | None = None
    ) -> None:
        self.token = token
        self.contested = contested
        self.claimed = claimed or []


def begin_write(ids: list[str], *, claim: bool) -> Write:
    """Before the synchronous path stamps and writes statements: register the write as in
    flight (Consistent-Through stays before it until end_write) and, with `claim`, claim its
    ids. A claim made here is a mark that no launched statement's hash equals: launched content
    sending one of these ids, the same statement or another, is then decided by the synchronous
    path (stored: 200 or 409, its whole batch refused), never answered 200 and dropped by the
    drain; made before the write, it leaves no moment in which launched content could claim
    the id first unseen. An id launched content claimed first is kept as it is and returned in
    `contested`: its statement is drained before this write (drain_for_write). The ids claimed
    here are in `claimed`: a write that fails gives them back (end_write). Redis not used or
    failing: nothing registered (token None)."""
    global _begin_script
    if not getattr(settings, "REDIS_URL", ""):
        return Write(None, [])
    if _begin_script is None:
        _begin_script = redis_client().register_script(_BEGIN)
    token = uuid.uuid4().hex
    keys = [WRITING, *([CLAIM + i for i in ids] if claim else [])]
    try:
        contested, claimed = _run(_begin_script, keys, [token, f"{time.time():.6f}", CLAIM_SECONDS])
    except RedisError:
        log.warning("xAPI: Redis failed, a write of %s statement(s) not registered", len(ids))
        return Write(None, [])
    return Write(
        token,
        [ids[int(position) - 1] for position in contested or []],
        [ids[int(position) - 1] for position in claimed or []],
    )


def end_write(write: Write, *, failed: bool = False) -> None:
    """The write registered by begin_write committed or rolled back. `failed`: none of its
    statements was stored, so the claims it made are given back with it, in one step (launched
    content sending those ids again is buffered as before, not sent to the synchronous path for
    24 h); a claim an earlier write made for one of its ids stays. Redis failing: the claims
    expire with their time."""
    global _fail_script
    if write.token is None:
        return
    try:
        if failed and write.claimed:
            if _fail_script is None:
                _fail_script = redis_client().register_script(_FAIL)
            _run(_fail_script, [WRITING, *[CLAIM + i for i in write.claimed]], [write.token])
        else:
            redis_client().zrem(WRITING, write.token)
    except RedisError:
        log.warning("xAPI: Redis failed, a finished write left registered (expires)")


# KEYS: writes in flight, the processing batch, the buffer; ARGV: the oldest start still
# believed (older registrations are of writes that died). Returns the oldest write's start and
# the two lists' heads, read at one moment.
_FLOOR = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {oldest[2] or false, redis.call('LINDEX', KEYS[2], 0), redis.call('LINDEX', KEYS[3], 0)}
"""
_floor_script: Any = None


def floor() -> datetime | None:
    """The earliest `stored` a statement not yet visible may carry (None: none is on its way,
    or Redis is not used or failed): the start of the oldest write in flight, or the oldest
    statement waiting in the buffer, whichever is earlier. Read before a query: Consistent-
    Through stays below it."""
    global _floor_script
    if not getattr(settings, "REDIS_URL", ""):
        return None
    if _floor_script is None:
        _floor_script = redis_client().register_script(_FLOOR)
    stale = time.time() - WRITE_EXPIRY
    try:
        started, processing, waiting = _run(
            _floor_script, [WRITING, PROCESSING, BUFFER], [f"{stale:.6f}"]
        )
    except RedisError:
        return None
    times = [datetime.fromisoformat(json.loads(head)[10]) for head in (processing, waiting) if head]
    if started:
        times.append(datetime.fromtimestamp(float(started), tz=UTC))
    return min(times) if times else None


def reschedule_if_pending() -> bool:
    """Send a drain task when statements wait and none is on its way: after a drain that found
    another holding the lock past its wait (a drain that crashed holds it up to LOCK_MS) or
    failed on Redis, what waits would otherwise wait for the next push. Returns whether a task
    was sent."""
    if _queue.take_schedule():
        from lms.xapi.tasks import drain_statements

        drain_statements.apply_async(countdown=1.0)
        return True
    return False


def _schedule(result: int) -> None:
    """Send the drain task when the script set the drain-scheduled flag (result 2)."""
    if result == 2:
        from lms.xapi.tasks import drain_statements

        drain_statements.apply_async(countdown=DRAIN_COUNTDOWN)


# KEYS: the buffer, the drain-scheduled flag; ARGV: the rows. Returns 2 when a drain is to be
# scheduled, else 1.
_PUSH = redis_queue.PUSH
_push_script: Any = None


def queue_platform(rows: list[store.Row]) -> None:
    """Queue statements the platform made (lms.xapi.emit, after the commit that recorded their
    events): no claim (their ids are fixed by their events, so the same event twice is the same
    statement) and no credential. Redis failing, they are written at once instead."""
    global _push_script
    if not rows:
        return
    if _push_script is None:
        _push_script = redis_client().register_script(_PUSH)
    try:
        # Pushed twice (_run's retry after a lost answer), they are still stored once: the drain
        # inserts each id once.
        result = _run(_push_script, [BUFFER, SCHEDULED], [_dump(row, None) for row in rows])
    except RedisError:
        log.warning(
            "xAPI buffer: Redis failed, %s platform statement(s) written at once", len(rows)
        )
        with transaction.atomic():
            store.forward_written(store.write(rows))
        return
    _schedule(result)


# Rows in Redis -----------------------------------------------------------------------------


def _dump(row: store.Row, confirm: store.LaunchCheck | None) -> bytes:
    """A row and the launch credential it was accepted under (None: made by the platform)."""
    return json.dumps(
        [
            [
                confirm.key,
                confirm.secret_hash,
                confirm.user_id,
                str(confirm.registration),
                confirm.institution_id,
            ]
            if confirm is not None
            else None,
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


def _load(item: bytes) -> tuple[store.Row, list[Any] | None]:
    """A buffered row and its credential: [key, secret hash, user, registration, institution],
    None for the platform's own statements."""
    (
        credential,
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
    row = store.Row(
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
    return row, credential


# Draining ----------------------------------------------------------------------------------


def move_batch(limit: int = BATCH) -> list[bytes]:
    """The batch to write: a crashed drain's leftover, else up to `limit` rows moved from the
    buffer to the processing list in one atomic step."""
    return _queue.move_batch(limit)


_HOLDING_SQL: str | None = None


def _holding_sql() -> str:
    """The launch credentials of a batch that still hold, in one query: key, secret hash, user,
    registration and institution as accepted, not expired at the first acceptance, the learner
    not suspended (the rule of store.launch_holds_sql, for many credentials at once)."""
    global _HOLDING_SQL
    if _HOLDING_SQL is None:
        holds = store.launch_holds_sql("c.k", "c.h", "c.u", "c.r", "c.i", at="c.t")
        _HOLDING_SQL = (
            # binary arrays (as store.write's): psycopg escapes a text array's items in Python
            "SELECT c.k FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::uuid[], "  # noqa: S608
            f"%b::bigint[], %b::timestamptz[]) AS c(k, h, u, r, i, t) WHERE EXISTS ({holds})"
        )
    return _HOLDING_SQL


def _holding(credentials: dict[str, tuple[list[Any], datetime]]) -> set[str]:
    """The keys among `credentials` (key -> (credential, first acceptance)) that still hold."""
    from lms.accounts.models import User

    if connection.vendor != "postgresql":
        return {
            key
            for key, ((_, secret_hash, user, registration, institution), _at) in credentials.items()
            if store.confirm_launch(
                store.LaunchCheck(
                    key=key, secret="", secret_hash=secret_hash, user_id=user,
                    registration=uuid.UUID(registration), institution_id=institution,
                )
            )
        }  # fmt: skip
    columns: list[list[Any]] = [[], [], [], [], [], []]
    for key, ((_, secret_hash, user, registration, institution), at) in credentials.items():
        for column, value in zip(
            columns, (key, secret_hash, user, registration, institution, at), strict=True
        ):
            column.append(value)
    with bound_cursor() as cursor:
        cursor.execute(_holding_sql(), [*columns, User.Status.SUSPENDED.value])
        return {key for (key,) in cursor.fetchall()}


def _refuse(keys: set[str], dropped: int) -> None:
    """Mark withdrawn credentials refused (their next write reads the database and gets 401)."""
    from lms.xapi.auth import forget_launch, launch_cache_seconds

    r = redis_client()
    for key in keys:
        r.set(REFUSED + key, "1", ex=max(1, int(launch_cache_seconds())) + 60)
        forget_launch(key)
    log.warning(
        "xAPI buffer: %s statement(s) of %s withdrawn launch credential(s) not stored",
        dropped,
        len(keys),
    )


def _write_batch(items: list[bytes]) -> int:
    """Insert a batch: the platform's rows and those of launch credentials that still hold,
    each id once. statements_stored carries the launched ones (lms.xapi.signals: the app that
    made a platform statement already knows)."""
    loaded = [_load(item) for item in items]
    credentials: dict[str, tuple[list[Any], datetime]] = {}
    for row, credential in loaded:
        if credential is None:
            continue
        seen = credentials.get(credential[0])
        if seen is None or row.stored < seen[1]:
            credentials[credential[0]] = (credential, row.stored)
    holding = _holding(credentials) if credentials else set()
    rows = [row for row, credential in loaded if credential is None or credential[0] in holding]
    if len(rows) < len(loaded):
        dropped = sum(1 for _row, c in loaded if c is not None and c[0] not in holding)
        _refuse(set(credentials) - holding, dropped)
    launched = {row.statement_id for row, credential in loaded if credential is not None}
    with transaction.atomic():
        written = store.write(rows)
        store.forward_written(written)
        stored = [
            row.data
            for row in rows
            if row.statement_id in written.inserted and row.statement_id in launched
        ]
        if stored:
            transaction.on_commit(
                lambda: statements_stored.send(sender=Statement, statements=stored)
            )
    _log_conflicts(
        [
            row
            for row in rows
            if row.statement_id in launched and row.statement_id not in written.inserted
        ]
    )
    return len(written.inserted)


def _as_sent(data: dict[str, Any]) -> dict[str, Any]:
    """A prepared statement less the timestamp the LRS gave it (store.prepare stamps a statement
    sent without one with its stored time): what same_statement compares."""
    if data.get("timestamp") == data.get("stored"):
        return {k: v for k, v in data.items() if k != "timestamp"}
    return data


def _log_conflicts(rows: list[store.Row]) -> None:
    """Rows whose id was stored already (a crashed drain's batch written again, or an id sent
    again after its claim expired): the stored statement stays; a different one is logged."""
    if not rows:
        return
    existing = store.stored_data([row.statement_id for row in rows])
    conflicts = [
        str(row.statement_id)
        for row in rows
        if str(row.statement_id) in existing
        and not store.same_statement(existing[str(row.statement_id)], _as_sent(row.data))
    ]
    if conflicts:
        log.warning(
            "xAPI buffer: %s accepted statement(s) conflict with stored ones, kept the stored: %s",
            len(conflicts),
            ", ".join(conflicts[:20]),
        )


def pending() -> bool:
    """Whether anything waits to be written (one round trip)."""
    return bool(redis_client().exists(BUFFER, PROCESSING))


def drain_now(wait: float = 10.0, *, until_empty: bool = True) -> int:
    """Write everything buffered so far; returns the number of statements inserted. Cheap when
    nothing waits. Another drain running: wait for it (a reader must see its own writes).
    Redis failing, nothing is drained (what is buffered waits for Redis to come back) and the
    caller goes on with what the database holds.

    until_empty=False (the drain task): write what is buffered when the drain starts, in full
    batches, and stop at the first batch that is not full instead of going on with the
    statements that arrive meanwhile. Those scheduled the next drain task when they were pushed
    (the task clears the drain-scheduled flag before it starts), which then writes them with
    the ones after them: under a steady load a drain that went on writing whatever had just
    arrived wrote batches of three or four statements, each with its own credential check,
    INSERT and commit (0.6-0.9 ms of the worker per statement against 0.1 in batches of a
    few hundred; docs/performance/hot_paths.md)."""
    if not enabled():
        return 0
    try:
        return _drain(wait, until_empty)
    except (RedisError, _Busy) as exc:
        if isinstance(exc, RedisError):
            log.warning("xAPI buffer: Redis failed, drain skipped", exc_info=True)
        return 0


def drain_for_write(wait: float = 10.0) -> bool:
    """drain_now before a synchronous write: False when what was buffered could not be written
    (another drain held the lock past `wait`, Redis failed with statements waiting)."""
    if not enabled():
        return True
    try:
        _drain(wait)
    except _Busy:
        return False
    except RedisError:
        log.warning("xAPI buffer: Redis failed, drain skipped", exc_info=True)
        return False
    return True


_Busy = redis_queue.Busy
_queue = redis_queue.Queue(
    BUFFER, redis_client, processing=PROCESSING, lock=LOCK, scheduled=SCHEDULED
)


def _drain(wait: float, until_empty: bool = True) -> int:
    return _queue.drain(_write_batch, batch=BATCH, wait=wait, until_empty=until_empty)
