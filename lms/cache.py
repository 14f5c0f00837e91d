"""Django's Redis cache, keeping its client objects.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation; building
one fills a table of about 170 response callbacks, which profiled at a third of the cost of a
cache read on the hot pages (four reads per page). A `redis.Redis` object is thread-safe and
takes its connections from the pool Django already keeps, so one per pool serves every call.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

_FAILED = object()


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._local = threading.local()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            self._clients[index] = client
        return client

    # Reads on a held connection --------------------------------------------------------------
    #
    # A read through redis.Redis takes a connection from the pool and gives it back, wraps the
    # call in its retry and observability layers and looks up a response callback: about 80 µs
    # of CPU per command on the 2-core test machine, against 45 µs for sending the command and
    # reading the answer on a connection held by the thread (docs/performance/hot_paths.md).
    # Every signed-in page starts with such a read (lms.accounts.sessions), the lesson player
    # makes two. A held connection that fails is dropped and the read is done again the usual
    # way, with redis-py's retries; a forked process or another thread never shares one.

    def _held(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            pool = self._get_connection_pool(False)  # type: ignore[attr-defined]
            conn = pool.make_connection()
            local.conn, local.pid = conn, os.getpid()
        return conn

    def _read(self, *command: Any) -> Any:
        try:
            conn = self._held()
            conn.send_command(*command)
            return conn.read_response()
        except (RedisError, OSError):
            self._drop_held()
            return _FAILED
        except BaseException:
            self._drop_held()  # an answer may be left unread on it
            raise

    def _drop_held(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.disconnect()

    def get(self, key: Any, default: Any) -> Any:
        value = self._read("GET", key)
        if value is _FAILED:
            return super().get(key, default)  # type: ignore[no-untyped-call]
        return default if value is None else self._serializer.loads(value)  # type: ignore[attr-defined]

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        values = self._read("MGET", *keys)
        if values is _FAILED:
            return super().get_many(keys)  # type: ignore[no-any-return, no-untyped-call]
        loads = self._serializer.loads  # type: ignore[attr-defined]
        return {k: loads(v) for k, v in zip(keys, values, strict=True) if v is not None}


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
