"""The lesson player's state of an enrolment, kept in the cache beside the session.

Every lesson page needs the learner's enrolment and progress (courses.selectors.player_enrollment:
one query). A learner back on a lesson changes none of it, so it is kept in the cache under a
prefix the web processes keep coherent copies of (lms.near_cache, settings.CACHES): a revisit then
reads no database and, most of the time, not even Redis. The lesson page with its state read
from the database kept 35-40 % of the minimal view's throughput, with it from here about half
(docs/performance/hot_paths.md).

Correctness rests on every write of what the state holds forgetting it:

- the enrolment row saved or deleted and its progress rows saved through the ORM (receivers in
  courses.receivers), a QuerySet's update, delete, bulk_create and bulk_update of either model
  (their QuerySet, courses.models), lms.db.bulk_update of either (its rows_bulk_updated
  signal), and a course's title, language or code (its enrolments);
- the player's own hand-written SQL (courses.services): a video position forgets; a first view
  and a moved resume point, which know the state they leave, write it (`replace`).

Forgetting leaves a tombstone for FORGET_SECONDS instead of deleting, now and again once the
transaction commits: a page that read the database before the write committed cannot store its
old state after it (`keep` adds only where no entry is, `replace` never over a tombstone). A
page meanwhile reads the database as before. Every entry also expires after at most TTL seconds,
the bound for a write nothing here hears of (a data migration's SQL, say; RUNBOOK: upgrades).

The cache key is the enrolment's id; the registration in the address maps to it once per process
(the pair never changes). An entry serves only the person it belongs to: someone else's
registration is read from the database and refused as before.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from django.core.cache import caches
from django.db import transaction

from courses.selectors import PlayerEnrollment
from lms.cache import set_unless

PREFIX = "courses:player:v1:"
TTL = 120
FORGET_SECONDS = 10
TOMBSTONE = 0  # stored as the integer, which no state pickles to
MAX_IDS = 100_000

# registration (text) -> enrolment id: fixed for an enrolment's life, so kept per process.
_ids: dict[str, int] = {}


def _cache() -> Any:
    return caches["default"]


def key(enrollment_id: int) -> str:
    return f"{PREFIX}{int(enrollment_id)}"


def _lifetime() -> int:
    # Spread, as the persons' entries (lms.accounts.principal.lifetime): a class that opened the
    # course together does not come back to the database in the same second.
    return random.randint(TTL // 2, TTL)  # noqa: S311 - spreading expiries, not a secret


def read(registration: Any, user_id: int) -> PlayerEnrollment | None:
    """The kept state of this person's enrolment with this registration, or None (not kept, a
    tombstone, or not theirs): the caller reads the database."""
    enrollment_id = _ids.get(str(registration))
    if enrollment_id is None:
        return None
    state = _cache().get(key(enrollment_id))
    if (
        not isinstance(state, PlayerEnrollment)
        or state.user_id != user_id
        or str(state.registration) != str(registration)
    ):
        return None
    return state


def keep(state: PlayerEnrollment) -> None:
    """Keep a state just read from the database, unless an entry (a tombstone included) is
    there: a write that committed meanwhile has the last word."""
    if len(_ids) >= MAX_IDS:
        _ids.clear()
    _ids[str(state.registration)] = state.pk
    _cache().add(key(state.pk), state, _lifetime())


def replace(state: PlayerEnrollment) -> None:
    """Keep the state the player's own write left (a first view, a moved resume point), unless
    another write forgot the entry meanwhile (its tombstone stays: the next page reads the
    database)."""
    _ids[str(state.registration)] = state.pk
    set_unless(_cache(), key(state.pk), state, _lifetime(), TOMBSTONE)


def replace_and_queue(state: PlayerEnrollment, queue: str, item: bytes, flag: str) -> bool:
    """`replace(state)` and `item` pushed onto the list `queue` in one atomic Redis step
    (courses.first_views), the flag `flag` set unless set; True when the flag was set (the
    caller sends the drain). RedisError propagates, with nothing done or both."""
    _ids[str(state.registration)] = state.pk
    _stored, flagged = _cache().set_unless_push(
        key(state.pk), state, _lifetime(), TOMBSTONE, queue, item, flag
    )
    return bool(flagged)


def forget_many(enrollment_ids: Iterable[int | None]) -> None:
    """Tombstones over these enrolments' states, now and once the transaction commits (once,
    outside a transaction: the write has committed)."""
    keys = sorted({key(pk) for pk in enrollment_ids if pk is not None})
    if not keys:
        return

    def bury() -> None:
        for start in range(0, len(keys), 1000):
            _cache().set_many(dict.fromkeys(keys[start : start + 1000], TOMBSTONE), FORGET_SECONDS)

    bury()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bury)


def forget(enrollment_id: int | None) -> None:
    forget_many([enrollment_id])
