"""A Redis connection that each thread of each process holds, for the hottest commands.

A command through `redis.Redis` takes a connection from the pool and gives it back, wraps the call
in redis-py's retry and observability layers and looks up a response callback: about 80 µs of CPU
per command on the 2-core test machine, against 45 µs for sending the command and reading the
answer on a connection the thread holds (docs/performance/hot_paths.md). Used by the cache's
reads (lms.cache: every signed-in page starts with one) and the xAPI buffer's accept (every
statement a launched activity sends).

A held connection that fails is dropped and `call` returns FAILED: the caller then does the
command the usual way, with redis-py's retries. A forked process or another thread never shares
one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

FAILED = object()


class HeldConnection:
    def __init__(self, pool: Callable[[], Any]) -> None:
        self._pool = pool  # the redis-py connection pool to make the connection from
        self._local = threading.local()

    @property
    def held(self) -> Any:
        """This thread's connection, None when it holds none (for tests)."""
        return getattr(self._local, "conn", None)

    def _connection(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = self._pool().make_connection()
            local.conn, local.pid = conn, os.getpid()
        return conn

    def call(self, *command: Any) -> Any:
        """The answer to `command`, or FAILED (the connection is dropped; do it another way)."""
        try:
            conn = self._connection()
            conn.send_command(*command)
            return conn.read_response()
        except (RedisError, OSError):
            self.drop()
            return FAILED
        except BaseException:
            self.drop()  # an answer may be left unread on it
            raise

    def drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.disconnect()
