"""Redis connections held by the process for the hottest commands, outside redis-py's layers.

A command through `redis.Redis` takes a connection from the pool and gives it back, wraps the call
in redis-py's retry and observability layers and looks up a response callback: about 80 µs of CPU
per command on the 2-core test machine, against 45 µs for sending the command and reading the
answer on a held connection (docs/performance/hot_paths.md). Used by the cache's
reads (lms.cache: every signed-in page starts with one) and the xAPI buffer's accept (every
statement a launched activity sends).

Connections are kept per process in a free list, not per thread: a thread takes one for a command
and gives it back, so a server that runs each request in a new thread (Daphne, Django's ASGI
handler) reuses the same few connections instead of opening one per request. They are made
outside redis-py's pool (which counts what it made and refuses more past its maximum) and
never given to it.

A connection that fails is dropped and `call` returns FAILED: the caller then does the command
the usual way, with redis-py's retries. Two threads never use one connection at once, and a
forked process starts with none.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

FAILED = object()


class HeldConnection:
    def __init__(self, pool: Callable[[], Any]) -> None:
        self._pool = pool  # the redis-py connection pool whose settings the connections take
        self._free: deque[Any] = deque()
        self._pid = os.getpid()

    @property
    def held(self) -> Any:
        """The connection the next command will take, None when none is free (for tests)."""
        return self._free[-1] if self._free and self._pid == os.getpid() else None

    @property
    def kept(self) -> int:
        """How many connections wait in the free list (for tests)."""
        return len(self._free)

    def _take(self) -> Any:
        if self._pid != os.getpid():  # forked: the parent's sockets are not this process's
            self._free, self._pid = deque(), os.getpid()
        try:
            return self._free.pop()  # atomic: no two threads take the same one
        except IndexError:
            pool = self._pool()
            return pool.connection_class(**pool.connection_kwargs)

    def call(self, *command: Any) -> Any:
        """The answer to `command`, or FAILED (the connection is dropped; do it another way)."""
        conn = None
        try:
            conn = self._take()
            conn.send_command(*command)
            answer = conn.read_response()
        except (RedisError, OSError):
            _close(conn)
            return FAILED
        except BaseException:
            _close(conn)  # an answer may be left unread on it
            raise
        self._free.append(conn)
        return answer


def _close(conn: Any) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.disconnect()
