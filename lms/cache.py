"""Django's Redis cache, keeping its client objects.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation; building
one fills a table of about 170 response callbacks, which profiled at a third of the cost of a
cache read on the hot pages (four reads per page). A `redis.Redis` object is thread-safe and
takes its connections from the pool Django already keeps, so one per pool serves every call.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from lms.near_cache import NearCache
from lms.redis_held import FAILED, HeldConnection

# One near cache per process and server set (Django builds a cache backend per thread).
_NEAR: dict[tuple[tuple[str, ...], tuple[str, ...]], NearCache] = {}
_NEAR_LOCK = threading.Lock()


def near_cache(servers: list[str], prefixes: list[str], pool: Any) -> NearCache:
    key = (tuple(servers), tuple(prefixes))
    with _NEAR_LOCK:
        near = _NEAR.get(key)
        if near is None:
            near = _NEAR[key] = NearCache(pool, prefixes)
        return near


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

    # The sessions' and persons' entries are answered from the process's near cache when it
    # holds them (lms.near_cache); writes through this client drop its copies at once.
    near: NearCache | None = None

    def get(self, key: Any, default: Any) -> Any:
        raw = self._read([key]).get(key)
        return default if raw is None else self._serializer.loads(raw)  # type: ignore[attr-defined]

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        loads = self._serializer.loads  # type: ignore[attr-defined]
        return {k: loads(v) for k, v in self._read(keys).items()}

    def _read(self, keys: list[Any]) -> dict[Any, bytes]:
        near = self.near
        token = None
        found: dict[Any, bytes] = {}
        if near is not None and all(near.covers(k) for k in keys):
            token = near.token()
            if token is not None:
                found = near.lookup(keys)
                if len(found) == len(keys):
                    return found
                keys = [k for k in keys if k not in found]
        values = self._held.call("MGET", *keys)
        if values is FAILED:
            values = self.get_client(None).mget(keys)
        read = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
        if token is not None:
            near.store(token, read)  # type: ignore[union-attr]
        found.update(read)
        return found

    def _dropped(self, keys: Any) -> None:
        near = self.near
        if near is not None:
            covered = [k for k in keys if near.covers(k)]
            if covered:
                near.drop(covered)

    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        try:
            return super().add(key, value, timeout)  # type: ignore[no-untyped-call]
        finally:
            self._dropped([key])

    def set(self, key: Any, value: Any, timeout: Any) -> Any:
        try:
            return super().set(key, value, timeout)  # type: ignore[no-untyped-call]
        finally:
            self._dropped([key])

    def delete(self, key: Any) -> Any:
        try:
            return super().delete(key)  # type: ignore[no-untyped-call]
        finally:
            self._dropped([key])

    def incr(self, key: Any, delta: Any) -> Any:
        try:
            return super().incr(key, delta)  # type: ignore[no-untyped-call]
        finally:
            self._dropped([key])

    def set_many(self, data: Any, timeout: Any) -> Any:
        try:
            return super().set_many(data, timeout)  # type: ignore[no-untyped-call]
        finally:
            self._dropped(list(data))

    # SET unless the key holds `marker` (a tombstone): one script, atomic in Redis.
    _SET_UNLESS = (
        "if redis.call('GET', KEYS[1]) == ARGV[2] then return 0 end "
        "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) return 1"
    )
    # The same, and an item pushed onto a list with a flag set for 500 ms if unset (work written
    # behind: the item queued, the drain's flag). Returns 1 (set) + 2 (flag set).
    _SET_UNLESS_PUSH = """
