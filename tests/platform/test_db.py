"""lms.db: server-binding cursors, and prepared statements for the hot paths' SQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Enrollment
from lms.accounts.models import User
from lms.db import bound_cursor
from tests.courses.factories import enrol_in_text_course

pytestmark = pytest.mark.django_db


def _prepared(marker: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of this connection's prepared statements whose text holds
    `marker`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement NOT LIKE %s",
            [f"%{marker}%", "%pg_prepared_statements%"],
        )
        return [tuple(row) for row in cursor.fetchall()]


def test_a_query_asking_is_prepared_once_and_planned_generically(require_postgres: None) -> None:
    """Seven executions: one statement prepared on this connection; PostgreSQL keeps a generic
    plan after five custom ones. The query is logged with its values, as Django logs its own."""
    sql = "SELECT %s::bigint + 1 /* lms-db-test-prepared */"
    with CaptureQueriesContext(connection) as queries:
        for value in range(7):
            with bound_cursor(prepare=True) as cursor:
                cursor.execute(sql, [value])
                assert cursor.fetchone() == (value + 1,)
    assert _prepared("lms-db-test-prepared") == [(2, 5)]
    logged = [q["sql"] for q in queries.captured_queries]
    assert len(logged) == 7
    assert logged[3].startswith("SELECT 3::bigint + 1"), logged[3]


def test_nothing_is_prepared_unless_asked_or_when_turned_off(
    require_postgres: None, settings: Any
) -> None:
    """A bound cursor that does not ask, Django's own cursors (the ORM), and any cursor when
    DB_PREPARED_STATEMENTS is off prepare nothing; each still answers."""
    with bound_cursor(prepare=True) as cursor:  # the connection now prepares what asks
        cursor.execute("SELECT 1 /* lms-db-test-warm */")
    for _ in range(7):
        with bound_cursor() as cursor:
            cursor.execute("SELECT %s::int /* lms-db-test-unasked */", [1])
            assert cursor.fetchone() == (1,)
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int /* lms-db-test-django */", [2])
            assert cursor.fetchone() == (2,)
        assert User.objects.filter(email="lms-db-test-orm").count() == 0
    settings.DB_PREPARED_STATEMENTS = False
    for _ in range(7):
        with bound_cursor(prepare=True) as cursor:
            cursor.execute("SELECT %s::int /* lms-db-test-off */", [3])
            assert cursor.fetchone() == (3,)
    assert _prepared("lms-db-test-unasked") == []
    assert _prepared("lms-db-test-django") == []
    assert _prepared("lms-db-test-orm") == []
    assert _prepared("lms-db-test-off") == []


def test_a_database_error_in_a_prepared_query_is_djangos(require_postgres: None) -> None:
    """Errors come translated (django.db's exceptions), as from Django's cursors, and a value
    that cannot be a bigint is refused by the server, not quoted into the text."""
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic(), bound_cursor(prepare=True) as cursor:
        cursor.execute("SELECT %s::bigint /* lms-db-test-error */", ["1; DROP TABLE x"])


def test_lesson_pages_and_my_learning_send_prepared_statements(
    client: Client, learner: Any, require_postgres: None
) -> None:
    """A first view, revisits and My learning: their queries are prepared on the connection and
    the revisit's read (when its state is not kept beside the session: courses.player_state)
    runs its generic plan once PostgreSQL has settled on it."""
    from django.core.cache import caches

    from courses import player_state

    enrollment, ids = enrol_in_text_course(learner, 3)
    assert isinstance(enrollment, Enrollment)
    client.force_login(learner)
    lesson = reverse("courses:lesson", args=[enrollment.registration, ids[0]])
    for _ in range(8):
        caches["default"].delete(player_state.key(enrollment.pk))
        assert client.get(lesson).status_code == 200
        assert client.get(reverse("courses:my_learning")).status_code == 200
    read = _prepared("json_agg(json_build_array(p.lesson_id")
    assert read
    assert sum(generic + custom for generic, custom in read) >= 8, read
    assert any(generic for generic, _custom in read), read
    assert _prepared("COUNT(*) OVER ()"), "My learning's page is not prepared"
    assert _prepared("ON CONFLICT (enrollment_id, lesson_id) DO NOTHING"), "first view"
    assert _prepared("INSERT INTO dashboards_learneractivity"), "the activity upsert"


def test_bulk_update_writes_what_djangos_bulk_update_writes(require_postgres: None) -> None:
    """lms.db.bulk_update (one UPDATE … FROM unnest a batch) against QuerySet.bulk_update, for the
    kinds of columns the bulk paths write: text, a nullable date and time (set and cleared),
    integer, numeric, a nullable boolean, a foreign key, and JSON."""
    from decimal import Decimal

    from django.utils import timezone

    from courses.models import Course
    from lms.db import bulk_update
    from tests.factories import UserFactory

    mine = [enrol_in_text_course(UserFactory())[0] for _ in range(3)]
    django = [enrol_in_text_course(UserFactory())[0] for _ in range(3)]
    coordinator = UserFactory()
    now = timezone.now()
    fields = ["status", "completed_at", "progress_pct", "score_pct", "passed", "enrolled_by"]

    def change(rows: list[Enrollment]) -> None:
        for n, row in enumerate(rows):
            row.status = Enrollment.Status.COMPLETED if n else Enrollment.Status.WITHDRAWN
            row.completed_at = now if n else None
            row.progress_pct = 100 - n
            row.score_pct = Decimal("87.25") if n else None
            row.passed = bool(n) if n < 2 else None
            row.enrolled_by = coordinator if n else None

    change(mine)
    change(django)
    with CaptureQueriesContext(connection) as captured:
        assert bulk_update(mine, fields, batch_size=2) == 3
    assert [q["sql"].count("unnest(") for q in captured.captured_queries] == [1, 1]
    Enrollment.objects.bulk_update(django, fields)

    def stored(rows: list[Enrollment]) -> list[tuple[Any, ...]]:
        return [
            tuple(getattr(Enrollment.objects.get(pk=row.pk), f"{name}") for name in fields)
            for row in rows
        ]

    assert stored(mine) == stored(django)
    assert stored(mine)[1] == ("completed", now, 99, Decimal("87.25"), True, coordinator)
    courses = [row.run.course for row in mine]
    for n, course in enumerate(courses):
        course.title = {"en": f"Course {n}", "es": f"Curso {n}", "pt": None}
    assert bulk_update(courses, ["title"]) == 3
    assert Course.objects.get(pk=courses[2].pk).title == {
        "en": "Course 2",
        "es": "Curso 2",
        "pt": None,
    }
    assert bulk_update([], ["title"]) == 0
    with pytest.raises(ValueError, match="own columns"):
        bulk_update(courses, ["runs"])
