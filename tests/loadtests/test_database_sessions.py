"""The load test counts the connections PostgreSQL accepted during a phase
(loadtests.run.database_sessions): a connection opened per request or per task shows there."""

from __future__ import annotations

import time

import psycopg

from loadtests.run import database_sessions
from tests.processes import database_url


def _settled(before: int, at_least: int) -> int:
    deadline = time.monotonic() + 5
    while (now := database_sessions()) < before + at_least and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def test_each_new_connection_is_counted_and_a_kept_one_is_not(
    require_postgres: None, db: None
) -> None:
    before = database_sessions()
    for _ in range(3):
        with psycopg.connect(database_url()) as other:
            other.execute("SELECT 1")
    after = _settled(before, 3)
    assert after - before >= 3
    # the counting connection itself is kept: reading again and again opens none
    for _ in range(5):
        database_sessions()
    time.sleep(1.2)  # longer than a backend's delay in reporting
    assert database_sessions() - after <= 1  # at most one other session of the test run
