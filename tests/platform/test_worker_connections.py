"""A Celery worker's database connection lives across tasks as a web process's lives across
requests (lms/celery.py): kept while younger than CONN_MAX_AGE, renewed when older."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import database_url, environment, stop

TASK = "lms.xapi.tasks.forward_statements"  # with no such target: one query, nothing written


def _backends(name: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
        return {pid for (pid,) in cursor.fetchall()}


@pytest.fixture
def worker(
    require_postgres: None, require_redis: str, db: None, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A real worker process (prefork, one child) on a queue of its own, connected to the test
    database under the same name (yielded)."""
    max_age = request.param
    name = f"lms-test-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and worker
        [sys.executable, "-m", "celery", "-A", "lms", "worker", "--pool=prefork",
         "--concurrency=1", "-Q", name, "-n", f"{name}@%h", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=environment(DATABASE_URL=database_url(application_name=name), REDIS_URL=settings.REDIS_URL, DB_CONN_MAX_AGE=max_age),
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield name
    finally:
        stop(process, timeout=30)


def _run_tasks(name: str, count: int) -> list[set[int]]:
    """Run `count` tasks one after the other; after each, the worker's backends once its task
    has ended (the fix-up closes after the result is stored: waited for until stable)."""
    from lms.celery import app

    seen = []
    for _ in range(count):
        assert app.send_task(TASK, args=[0, []], queue=name).get(timeout=90) == 0
        last, stable_since = _backends(name), time.monotonic()
        while time.monotonic() - stable_since < 0.5:
            time.sleep(0.05)
            now = _backends(name)
            if now != last:
                last, stable_since = now, time.monotonic()
        seen.append(last)
    return seen


@pytest.mark.parametrize("worker", ["60"], indirect=True)
def test_a_worker_keeps_its_database_connection_between_tasks(
    worker: str, monkeypatch: Any
) -> None:
    from lms.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    seen = _run_tasks(worker, count=4)
    # one backend, the same after every task (Celery's fix-up alone closed it after each: none)
    assert len(seen[0]) == 1, seen
    assert all(backends == seen[0] for backends in seen), seen


@pytest.mark.parametrize("worker", ["0"], indirect=True)
def test_a_worker_renews_a_connection_older_than_its_age_limit(
    worker: str, monkeypatch: Any
) -> None:
    from lms.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    # CONN_MAX_AGE=0, as for a request: closed after each task, nothing left open between them
    assert _run_tasks(worker, count=3) == [set(), set(), set()]