redis.call('RPUSH', KEYS[2], ARGV[4])
local done = 0
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  done = 1
end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', 500) then done = done + 2 end
return done
"""
    _scripts: dict[str, Any] | None = None

    def _write_script(self, source: str, key: Any, keys: list[Any], args: list[Any]) -> int:
        """Run a writing script (registered once) on a held connection, through redis-py when
        that fails (it loads the script again and retries); the near copy of `key` is dropped.
        A script run twice (an answer lost) must do no harm: these only set, or push items
        their drains write once."""
        scripts = self._scripts
        if scripts is None:
            scripts = self._scripts = {}
        script = scripts.get(source)
        if script is None:
            script = scripts[source] = self.get_client(None, write=True).register_script(source)
        try:
            done = self._held.call("EVALSHA", script.sha, len(keys), *keys, *args)
            if done is FAILED:
                done = script(keys=keys, args=args)
        finally:
            self._dropped([key])
        return int(done)

    def set_unless(self, key: Any, value: Any, timeout: int, marker: Any) -> bool:
        dumps = self._serializer.dumps  # type: ignore[attr-defined]
        args = [dumps(value), dumps(marker), max(1, timeout)]
        return bool(self._write_script(self._SET_UNLESS, key, [key], args))

    def set_unless_push(
        self, key: Any, value: Any, timeout: int, marker: Any, queue: str, item: bytes, flag: str
    ) -> tuple[bool, bool]:
        dumps = self._serializer.dumps  # type: ignore[attr-defined]
        args = [dumps(value), dumps(marker), max(1, timeout), item]
        done = self._write_script(self._SET_UNLESS_PUSH, key, [key, queue, flag], args)
        return bool(done & 1), bool(done & 2)

    def delete_many(self, keys: Any) -> Any:
        keys = list(keys)
        try:
            return super().delete_many(keys)  # type: ignore[no-untyped-call]
        finally:
            self._dropped(keys)

    def clear(self) -> Any:
        try:
            return super().clear()  # type: ignore[no-untyped-call]
        finally:
            if self.near is not None:
                self.near.drop(None)


class RedisCache(DjangoRedisCache):
    """OPTIONS may name `near_prefixes`: keys (before the cache's own prefix and version) whose
    entries each process keeps a coherent copy of (lms.near_cache)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        self._near_prefixes: list[str] = list(options.pop("near_prefixes", []))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingRedisCacheClient

    @cached_property
    def _cache(self) -> ReusingRedisCacheClient:
        servers: list[str] = self._servers  # type: ignore[attr-defined]
        client: ReusingRedisCacheClient = self._class(servers, **self._options)  # type: ignore[attr-defined]
        if self._near_prefixes:
            client.near = near_cache(
                servers,
                [self.make_key(p) for p in self._near_prefixes],
                lambda: client._get_connection_pool(False),  # type: ignore[attr-defined]
            )
        return client

    def set_unless(self, key: Any, value: Any, timeout: int, marker: Any) -> bool:
        """Set `key` to `value` for `timeout` seconds unless it holds `marker` now, atomically
        (False: it did, nothing written). lms.cache.set_unless for any backend."""
        return self._cache.set_unless(self.make_and_validate_key(key), value, timeout, marker)

    def set_unless_push(
        self, key: Any, value: Any, timeout: int, marker: Any, queue: str, item: bytes, flag: str
    ) -> tuple[bool, bool]:
        """set_unless(key, value, timeout, marker) and, in the same atomic step, `item` pushed
        onto the list `queue` (a raw key, beside the cache's) and the flag `flag` set for 500 ms
        unless set. Returns (whether the value was set, whether the flag was set: the caller
        sends the drain). RedisError propagates."""
        return self._cache.set_unless_push(
            self.make_and_validate_key(key), value, timeout, marker, queue, item, flag
        )

    def redis(self) -> Any:
        """The redis-py client of the cache's server (raw keys beside the cache's)."""
        return self._cache.get_client(None, write=True)

    def validate_key(self, key: Any) -> None:
        """Nothing to check. Django's base class warns about keys memcached would refuse (over
        250 characters, spaces, control characters), with a pattern it compiles lazily: it
        profiled at 4 % of the catalogue's time (the session and person read first, then the
        page's entries). Redis takes any key, and this backend is the only one configured."""


def set_unless(cache: Any, key: str, value: Any, timeout: int, marker: Any) -> bool:
    """`cache.set(key, value, timeout)` unless the entry holds `marker` (a tombstone another
    writer left): atomic on Redis (a script), a read then a write on other backends (the bare
    laptop's process-local cache, one process). False when the marker was there."""
    if isinstance(cache, RedisCache):
        return cache.set_unless(key, value, timeout, marker)
    if cache.get(key) == marker:
        return False
    cache.set(key, value, timeout)
    return True
