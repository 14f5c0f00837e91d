"""Writes of the dashboards app: counters moved by events, and the rebuild from scratch.

Every counter change is one `INSERT … ON CONFLICT DO UPDATE` adding a delta, so concurrent
events never lose an update and never need a lock. `rebuild` recomputes the same cells from the
source tables; the two must always agree (tests/dashboards/test_aggregates.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from courses.models import AttendanceRecord, CourseRun, Enrollment
from lms.dashboards.models import AttendanceSeen, LearnerActivity, MonthlyTally

COUNTERS = (
    "enrolled",
    "completed",
    "passed",
    "assessed",
    "certificates",
    "revoked",
    "attended",
    "expected",
)
# Enrolments that hold a seat or finished: what "enrolments" counts.
COUNTED = frozenset({Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED})
ATTENDED = frozenset({AttendanceRecord.Status.PRESENT, AttendanceRecord.Status.LATE})


@dataclass(frozen=True)
class Cell:
    """The key of one MonthlyTally row."""

    month: date
    member_state_id: int
    institution_id: int
    run_id: int
    program_id: int = 0


@dataclass(frozen=True)
class RunFacts:
    """What a tally row copies from its run."""

    course_id: int = 0
    mode: str = ""
    language: str = ""
    replication: bool = False


def month_of(moment: datetime | date | None) -> date:
    """First day of the UTC month of `moment` (now when None)."""
    if moment is None:
        moment = timezone.now()
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def month_day(moment: datetime | None) -> date:
    """The UTC day of `moment` (today when None)."""
    return (moment or timezone.now()).astimezone(UTC).date()


def run_facts(run_ids: Iterable[int]) -> dict[int, RunFacts]:
    """Course, mode, language and replication of the runs, in one query."""
    ids = {pk for pk in run_ids if pk}
    facts = {0: RunFacts()}
    for pk, course_id, mode, language, replicated_from in CourseRun.objects.filter(
        pk__in=ids
    ).values_list("pk", "course_id", "mode", "language", "replicated_from_id"):
        facts[pk] = RunFacts(course_id, mode, language, replicated_from is not None)
    return facts


_UPSERT = """
INSERT INTO dashboards_monthlytally
    (month, member_state_id, institution_id, run_id, program_id, course_id, mode, language,
     replication, {counters})
VALUES {values}
ON CONFLICT (month, member_state_id, institution_id, run_id, program_id) DO UPDATE SET
    {updates}
"""


def add_to_tallies(
    deltas: dict[Cell, dict[str, int]], facts: dict[int, RunFacts] | None = None
) -> None:
    """Add `deltas` ({cell: {counter: delta}}) to the tallies, creating missing cells."""
    rows = [(cell, delta) for cell, delta in deltas.items() if any(delta.values())]
    if not rows:
        return
    if facts is None:
        facts = run_facts(cell.run_id for cell, _delta in rows)
    updates = ", ".join(
        f"{name} = dashboards_monthlytally.{name} + EXCLUDED.{name}" for name in COUNTERS
    )
    placeholders = "(" + ", ".join(["%s"] * (9 + len(COUNTERS))) + ")"
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        params: list[Any] = []
        for cell, delta in chunk:
            fact = facts.get(cell.run_id) or RunFacts()
            params += [
                cell.month,
                cell.member_state_id,
                cell.institution_id,
                cell.run_id,
                cell.program_id,
                fact.course_id,
                fact.mode,
                fact.language,
                fact.replication,
            ]
            params += [delta.get(name, 0) for name in COUNTERS]
        sql = _UPSERT.format(
            counters=", ".join(COUNTERS),
            values=", ".join([placeholders] * len(chunk)),
            updates=updates,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _enrolment_cell(enrollment: Enrollment, moment: datetime | date | None) -> Cell:
    return Cell(
        month=month_of(moment),
        member_state_id=enrollment.member_state_id or 0,
        institution_id=enrollment.institution_id or 0,
        run_id=enrollment.run_id,
    )


def record_enrolment_change(*, enrollment: Enrollment, from_status: str, to_status: str) -> None:
    """Move the counters for an enrolment that went from `from_status` to `to_status`.

    Enrolments count in the month enrolled while active or completed; completions (and their
    pass) in the month completed. Leaving a state takes back exactly what entering it added.
    """
    deltas: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    entered = int(to_status in COUNTED) - int(from_status in COUNTED)
    if entered:
        deltas[_enrolment_cell(enrollment, enrollment.enrolled_at)]["enrolled"] += entered
    finished = int(to_status == Enrollment.Status.COMPLETED) - int(
        from_status == Enrollment.Status.COMPLETED
    )
    if finished:
        counters = deltas[_enrolment_cell(enrollment, enrollment.completed_at)]
        counters["completed"] += finished
        if enrollment.passed is not None:
            counters["assessed"] += finished
            counters["passed"] += finished if enrollment.passed else 0
    with transaction.atomic():
        add_to_tallies(deltas)
        if enrollment.last_activity_at is not None:
            record_activity(enrollment=enrollment, at=enrollment.last_activity_at)


def record_activity(*, enrollment: Enrollment, at: datetime) -> None:
    """Remember that the enrolment was active at `at` (a later date only moves forward)."""
    day = at.astimezone(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO dashboards_learneractivity
                (enrollment_id, user_id, run_id, course_id, institution_id, member_state_id,
                 last_active_on)
            SELECT %s, %s, %s, r.course_id, %s, %s, %s FROM courses_courserun r WHERE r.id = %s
            ON CONFLICT (enrollment_id) DO UPDATE SET last_active_on = {greatest}(
                dashboards_learneractivity.last_active_on, EXCLUDED.last_active_on)
            """.format(greatest="GREATEST" if connection.vendor == "postgresql" else "MAX"),  # noqa: S608 - a constant name
            [
                enrollment.pk,
                enrollment.user_id,
                enrollment.run_id,
                enrollment.institution_id or 0,
                enrollment.member_state_id or 0,
                day,
                enrollment.run_id,
            ],
        )


