# ruff: noqa: S608  (table and column names come from model metadata)
"""The scale seeder at small size: row counts, referential consistency and consistent counters."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models

LEARNERS = 120

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """Seed once for the module (the seeder commits, from several connections), then flush."""
    from django.conf import settings

    if not settings.IS_POSTGRES:
        message = "the scale seeder needs PostgreSQL (DATABASE_URL)"
        if settings.LMS_REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    out = io.StringIO()
    with django_db_blocker.unblock():
        from lms.accounts.member_states import ensure_member_states

        ensure_member_states()  # a reused test database may have been flushed by a last run
        try:
            call_command(
                "seed_scale",
                learners=LEARNERS,
                seed=7,
                no_progress=True,
                no_dashboards=True,
                stdout=out,
            )
            yield out.getvalue()
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _scalar(sql: str) -> int:
    with connection.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


def test_seeder_creates_every_kind_of_row_in_proportion(seeded: str) -> None:
    from courses.models import AttendanceRecord, CourseRun, Enrollment, LessonProgress
    from lms.accounts.models import User
    from lms.xapi.models import Statement

    officers = User.objects.filter(email__startswith="officer").count()
    assert officers == LEARNERS
    assert User.objects.filter(email__startswith="officer", password__startswith="!").count() == (
        LEARNERS
    )
    # five virtual or blended runs per learner, plus the on-site runs filled from their state
    assert Enrollment.objects.exclude(run__mode="onsite").count() == 5 * LEARNERS
    assert Enrollment.objects.filter(run__mode="onsite").exists()
    assert set(CourseRun.objects.values_list("mode", flat=True)) == {"onsite", "virtual", "blended"}
    assert LessonProgress.objects.count() > 2 * LEARNERS
    assert AttendanceRecord.objects.exists()
    # about ten statements per enrolment
    assert (
        6 * Enrollment.objects.count() < Statement.objects.count() < 12 * Enrollment.objects.count()
    )
    assert "xapi.Statement" in seeded


def test_courses_speak_four_languages_and_officers_come_from_many_states(seeded: str) -> None:
    from courses.models import Course
    from lms.accounts.models import User

    for course in Course.objects.filter(code__startswith="scale-"):
        assert set(course.title) == {"es", "en", "pt", "fr"}
        assert all(course.title.values())
    assert User.objects.values("member_state").distinct().count() >= 30


def test_every_reference_in_the_seeded_tables_points_at_a_row(seeded: str) -> None:
    """The seeder loads with foreign-key triggers off: check every foreign key by hand."""
    broken = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey):
                continue
            target = field.related_model._meta  # type: ignore[union-attr]
            sql = (
                f'SELECT count(*) FROM "{model._meta.db_table}" t WHERE t."{field.column}" IS NOT '
                f'NULL AND NOT EXISTS (SELECT 1 FROM "{target.db_table}" p '
                f'WHERE p."{field.target_field.column}" = t."{field.column}")'
            )
            if _scalar(sql):
                broken.append(f"{model._meta.label}.{field.name}")
    assert broken == []


def test_outcomes_agree_with_each_other(seeded: str) -> None:
    from certification.models import Certificate
    from courses.models import CourseRun, Enrollment

    completed = Enrollment.objects.filter(status="completed")
    assert completed.exists()
    assert not completed.filter(completed_at__isnull=True).exists()
    assert not completed.exclude(progress_pct=100).exists()
    # one certificate per completed, passed enrolment, never for anything else
    assert Certificate.objects.count() == completed.filter(passed=True).count()
    assert not Certificate.objects.exclude(enrollment__status="completed").exists()
    assert (
        len(set(Certificate.objects.values_list("code", flat=True))) == Certificate.objects.count()
    )
    # the run counters equal a recount
    for run in CourseRun.objects.all():
        assert run.active_count == run.enrollments.filter(status="active").count()
        assert run.completed_count == run.enrollments.filter(status="completed").count()
    # every enrolment's institution and state are its learner's
    assert not Enrollment.objects.exclude(institution=models.F("user__institution")).exists()
    assert not Enrollment.objects.exclude(member_state=models.F("user__member_state")).exists()


def test_seeded_uuids_are_ones_the_lrs_accepts(seeded: str) -> None:
    """Registrations and statement ids are sent back to our LRS by launched content and by
    clients: they must pass its UUID rule (version 4, variant 2), or the load test's statements
    are refused with 400."""
    from courses.models import Enrollment, Lesson
    from lms.xapi.models import Statement
    from lms.xapi.validation import StatementError, check_statement
    from lms.xapi.verbs import VERBS

    registrations = list(Enrollment.objects.values_list("registration", flat=True)[:200])
    statement_ids = list(Statement.objects.values_list("statement_id", flat=True)[:200])
    keys = list(Lesson.objects.values_list("key", flat=True))
    for value in registrations + statement_ids + keys:
        assert (value.version, value.variant) == (4, uuid.RFC_4122), value
    lesson = Lesson.objects.filter(kind="xapi").first()
    assert lesson is not None
    statement = {
        "id": str(statement_ids[0]),
        "actor": {"mbox": "mailto:officer@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": lesson.activity_id},
        "context": {"registration": str(registrations[0])},
    }
    attended = Statement.objects.filter(verb_id=VERBS["attended"]["id"]).first()
    assert attended is not None, "attendance makes attended statements"
    for candidate in (statement, attended.data):
        try:
            check_statement(candidate)
        except StatementError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"the LRS refuses a seeded statement: {exc}")
    assert attended.data["object"]["id"] == attended.activity_id


def test_seeding_twice_is_refused(seeded: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already seeded"):
        call_command("seed_scale", learners=LEARNERS, no_progress=True, no_dashboards=True)


def test_the_tables_requests_read_are_vacuumed(seeded: str) -> None:
    """Seeded pages carry their visibility: a request's first read of a row does not write its
    page back."""
    assert "vacuumed in" in seeded
    for name in ("courses_enrollment", "courses_lessonprogress", "accounts_user", "xapi_statement"):
        assert _scalar(f"SELECT relallvisible FROM pg_class WHERE relname = '{name}'") > 0, name  # noqa: S608


def test_the_seeds_now_is_the_last_noon_an_hour_past() -> None:
    import datetime as dt

    from loadtests.seeding import Seeder

    utc = dt.UTC
    morning = dt.datetime(2026, 12, 6, 1, 26, tzinfo=utc)
    afternoon = dt.datetime(2026, 12, 6, 15, 0, tzinfo=utc)
    assert Seeder.last_noon(morning) == dt.datetime(2026, 12, 5, 12, 0, tzinfo=utc)
    assert Seeder.last_noon(afternoon) == dt.datetime(2026, 12, 6, 12, 0, tzinfo=utc)
    # within the hour after noon, the day before's: what the seed writes minutes after its
    # "now" (a certificate two minutes after a completion) must not lie ahead of the clock
    assert Seeder.last_noon(afternoon.replace(hour=13)) == afternoon.replace(hour=12)
    yesterday = dt.datetime(2026, 12, 5, 12, 0, tzinfo=utc)
    assert Seeder.last_noon(afternoon.replace(hour=12)) == yesterday
    assert Seeder.last_noon(afternoon.replace(hour=12, minute=59)) == yesterday


# What the seeder writes as having happened (a deadline may lie ahead)
HAPPENED = {
    "courses.Enrollment": ["enrolled_at", "completed_at", "last_activity_at"],
    "courses.LessonProgress": ["started_at", "completed_at"],
    "courses.EnrollmentEvent": ["at"],
    "courses.AttendanceRecord": ["recorded_at"],
    "assessments.Attempt": ["started_at", "submitted_at", "released_at"],
    "certification.Certificate": ["issued_at", "revoked_at"],
    "xapi.Statement": ["timestamp", "stored"],
}


def test_nothing_seeded_happens_in_the_future(seeded: str) -> None:
    from django.utils import timezone

    now = timezone.now()
    for label, fields in HAPPENED.items():
        model = apps.get_model(label)
        for name in fields:
            assert not model.objects.filter(**{f"{name}__gt": now}).exists(), (label, name)
