"""A Celery worker's database connection lives across tasks as a web process's lives across
requests (lms/celery.py): kept while younger than CONN_MAX_AGE, renewed when older."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
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


@dataclass
class Worker:
    name: str  # its queue, and its connections' application name
    log: Path


@pytest.fixture
def worker(
    require_postgres: None,
    require_redis: str,
    db: None,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Worker]:
    """A real worker process (prefork, one child) on a queue of its own, connected to the test
    database under the queue's name, with the `DB_CONN_MAX_AGE` of the test's parameter."""
    name = f"lms-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and worker
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--pool=prefork",
             "--concurrency=1", "-Q", name, "-n", f"{name}@%h", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=environment(
                DATABASE_URL=database_url(application_name=name),
                REDIS_URL=settings.REDIS_URL,
                DB_CONN_MAX_AGE=request.param,
            ),
            cwd=settings.BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield Worker(name, log)
    finally:
        stop(process, timeout=30)


def _run_tasks(worker: Worker, count: int) -> list[set[int]]:
    """Run `count` tasks one after the other; after each, the worker's backends once its task
    has ended (the fix-up closes after the result is stored: waited for until stable)."""
    from celery.exceptions import TimeoutError as NoResult

    from lms.celery import app

    seen = []
    for _ in range(count):
        try:
            assert app.send_task(TASK, args=[0, []], queue=worker.name).get(timeout=90) == 0
        except NoResult:
            pytest.fail("the worker ran no task; its log:\n" + worker.log.read_text()[-3000:])
        last, stable_since = _backends(worker.name), time.monotonic()
        while time.monotonic() - stable_since < 0.5:
            time.sleep(0.05)
            now = _backends(worker.name)
            if now != last:
                last, stable_since = now, time.monotonic()
        seen.append(last)
    return seen


@pytest.mark.parametrize("worker", ["60"], indirect=True)
def test_a_worker_keeps_its_database_connection_between_tasks(
    worker: Worker, monkeypatch: Any
) -> None:
    from lms.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    seen = _run_tasks(worker, count=4)
    # one backend, the same after every task (Celery's fix-up alone closed it after each: none)
    assert len(seen[0]) == 1, seen
    assert all(backends == seen[0] for backends in seen), seen


@pytest.mark.parametrize("worker", ["0"], indirect=True)
def test_a_worker_renews_a_connection_older_than_its_age_limit(
    worker: Worker, monkeypatch: Any
) -> None:
    from lms.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    # CONN_MAX_AGE=0, as for a request: closed after each task, nothing left open between them
    assert _run_tasks(worker, count=3) == [set(), set(), set()]
