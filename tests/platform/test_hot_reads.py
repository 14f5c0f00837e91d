"""Two cuts on every signed-in page: the CSRF mask drawn from one os.urandom call
(lms.chrome.mask_csrf_secret) and cache reads on a connection the thread holds (lms.cache)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
from django.test import Client
from django.urls import reverse

from lms import chrome

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_masks_unmask_to_the_secret_and_draw_every_character() -> None:
    secret = "aZ09" * 8
    tokens = {chrome.mask_csrf_secret(secret) for _ in range(3000)}
    assert len(tokens) == 3000
    for token in tokens:
        assert len(token) == 64
        assert set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
    drawn = "".join(token[:32] for token in tokens)
    counts = [drawn.count(c) for c in CSRF_ALLOWED_CHARS]
    # 96,000 draws over 62 characters: about 1,548 each; a biased draw (byte % 62 without
    # rejection) gives the first 8 characters about 1,875
    assert min(counts) > 1350
    assert max(counts) < 1750


def test_pages_after_the_first_carry_tokens_of_the_browser_s_secret(learner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    first = client.get(reverse("courses:catalogue"))
    secret = first.cookies[settings.CSRF_COOKIE_NAME].value
    tokens = []
    for _ in range(2):  # the browser now sends the secret: the token is masked by chrome
        page = client.get(reverse("courses:catalogue"))
        found = TOKEN.search(page.content.decode())
        assert found is not None
        tokens.append(found.group(1))
        assert _unmask_cipher_token(found.group(1)) == secret
        # the cookie is not sent again: the browser keeps the one it holds
        assert settings.CSRF_COOKIE_NAME not in page.cookies
        assert client.cookies[settings.CSRF_COOKIE_NAME].value == secret
    assert tokens[0] != tokens[1]
    for token in tokens:
        response = client.post(
            reverse("accounts:set_language"),
            {"language": "fr", "next": "/", "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302
    forged = tokens[0][:32] + tokens[1][32:]
    refused = client.post(
        reverse("accounts:set_language"), {"language": "es", "csrfmiddlewaretoken": forged}
    )
    assert refused.status_code == 403


def test_a_malformed_secret_cookie_gets_a_new_secret(learner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    client.cookies[settings.CSRF_COOKIE_NAME] = "not-a-secret!"
    page = client.get(reverse("courses:catalogue"))
    secret = page.cookies[settings.CSRF_COOKIE_NAME].value
    assert re.fullmatch(r"[a-zA-Z0-9]{32}", secret)
    found = TOKEN.search(page.content.decode())
    assert found is not None
    assert _unmask_cipher_token(found.group(1)) == secret


@pytest.fixture
def redis_cache(require_redis: str) -> Any:
    cache = caches["default"]
    cache.set("hot-read:a", {"a": 1}, 30)
    cache.set("hot-read:b", [2], 30)
    yield cache
    cache.delete_many(["hot-read:a", "hot-read:b"])


def _held(cache: Any) -> Any:
    return cache._cache._held.held


def test_reads_use_one_held_connection(redis_cache: Any) -> None:
    assert redis_cache.get("hot-read:a") == {"a": 1}
    conn = _held(redis_cache)
    assert conn is not None
    assert redis_cache.get_many(["hot-read:a", "hot-read:b", "hot-read:none"]) == {
        "hot-read:a": {"a": 1},
        "hot-read:b": [2],
    }
    assert redis_cache.get("hot-read:none", "default") == "default"
    assert redis_cache.get_many([]) == {}
    assert _held(redis_cache) is conn


def test_a_broken_held_connection_is_replaced_and_the_read_still_answers(
    redis_cache: Any,
) -> None:
    redis_cache.get("hot-read:a")
    broken = _held(redis_cache)
    broken._sock.close()  # as a Redis restart or a dropped socket leaves it
    assert redis_cache.get_many(["hot-read:a", "hot-read:b"]) == {
        "hot-read:a": {"a": 1},
        "hot-read:b": [2],
    }
    assert _held(redis_cache) is None  # dropped; the read went through redis-py
    assert redis_cache.get("hot-read:b") == [2]
    assert _held(redis_cache) not in (None, broken)


def test_threads_and_forked_processes_never_share_a_held_connection(redis_cache: Any) -> None:
    """Threads in flight at once each take their own; a thread that ends leaves its connection
    to the next (Daphne runs each request in a new thread); a forked process starts afresh."""
    redis_cache.get("hot-read:a")
    mine = _held(redis_cache)
    held = redis_cache._cache._held
    started, release = threading.Barrier(2), threading.Event()
    theirs: list[Any] = []
    original_take = held._take

    def take() -> Any:
        conn = original_take()
        theirs.append(conn)
        started.wait(timeout=5)  # both threads hold theirs at the same time
        release.wait(timeout=5)
        return conn

    held._take = take
    try:
        threads = [threading.Thread(target=redis_cache.get, args=("hot-read:b",)) for _ in "ab"]
        for thread in threads:
            thread.start()
        release.set()
        for thread in threads:
            thread.join()
    finally:
        del held._take
    assert len(theirs) == 2
    assert theirs[0] is not theirs[1]
    assert mine in theirs
    assert held.kept == 2

    # A hundred and fifty requests, each in a thread of its own, one after the other: the same
    # connection serves them all, and redis-py's pool (100 at most) is not drawn on.
    pool = redis_cache._cache._get_connection_pool(False)
    made = pool._created_connections
    for _ in range(150):
        thread = threading.Thread(target=redis_cache.get, args=("hot-read:a",))
        thread.start()
        thread.join()
    assert held.kept == 2
    assert pool._created_connections == made

    held._pid = -1  # as a process forked after the reads would see it
    assert redis_cache.get("hot-read:a") == {"a": 1}
    assert _held(redis_cache) not in theirs