def record_attendance(*, record_ids: list[int]) -> None:
    """Count attendance records that were created or changed: attended (present or late) out of
    expected (all but excused), each record contributing once whatever its corrections."""
    records = list(
        AttendanceRecord.objects.filter(pk__in=record_ids).values(
            "pk",
            "status",
            "session__starts_at",
            "enrollment__run_id",
            "enrollment__member_state_id",
            "enrollment__institution_id",
        )
    )
    with transaction.atomic():
        seen = {
            row.record_id: row
            for row in AttendanceSeen.objects.select_for_update().filter(pk__in=record_ids)
        }
        deltas: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        changed: list[AttendanceSeen] = []
        for record in records:
            attended = record["status"] in ATTENDED
            expected = record["status"] != AttendanceRecord.Status.EXCUSED
            before = seen.get(record["pk"])
            cell = Cell(
                month=month_of(record["session__starts_at"]),
                member_state_id=record["enrollment__member_state_id"] or 0,
                institution_id=record["enrollment__institution_id"] or 0,
                run_id=record["enrollment__run_id"],
            )
            deltas[cell]["attended"] += int(attended) - int(before.attended if before else 0)
            deltas[cell]["expected"] += int(expected) - int(before.expected if before else 0)
            changed.append(
                AttendanceSeen(record_id=record["pk"], attended=attended, expected=expected)
            )
        add_to_tallies(deltas)
        AttendanceSeen.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["record_id"],
            update_fields=["attended", "expected"],
        )


def _certificate_cell(certificate: Any) -> Cell:
    enrollment = certificate.enrollment
    member_state_id = (enrollment.member_state_id if enrollment else None) or getattr(
        certificate.user, "member_state_id", None
    )
    return Cell(
        month=month_of(certificate.issued_at),
        member_state_id=member_state_id or 0,
        institution_id=certificate.institution_id or 0,
        run_id=certificate.run_id or 0,
        program_id=0 if certificate.run_id else (certificate.program_id or 0),
    )


def record_certificate(*, certificate: Any, revoked: bool) -> None:
    """Count an issued certificate, or a revocation of one (in the month it was issued)."""
    counter = "revoked" if revoked else "certificates"
    add_to_tallies({_certificate_cell(certificate): {counter: 1}})


# Rebuild --------------------------------------------------------------------------------------


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, tzinfo=UTC)


