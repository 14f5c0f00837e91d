"""Django's Redis cache, keeping its client objects.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation; building
one fills a table of about 170 response callbacks, which profiled at a third of the cost of a
cache read on the hot pages (four reads per page). A `redis.Redis` object is thread-safe and
takes its connections from the pool Django already keeps, so one per pool serves every call.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from lms.redis_held import FAILED, HeldConnection


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._held = HeldConnection(lambda: self._get_connection_pool(False))  # type: ignore[attr-defined]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            self._clients[index] = client
        return client

    # Reads on a connection the thread holds (lms.redis_held): a cache read is the first thing
    # every signed-in page does (lms.accounts.sessions), the lesson player makes two.

    def get(self, key: Any, default: Any) -> Any:
        value = self._held.call("GET", key)
        if value is FAILED:
            return super().get(key, default)  # type: ignore[no-untyped-call]
        return default if value is None else self._serializer.loads(value)  # type: ignore[attr-defined]

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        values = self._held.call("MGET", *keys)
        if values is FAILED:
            return super().get_many(keys)  # type: ignore[no-any-return, no-untyped-call]
        loads = self._serializer.loads  # type: ignore[attr-defined]
        return {k: loads(v) for k, v in zip(keys, values, strict=True) if v is not None}


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
