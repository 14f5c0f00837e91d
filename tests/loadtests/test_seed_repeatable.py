# ruff: noqa: S608  (table names come from model metadata)
"""The same seed gives the same rows: seeded twice (the enrolments in many small chunks, where
chunks inserting at once used to interleave their ids), the attendance marks, certificate codes
and statement ids are the same."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("require_postgres")]


def _fingerprint() -> dict[str, Any]:
    queries = {
        "attendance": "SELECT status, count(*) FROM courses_attendancerecord GROUP BY status ORDER BY status",
        "codes": "SELECT code FROM certification_certificate ORDER BY code",
        "statements": "SELECT statement_id::text FROM xapi_statement ORDER BY statement_id",
        "enrolments": "SELECT id, user_id, run_id FROM courses_enrollment ORDER BY id",
    }  # fmt: skip
    prints: dict[str, Any] = {}
    with connection.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            rows = cur.fetchall()
            prints[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return prints


def test_the_same_seed_gives_the_same_rows() -> None:
    from lms.accounts.member_states import ensure_member_states
    from loadtests.seeding import Seeder

    prints = []
    for _ in range(2):
        call_command("flush", interactive=False, verbosity=0)  # sequences from 1 again
        ensure_member_states()
        Seeder(learners=120, seed=11, progress=False, chunk=10).run()
        prints.append(_fingerprint())
    assert prints[0]["statements"][0] > 1000
    assert prints[0] == prints[1]
