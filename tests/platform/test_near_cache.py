"""The process's near cache of sessions and persons (lms/near_cache.py), against the real Redis:
served from memory only while Redis is telling the process what changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from lms.accounts import principal
from lms.near_cache import NearCache

pytestmark = pytest.mark.django_db


def eventually(check: Callable[[], bool], seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


def held(near: NearCache, key: str) -> bool:
    """Read `key` until this process keeps it (the message of its own last write may come after
    the first read and keep that read from being stored)."""
    return eventually(
        lambda: cache.get(key) is not None and bool(near.lookup([cache.make_key(key)]))
    )


@pytest.fixture
def near(require_redis: str) -> NearCache:
    near = cache._cache.near  # type: ignore[attr-defined]
    assert near is not None, "the Redis cache keeps sessions and persons near"
    assert near.wait_live(), "the listener registers with Redis"
    return near


@pytest.fixture
def other_process(require_redis: str) -> Iterator[redis.Redis]:
    """A Redis client that is not this process's cache: what another web process writes."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


def test_sessions_and_persons_are_kept_near_other_keys_are_not(near: NearCache) -> None:
    assert near.covers(cache.make_key("django.contrib.sessions.cached_db" + "abc"))
    assert near.covers(cache.make_key(principal.cache_key(42)))
    assert not near.covers(cache.make_key("catalogue:body"))
    cache.set("catalogue:body", "x", 30)
    cache.get("catalogue:body")
    hits = near.hits
    assert cache.get("catalogue:body") == "x"
    assert near.hits == hits  # read from Redis again


def test_a_second_read_is_answered_from_memory_and_a_write_elsewhere_reaches_it(
    near: NearCache, other_process: redis.Redis
) -> None:
    key = principal.cache_key(987654)
    cache.set(key, {"name": "before"}, 60)
    assert cache.get(key) == {"name": "before"}  # read from Redis
    assert held(near, key)
    hits = near.hits
    assert cache.get(key) == {"name": "before"}
    assert near.hits == hits + 1

    # Another process writes the entry: Redis tells this one, which drops its copy.
    other_process.set(cache.make_key(key), b"7")
    assert eventually(lambda: cache.get(key) == 7)


def test_a_write_through_this_process_is_read_back_at_once(near: NearCache) -> None:
    key = principal.cache_key(987655)
    cache.set(key, "one", 60)
    assert cache.get(key) == "one"
    assert held(near, key)
    cache.set(key, "two", 60)
    assert cache.get(key) == "two"  # no waiting for Redis's message
    cache.delete(key)
    assert cache.get(key) is None
    cache.set_many({key: "three"}, 60)
    assert cache.get_many([key]) == {key: "three"}
    cache.delete_many([key])
    assert cache.get_many([key]) == {}


def test_a_session_ended_by_another_process_stops_signing_in_here(
    client: Client, learner: Any, near: NearCache, other_process: redis.Redis
) -> None:
    client.force_login(learner)
    catalogue = reverse("courses:catalogue")
    client.get(catalogue)  # sets the person hint
    session_key = client.session.session_key
    kept = [
        cache.make_key("django.contrib.sessions.cached_db" + session_key),
        cache.make_key(principal.cache_key(learner.pk)),
    ]

    def both_held() -> bool:
        client.get(catalogue)
        return len(near.lookup(kept)) == 2

    assert eventually(both_held)
    hits = near.hits
    page = client.get(catalogue)
    assert near.hits >= hits + 2  # session and person from memory
    assert f">{learner.get_short_name()}</a>" in page.content.decode()

    # Signed out on another web process: the session's row and cache entry are gone.
    Session.objects.filter(session_key=session_key).delete()
    other_process.delete(cache.make_key("django.contrib.sessions.cached_db" + session_key))

    def signed_out() -> bool:
        return client.get(reverse("courses:my_learning")).status_code == 302

    assert eventually(signed_out)


def test_a_lost_listener_drops_every_copy_and_serves_from_redis_until_it_is_back(
    near: NearCache, other_process: redis.Redis
) -> None:
    key = principal.cache_key(987656)
    cache.set(key, "kept", 60)
    assert held(near, key)

    mine = [c for c in other_process.client_list() if c["name"] == near.connection_name]
    assert mine, "the listener's connection is open"
    assert "t" in mine[0]["flags"], "and tracking"
    other_process.client_kill_filter(_id=mine[0]["id"])
    assert eventually(lambda: near.lookup([cache.make_key(key)]) == {})

    # Written elsewhere while no one listened: the next read still sees it (from Redis).
    other_process.set(cache.make_key(key), b"8")
    assert cache.get(key) == 8
    assert near.wait_live(), "the listener registers again"
    assert held(near, key)  # kept again once registered
    assert cache.get(key) == 8


def test_a_read_that_an_invalidation_overtook_is_not_kept(near: NearCache) -> None:
    key = cache.make_key(principal.cache_key(987657))
    token = near.token()
    assert token is not None
    near.drop([key])  # an invalidation handled while the read was on its way
    near.store(token, {key: b"old"})
    assert near.lookup([key]) == {}
    token = near.token()
    assert token is not None
    near.store(token, {key: b"new"})
    assert near.lookup([key]) == {key: b"new"}
    near.drop([key])


def test_copies_expire_and_are_bounded(require_redis: str) -> None:
    from django.core.cache import caches

    pool = caches["default"]._cache._get_connection_pool(False)  # type: ignore[attr-defined]
    near = NearCache(lambda: pool, ["near-test:"], max_age=0.05, max_entries=3)
    try:
        assert near.wait_live()
        token = near.token()
        assert token is not None
        near.store(token, {f"near-test:{i}": b"v" for i in range(5)})
        assert set(near.lookup([f"near-test:{i}" for i in range(5)])) == {
            "near-test:2",
            "near-test:3",
            "near-test:4",
        }
        time.sleep(0.06)
        assert near.lookup([f"near-test:{i}" for i in range(5)]) == {}
    finally:
        near.stop()
    assert near.token() is None or near.wait_live()  # a stopped cache starts again when used
    near.stop()
