"""Process-local copies of the hottest cache entries, kept coherent by Redis itself.

Every signed-in page starts by reading its session and its person (lms.accounts.sessions) from
Redis: one round trip, 18 % of a signed-in minimal view's time and as much again of Redis's and
the kernel's (docs/performance/hot_paths.md). Most of those reads return what the same process
read a moment before. Here each process keeps the raw bytes of the entries under a few key
prefixes and answers from them, and Redis tells it when one changes: server-assisted
client-side caching (`CLIENT TRACKING ... BCAST PREFIX`, Redis 6 and later, RESP3). A thread of
the process holds one connection that Redis sends an `invalidate` message on whenever a key
under those prefixes is written, deleted, expires or is evicted, and on a flush.

Nothing is served from memory unless that connection is known to be listening:

- The copies are used only while the listener is registered. When its connection fails or goes
  quiet (a PING every PING_SECONDS, answered within DEAD_SECONDS), every copy is dropped and
  reads go to Redis until a new connection has registered again.
- A read from Redis is kept only if its key was not invalidated, and the listener did not
  reconnect, between taking the token before the read and storing its answer: a write that lands
  after the read and whose message is handled before the store cannot leave its old value
  behind. (The last RECENT invalidations are remembered for this; a read older than those is
  not kept at all.)
- Writes made through this process's cache (session saves, a person's entry forgotten, a
  sign-out) drop the local copies at once, before the write call returns: a process reads its
  own writes. Other processes drop theirs when the message arrives: milliseconds, the time for
  the listener thread to be scheduled.
- Every copy is also dropped after MAX_AGE seconds whatever happens, and the process keeps at
  most MAX_ENTRIES of them (the oldest go first).

Without Redis 6, without RESP3, or when the server refuses CLIENT TRACKING, the listener gives up
and every read goes to Redis as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

MAX_AGE = 60.0
MAX_ENTRIES = 20_000
PING_SECONDS = 1.0
DEAD_SECONDS = 3.0
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
RECENT = 4096


class NearCache:
    def __init__(
        self,
        pool: Callable[[], Any],
        prefixes: Iterable[str],
        *,
        max_age: float = MAX_AGE,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._pool = pool  # the redis-py connection pool whose settings the listener takes
        self.prefixes = tuple(prefixes)
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._seq = 0  # moves on every invalidation, drop and (re)registration
        self._recent: deque[tuple[int, str]] = deque()  # (seq, key) of the last drops
        self._forgotten_through = 0  # drops up to this seq are no longer in _recent
        self._live = False
        self._given_up = False
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.hits = 0  # for tests and profiling

    # -- reads -----------------------------------------------------------------------------

    def covers(self, key: str) -> bool:
        return key.startswith(self.prefixes)

    def token(self) -> int | None:
        """Taken before a read from Redis; None while no listener is registered (then nothing
        is served from or kept in memory)."""
        if self._pid != os.getpid():
            self._start()
        return self._seq if self._live else None

    def lookup(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The raw values held for those keys (only those held and not too old)."""
        found: dict[str, bytes] = {}
        oldest = time.monotonic() - self.max_age
        entries = self._entries
        for key in keys:
            held = entries.get(key)
            if held is not None and held[1] > oldest:
                found[key] = held[0]
        self.hits += len(found)
        return found

    def store(self, token: int, values: dict[str, bytes]) -> None:
        """Keep what a read from Redis returned, unless anything was invalidated since `token`."""
        if not values:
            return
        now = time.monotonic()
        with self._lock:
            if not self._live or token < self._forgotten_through:
                return
            stale = set()
            for seq, key in reversed(self._recent):
                if seq <= token:
                    break
                stale.add(key)
            entries = self._entries
            for key, raw in values.items():
                if key in stale:
                    continue
                if len(entries) >= self.max_entries and key not in entries:
                    entries.pop(next(iter(entries)))
                entries[key] = (raw, now)

    # -- writes and invalidations ------------------------------------------------------------

    def drop(self, keys: Iterable[str] | None) -> None:
        """Forget these keys (None: all of them)."""
        with self._lock:
            self._seq += 1
            if keys is None:
                self._drop_all()
                return
            recent = self._recent
            for key in keys:
                self._entries.pop(key, None)
                if len(recent) >= RECENT:
                    self._forgotten_through = recent.popleft()[0]
                recent.append((self._seq, key))

    def _drop_all(self) -> None:
        """Forget everything, and every read begun before now (the lock is held)."""
        self._entries.clear()
        self._recent.clear()
        self._forgotten_through = self._seq

    def _invalidated(self, message: Any) -> None:
        keys = message[1] if len(message) > 1 else None
        self.drop(
            None if keys is None else [k.decode() if isinstance(k, bytes) else k for k in keys]
        )

    # -- the listener --------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A new process (or a fork): nothing of the parent's is known to be current.
            self._pid = os.getpid()
            self._entries = {}
            self._seq += 1
            self._drop_all()
            self._live = False
            self._given_up = False
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, name="near-cache-listener", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop listening (tests): copies are dropped and reads go to Redis."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=DEAD_SECONDS + 1)
        with self._lock:
            self._live = False
            self._pid = 0
            self._seq += 1
            self._drop_all()

    def wait_live(self, timeout: float = 5.0) -> bool:
        """Start the listener if needed and wait until it is registered (tests, warm-up)."""
        self.token()
        deadline = time.monotonic() + timeout
        while not self._live and time.monotonic() < deadline and not self._given_up:
            time.sleep(0.01)
        return self._live

    @property
    def connection_name(self) -> str:
        """The listener's name in CLIENT LIST (one per process)."""
        return f"lms-near-cache-{os.getpid()}-{id(self):x}"

    @property
    def live(self) -> bool:
        return self._live

    def _listen(self) -> None:
        failures = 0
        stop = self._stop
        while not stop.is_set() and not self._given_up:
            conn = None
            try:
                conn = self._register()
                failures = 0
                self._serve(conn, stop)
            except _Unsupported as exc:
                logger.warning("near cache off: %s", exc)
                self._given_up = True
            except Exception as exc:  # noqa: BLE001 - any failure: drop everything, try again
                logger.info("near cache listener lost its connection: %s", exc)
            finally:
                with self._lock:
                    self._live = False
                    self._seq += 1
                    self._drop_all()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.disconnect()
            if not stop.is_set() and not self._given_up:
                stop.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1

    def _register(self) -> Any:
        pool = self._pool()
        conn = pool.connection_class(**pool.connection_kwargs)
        conn.connect()
        if str(getattr(conn, "protocol", 2)) != "3":
            conn.disconnect()
            raise _Unsupported("the Redis connection does not speak RESP3")
        conn._parser.set_invalidation_push_handler(self._invalidated)
        conn.send_command("CLIENT", "SETNAME", self.connection_name)
        conn.read_response()
        command: list[Any] = ["CLIENT", "TRACKING", "ON", "BCAST"]
        for prefix in self.prefixes:
            command += ["PREFIX", prefix]
        conn.send_command(*command)
        try:
            conn.read_response()
        except Exception as exc:
            if "ERR" in str(exc) or "unknown" in str(exc).lower():
                raise _Unsupported(f"CLIENT TRACKING refused: {exc}") from exc
            raise
        with self._lock:
            self._seq += 1
            self._drop_all()
            self._live = True
        return conn

    def _serve(self, conn: Any, stop: threading.Event) -> None:
        last_heard = time.monotonic()
        pinged_at: float | None = None
        while not stop.is_set():
            if conn.can_read(timeout=PING_SECONDS / 2):
                answer = conn.read_response(push_request=True)
                last_heard = time.monotonic()
                if pinged_at is not None and answer in (b"PONG", "PONG"):
                    pinged_at = None
                continue
            now = time.monotonic()
            if pinged_at is not None:
                if now - pinged_at > DEAD_SECONDS:
                    raise ConnectionError("no answer to PING")
            elif now - last_heard >= PING_SECONDS:
                conn.send_command("PING")
                pinged_at = now


class _Unsupported(Exception):
    pass
