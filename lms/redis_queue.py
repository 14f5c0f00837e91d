"""Work written behind: rows queued in a Redis list by a request, written to the database in
batches by a drain (a Celery task) that holds a lock. Used by the LRS's buffered ingest
(lms.xapi.buffer) and the lesson player's first views (courses.first_views).

A queue's keys: <name> (the rows waiting), <name>:processing (the batch a drain is writing; a
crashed drain's batch is written again first), <name>:lock (one drain at a time) and
<name>:scheduled (a drain task is on its way; set with the push that found it unset).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings

# Push ARGV's rows onto KEYS[1]; set the drain-scheduled flag KEYS[2] for 500 ms if unset.
# Returns 2 when the caller is to send a drain task, else 1.
PUSH = """
for i = 1, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', 500) then return 2 end
return 1
"""

# Move up to ARGV[1] rows from the queue KEYS[1] to the processing list KEYS[2], atomically (a
# crash leaves them in one list or the other); a leftover processing batch is returned first,
# unmoved.
MOVE = """
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

# Delete the lock KEYS[1] if it still holds this drain's token ARGV[1].
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

LOCK_MS = 60_000


def turned_on(name: str) -> bool:
    """Whether writing behind named by the setting `name` is on (the setting, else the
    environment variable of that name: "1", "true", "yes", "on"), with Redis configured."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "")
    if isinstance(value, str):
        value = value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value) and bool(getattr(settings, "REDIS_URL", ""))


class Busy(Exception):
    """Another drain held the lock past the wait."""


class Queue:
    """The keys of one queue and the drain's steps, on the Redis client `client()` gives."""

    def __init__(
        self,
        name: str,
        client: Callable[[], Any],
        *,
        processing: str = "",
        lock: str = "",
        scheduled: str = "",
    ) -> None:
        self.name = name
        self.processing = processing or f"{name}:processing"
        self.lock = lock or f"{name}:lock"
        self.scheduled = scheduled or f"{name}:scheduled"
        self._client = client
        self._push: Any = None

    def push(self, rows: list[bytes]) -> bool:
        """Queue the rows in one atomic round trip; True when the caller is to send a drain
        task (none was on its way). RedisError propagates."""
        if self._push is None:
            self._push = self._client().register_script(PUSH)
        return self._push(keys=[self.name, self.scheduled], args=rows) == 2

    def pending(self) -> bool:
        """Whether anything waits to be written (one round trip)."""
        return bool(self._client().exists(self.name, self.processing))

    def take_schedule(self) -> bool:
        """Whether rows wait with no drain on its way, the flag then set (the caller sends a
        drain): after a drain that found the lock held past its wait, or failed on Redis, what
        waits would otherwise wait for the next push."""
        return self.pending() and bool(self._client().set(self.scheduled, "1", nx=True, px=500))

    def move_batch(self, limit: int) -> list[bytes]:
        return list(self._client().eval(MOVE, 2, self.name, self.processing, limit))

    def drain(
        self,
        write: Callable[[list[bytes]], int],
        *,
        batch: int,
        wait: float,
        until_empty: bool = True,
    ) -> int:
        """Write what waits, batch by batch, under the lock; returns the sum of `write`'s
        answers. Another drain holding the lock past `wait`: Busy. until_empty=False: stop at
        the first batch that is not full (what arrives meanwhile scheduled its own drain)."""
        if not self.pending():
            return 0
        r = self._client()
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not r.set(self.lock, token, nx=True, px=LOCK_MS):
            if time.monotonic() > deadline:
                raise Busy
            time.sleep(0.005)
            if not self.pending():
                return 0
        written = 0
        # A crashed drain's batch comes first and may be short: the queue behind it is written.
        leftover = not until_empty and bool(r.exists(self.processing))
        try:
            while True:
                items = self.move_batch(batch)
                if not items:
                    break
                written += write(items)
                r.delete(self.processing)
                if not until_empty and len(items) < batch and not leftover:
                    break
                leftover = False
        finally:
            r.eval(UNLOCK, 1, self.lock, token)
        return written