def recount_tallies() -> dict[Cell, dict[str, int]]:
    """Every counter recomputed from the source tables (enrolments, certificates, attendance)."""
    from certification.models import Certificate

    cells: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def cell(
        month: datetime | date,
        member_state: int | None,
        institution: int | None,
        run: int | None,
        program: int | None = 0,
    ) -> dict[str, int]:
        return cells[
            Cell(month_of(month), member_state or 0, institution or 0, run or 0, program or 0)
        ]

    keys = ("member_state_id", "institution_id", "run_id")
    for row in (
        Enrollment.objects.filter(status__in=COUNTED)
        .values(*keys, m=_month("enrolled_at"))
        .annotate(n=Count("pk"))
        .order_by()
    ):
        cell(row["m"], row["member_state_id"], row["institution_id"], row["run_id"])[
            "enrolled"
        ] += row["n"]
    for row in (
        Enrollment.objects.filter(status=Enrollment.Status.COMPLETED)
        .values(*keys, m=_month("completed_at"))
        .annotate(
            n=Count("pk"),
            p=Count("pk", filter=Q(passed=True)),
            a=Count("pk", filter=Q(passed__isnull=False)),
        )
        .order_by()
    ):
        counters = cell(row["m"], row["member_state_id"], row["institution_id"], row["run_id"])
        counters["completed"] += row["n"]
        counters["passed"] += row["p"]
        counters["assessed"] += row["a"]
    for row in (
        Certificate.objects.values(
            "institution_id",
            "run_id",
            "program_id",
            m=_month("issued_at"),
            ms=Coalesce("enrollment__member_state_id", "user__member_state_id"),
        )
        .annotate(n=Count("pk"), r=Count("pk", filter=Q(revoked_at__isnull=False)))
        .order_by()
    ):
        counters = cell(
            row["m"],
            row["ms"],
            row["institution_id"],
            row["run_id"],
            0 if row["run_id"] else row["program_id"],
        )
        counters["certificates"] += row["n"]
        counters["revoked"] += row["r"]
    for row in (
        AttendanceRecord.objects.values(
            "enrollment__member_state_id",
            "enrollment__institution_id",
            "enrollment__run_id",
            m=_month("session__starts_at"),
        )
        .annotate(
            a=Count("pk", filter=Q(status__in=ATTENDED)),
            e=Count("pk", filter=~Q(status=AttendanceRecord.Status.EXCUSED)),
        )
        .order_by()
    ):
        counters = cell(
            row["m"],
            row["enrollment__member_state_id"],
            row["enrollment__institution_id"],
            row["enrollment__run_id"],
        )
        counters["attended"] += row["a"]
        counters["expected"] += row["e"]
    return {
        key: {name: value for name, value in counters.items() if value}
        for key, counters in cells.items()
        if any(counters.values())
    }


def rebuild(*, progress: Callable[[str], None] | None = None) -> int:
    """Recompute every aggregate from scratch; returns the number of tally cells.

    Runs in one transaction, so pages keep reading the old figures until the new ones commit.
    """
    step = progress or (lambda _name: None)
    with transaction.atomic():
        cells = recount_tallies()
        step("recount")
        MonthlyTally.objects.all().delete()
        LearnerActivity.objects.all().delete()
        AttendanceSeen.objects.all().delete()
        step("clear")
        add_to_tallies(cells)
        step("tallies")
        _rebuild_activity()
        step("activity")
        AttendanceSeen.objects.bulk_create(
            (
                AttendanceSeen(
                    record_id=pk,
                    attended=status in ATTENDED,
                    expected=status != AttendanceRecord.Status.EXCUSED,
                )
                for pk, status in AttendanceRecord.objects.values_list("pk", "status").iterator()
            ),
            batch_size=5000,
        )
        step("attendance")
    return len(cells)


def _rebuild_activity() -> None:
    if connection.vendor == "postgresql":
        # One statement instead of a million objects through Python.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO dashboards_learneractivity
                    (enrollment_id, user_id, run_id, course_id, institution_id, member_state_id,
                     last_active_on)
                SELECT e.id, e.user_id, e.run_id, r.course_id, COALESCE(e.institution_id, 0),
                       COALESCE(e.member_state_id, 0),
                       (e.last_activity_at AT TIME ZONE 'UTC')::date
                FROM courses_enrollment e JOIN courses_courserun r ON r.id = e.run_id
                WHERE e.last_activity_at IS NOT NULL
                """
            )
        return
    LearnerActivity.objects.bulk_create(
        (
            LearnerActivity(
                enrollment_id=row["pk"],
                user_id=row["user_id"],
                run_id=row["run_id"],
                course_id=row["run__course_id"],
                institution_id=row["institution_id"] or 0,
                member_state_id=row["member_state_id"] or 0,
                last_active_on=month_day(row["last_activity_at"]),
            )
            for row in Enrollment.objects.filter(last_activity_at__isnull=False)
            .values(
                "pk",
                "user_id",
                "run_id",
                "run__course_id",
                "institution_id",
                "member_state_id",
                "last_activity_at",
            )
            .iterator()
        ),
        batch_size=5000,
    )


def current_tallies() -> dict[Cell, dict[str, int]]:
    """The stored tallies as {cell: counters}, leaving out empty cells (for comparison)."""
    stored: dict[Cell, dict[str, int]] = {}
    for row in MonthlyTally.objects.values(*Cell.__dataclass_fields__, *COUNTERS):
        key = Cell(
            row["month"],
            row["member_state_id"],
            row["institution_id"],
            row["run_id"],
            row["program_id"],
        )
        counters = {name: row[name] for name in COUNTERS if row[name]}
        if counters:
            stored[key] = counters
    return stored


def recount_activity() -> dict[int, date]:
    """Last active day of each enrolment, read from the enrolments (for comparison)."""
    return {
        pk: month_day(at)
        for pk, at in Enrollment.objects.filter(last_activity_at__isnull=False).values_list(
            "pk", "last_activity_at"
        )
    }
