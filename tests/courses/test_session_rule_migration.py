"""courses 0004's check before its constraint: a database holding two sessions of one run at
the same start and end is refused with the runs, times and session ids to fix (nothing merged or
deleted), rather than with PostgreSQL's error on the index; a database without any passes."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from courses.models import Session
from tests.courses.factories import RunFactory

pytestmark = pytest.mark.django_db

check = import_module("courses.migrations.0004_session_session_unique_run_times")


def test_sessions_at_the_same_times_stop_the_migration_with_what_to_fix(
    require_postgres: None,
) -> None:
    run, other = RunFactory(code="ACAD-2026-01"), RunFactory(code="ACAD-2026-02")
    start = timezone.now().replace(microsecond=0)
    end = start + timedelta(hours=3)
    with connection.cursor() as cursor:  # as before the rule (rolled back with the test)
        cursor.execute("ALTER TABLE courses_session DROP CONSTRAINT session_unique_run_times")
    twins = [Session.objects.create(run=run, starts_at=start, ends_at=end) for _ in range(2)]
    Session.objects.create(run=run, starts_at=start + timedelta(days=1), ends_at=end)
    Session.objects.create(run=other, starts_at=start, ends_at=end)  # another run: allowed
    with pytest.raises(RuntimeError) as refused:
        check.refuse_sessions_at_the_same_times(apps, None)
    message = str(refused.value)
    assert "run ACAD-2026-01" in message
    assert f"sessions {twins[0].pk}, {twins[1].pk}" in message
    assert "ACAD-2026-02" not in message
    assert Session.objects.filter(run=run).count() == 3  # nothing deleted

    Session.objects.filter(pk=twins[1].pk).delete()
    check.refuse_sessions_at_the_same_times(apps, None)  # fixed: passes
