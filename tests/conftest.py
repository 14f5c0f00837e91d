"""Shared fixtures: the real services, and people of each role.

With LMS_REQUIRE_SERVICES=1 (CI) a test that needs PostgreSQL, Redis or a Celery worker fails when
the service is missing instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from tests.factories import (
    InstitutionFactory,
    RoleAssignmentFactory,
    UniversityFactory,
    UserFactory,
)
from tests.processes import database_url, stop

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")


@pytest.fixture(autouse=True, scope="session")
def _fresh_cache() -> None:
    """Start every test session with an empty cache. Rows are cached by primary key (lessons,
    versions); a new test database numbers its rows from 1 again, so entries left in Redis by an
    earlier session would otherwise be served for unrelated rows. No worker is running yet, so
    emptying the Redis database (also the Celery broker's) loses nothing of this session."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception as exc:  # noqa: BLE001 - Redis down: the tests that need it say so
        if settings.LMS_REQUIRE_SERVICES:
            pytest.fail(f"cache not reachable: {exc}")


@pytest.fixture(autouse=True)
def _fresh_frozen_content() -> None:
    """No frozen course content kept in this process's memory from an earlier test (a test
    database may give a new version an id an earlier test's frozen version had)."""
    from courses.selectors import forget_frozen

    forget_frozen([])


@pytest.fixture(autouse=True)
def _fresh_recorded_activity() -> None:
    """No enrolment's activity remembered as recorded by an earlier test (a test database may
    give a new enrolment an id an earlier test's had)."""
    from lms.dashboards.services import forget_recorded

    forget_recorded()


@pytest.fixture(autouse=True)
def _language_of_the_settings() -> Iterator[None]:
    """Every test starts in the settings' language. A request through the test client runs in
    the test's thread, and Django's LocaleMiddleware leaves the page's language active after
    it: a French page left French number formats to whatever test ran next in the process
    (the dashboards' tile map read "Colombia : 12 (25,0 %)" after the community's tests)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    """A channel layer of the test's own. get_channel_layer() keeps one layer per process, and
    channels_redis binds an asyncio lock to the event loop that first waits on it; a later
    test's loop (each async_to_sync has its own) then failed with "bound to a different event
    loop", or not, by timing."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _member_states(request: pytest.FixtureRequest) -> None:
    """The 34 member states come from a data migration; a transactional test's flush removes
    them, so every database test gets them back."""
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server", "django_db_reset_sequences"}
        & set(request.fixturenames)
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from lms.accounts.member_states import ensure_member_states

    ensure_member_states()


def _missing(service: str, why: str) -> None:
    message = f"{service} is not available: {why}"
    if settings.LMS_REQUIRE_SERVICES:
        pytest.fail(message + " (LMS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def require_postgres() -> None:
    if not settings.IS_POSTGRES:
        _missing("PostgreSQL", "DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def require_redis() -> str:
    if not settings.REDIS_URL:
        _missing("Redis", "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _missing("Redis", str(exc))
    return settings.REDIS_URL


@pytest.fixture
def celery_worker(require_redis: str, transactional_db: None) -> Iterator[Any]:
    """A real Celery worker (threads) consuming from Redis for the duration of the test."""
    from celery.contrib.testing.worker import start_worker

    from lms.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def chromium_path() -> str:
    import shutil

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        _missing("Chromium", "Debian's chromium package is not installed")
    return path


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        # Every page a browser test opens keeps the site's Content-Security-Policy: a script,
        # style or connection the policy blocks fails the test (Chromium reports it on the
        # console).
        refused: list[str] = []
        new_context = instance.new_context

        def watched_context(*args: Any, **kwargs: Any) -> Any:
            context = new_context(*args, **kwargs)
            context.on(
                "console",
                lambda message: (
                    refused.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            return context

        instance.new_context = watched_context
        try:
            yield instance
        finally:
            instance.close()
        assert not refused, refused


@pytest.fixture
def asgi_live_server(
    transactional_db: None, require_postgres: None, require_redis: str
) -> Iterator[str]:
    """Daphne serving the LMS (HTTP and WebSocket) on a free port, on the test database."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_DEBUG="1",
        LMS_TESTING="1",
    )
    process = subprocess.Popen(  # noqa: S603 - our own server
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "lms.asgi:application",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - loopback
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    "Daphne did not start: "
                    + (process.stderr.read() if process.stderr else b"").decode()[-2000:]
                ) from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        stop(process)


def login_cookie(user: Any, url: str) -> dict[str, Any]:
    """A session cookie for `user`, to hand to a Playwright browser context."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


@pytest.fixture
def institution(db: None) -> Any:
    return InstitutionFactory()


@pytest.fixture
def other_institution(db: None) -> Any:
    return InstitutionFactory()


@pytest.fixture
def university(db: None) -> Any:
    return UniversityFactory()


@pytest.fixture
def learner(institution: Any) -> Any:
    return UserFactory(institution=institution)


@pytest.fixture
def coordinator(institution: Any) -> Any:
    user = UserFactory(institution=institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=institution)
    return user


@pytest.fixture
def instructor(institution: Any) -> Any:
    user = UserFactory(institution=institution)
    RoleAssignmentFactory(user=user, role="instructor", institution=institution)
    return user


@pytest.fixture
def validator(university: Any) -> Any:
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="validator", university=university)
    return user


@pytest.fixture
def dps_admin(db: None) -> Any:
    user = UserFactory(is_staff=True)
    RoleAssignmentFactory(user=user, role="dps_admin")
    return user
