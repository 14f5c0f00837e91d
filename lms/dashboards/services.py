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

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from courses.models import AttendanceRecord, CourseRun, Enrollment, Session
from lms.dashboards.models import (
    AttendanceSeen,
    InstitutionTally,
    LearnerActivity,
    MonthlyTally,
    PlaceActivity,
    RunTally,
    RunTotal,
    StateTally,
    UserActivity,
)
from lms.db import bound_cursor
from lms.memo import Memo

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


# Each tally table: its name and the columns of its unique key (the GROUP BY of its rollup),
# then the columns copied from the run that are not part of the key. MonthlyTally comes first;
# the rollups sum its cells over fewer dimensions (see models.py).
TALLY_TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "dashboards_monthlytally",
        ("month", "member_state_id", "institution_id", "run_id", "program_id"),
        ("course_id", "mode", "language", "replication"),
    ),
    (
        "dashboards_statetally",
        ("month", "member_state_id", "mode", "language", "replication"),
        (),
    ),
    (
        "dashboards_institutiontally",
        ("month", "institution_id", "member_state_id", "mode", "language", "replication"),
        (),
    ),
    (
        "dashboards_runtally",
        ("month", "run_id", "program_id"),
        ("course_id", "mode", "language", "replication"),
    ),
    (
        "dashboards_runtotal",
        ("run_id", "program_id"),
        ("course_id", "mode", "language", "replication"),
    ),
)


def _cell_columns(cell: Cell, fact: RunFacts) -> dict[str, Any]:
    return {
        "month": cell.month,
        "member_state_id": cell.member_state_id,
        "institution_id": cell.institution_id,
        "run_id": cell.run_id,
        "program_id": cell.program_id,
        "course_id": fact.course_id,
        "mode": fact.mode,
        "language": fact.language,
        "replication": fact.replication,
    }


def _upsert(
    table: str, key: tuple[str, ...], copied: tuple[str, ...], rows: list[tuple[tuple, dict]]
) -> None:
    """Add counters to `table`'s rows, creating missing ones: `rows` are (values of key and
    copied columns, {counter: delta}), one per key, sorted so that concurrent transactions
    lock rows in the same order (no deadlock between two bulk events)."""
    columns = (*key, *copied, *COUNTERS)
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in COUNTERS)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        params: list[Any] = []
        for values, delta in chunk:
            params += [*values, *(delta.get(name, 0) for name in COUNTERS)]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constant names
            f"VALUES {', '.join([placeholders] * len(chunk))} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def add_to_tallies(
    deltas: dict[Cell, dict[str, int]],
    facts: dict[int, RunFacts] | None = None,
    *,
    rollups: bool = True,
) -> None:
    """Add `deltas` ({cell: {counter: delta}}) to the tallies and (unless `rollups` is False,
    for the rebuild, which rolls up afterwards in SQL) to the rollups: one statement per table
    whatever the number of cells."""
    rows = [(cell, delta) for cell, delta in deltas.items() if any(delta.values())]
    if not rows:
        return
    if facts is None:
        facts = run_facts(cell.run_id for cell, _delta in rows)
    tables = TALLY_TABLES if rollups else TALLY_TABLES[:1]
    with transaction.atomic():
        for table, key, copied in tables:
            merged: dict[tuple, dict[str, int]] = {}
            for cell, delta in rows:
                columns = _cell_columns(cell, facts.get(cell.run_id) or RunFacts())
                values = tuple(columns[name] for name in (*key, *copied))
                counters = merged.setdefault(values, dict.fromkeys(COUNTERS, 0))
                for name, value in delta.items():
                    counters[name] += value
            _upsert(table, key, copied, sorted(merged.items(), key=lambda item: str(item[0])))


def _enrolment_cell(enrollment: Enrollment, moment: datetime | date | None) -> Cell:
    return Cell(
        month=month_of(moment),
        member_state_id=enrollment.member_state_id or 0,
        institution_id=enrollment.institution_id or 0,
        run_id=enrollment.run_id,
    )


def record_enrolment_changes(changes: Iterable[tuple[Enrollment, str, str]]) -> None:
    """Move the counters for enrolments that went from one status to another, each an
    (enrollment, from_status, to_status): the sums of all written in one upsert per table.

    Enrolments count in the month enrolled while active or completed; completions (and their
    pass) in the month completed. Leaving a state takes back exactly what entering it added.
    """
    deltas: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    active: list[tuple[Enrollment, datetime]] = []
    for enrollment, from_status, to_status in changes:
        from_status = from_status or ""
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
        if enrollment.last_activity_at is not None:
            active.append((enrollment, enrollment.last_activity_at))
    with transaction.atomic():
        add_to_tallies(deltas)
        record_activities(active)


# The three upserts of record_activity; a date is replaced only by a later one (the WHERE of the
# DO UPDATE: an unchanged date writes no new row version), so dates only move forward.
_LEARNER_ACTIVITY_SQL = """
    INSERT INTO dashboards_learneractivity
        (enrollment_id, user_id, run_id, course_id, institution_id, member_state_id,
         last_active_on)
    SELECT %s, %s, %s, r.course_id, %s, %s, %s FROM courses_courserun r WHERE r.id = %s
    ON CONFLICT (enrollment_id) DO UPDATE SET last_active_on = EXCLUDED.last_active_on
    WHERE dashboards_learneractivity.last_active_on < EXCLUDED.last_active_on"""
_USER_ACTIVITY_SQL = """
    INSERT INTO dashboards_useractivity (user_id, last_active_on) VALUES (%s, %s)
    ON CONFLICT (user_id) DO UPDATE SET last_active_on = EXCLUDED.last_active_on
    WHERE dashboards_useractivity.last_active_on < EXCLUDED.last_active_on"""
_PLACE_ACTIVITY_SQL = """
    INSERT INTO dashboards_placeactivity (member_state_id, institution_id, user_id, last_active_on)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (member_state_id, institution_id, user_id) DO UPDATE
    SET last_active_on = EXCLUDED.last_active_on
    WHERE dashboards_placeactivity.last_active_on < EXCLUDED.last_active_on"""
# PostgreSQL runs the three as one statement: data-modifying CTEs always run to completion.
_ACTIVITY_SQL = (
    f"WITH learner AS ({_LEARNER_ACTIVITY_SQL}), person AS ({_USER_ACTIVITY_SQL})"
    f"{_PLACE_ACTIVITY_SQL}"
)


# The day up to which this process has recorded each enrolment's activity (its keys: enrolment,
# learner, institution, member state), once the recording committed. Dates only move forward,
# so recording that day or an earlier one again changes nothing: a learner's later lessons of
# the day skip the statement. Bounded (50,000 enrolments a process).
_recorded: Memo[tuple[int, int, int, int], date] = Memo(50_000)


def forget_recorded() -> None:
    """Forget what this process recorded (tests: a new database may reuse an enrolment's id)."""
    _recorded.forget()


def _remember_recorded(key: tuple[int, int, int, int], day: date) -> None:
    known = _recorded.get(key)
    if known is None or known < day:
        _recorded.put(key, day)


def record_activity(*, enrollment: Enrollment, at: datetime) -> None:
    """Remember that the enrolment (and its learner, in the whole network and in their place)
    was active at `at`; dates only move forward. One statement on PostgreSQL (three upserts in
    data-modifying CTEs), three elsewhere; whatever the table sizes; none when this process
    recorded that day or a later one for the same enrolment, learner and place since its
    start. Runs in the caller's transaction (the player's first view: the visit's own)."""
    params = _activity_params(enrollment, at)
    if params is None:
        return
    learner, person, place = params
    if connection.vendor == "postgresql":
        with bound_cursor(prepare=True) as cursor:
            cursor.execute(_ACTIVITY_SQL, [*learner, *person, *place])
        return
    with connection.cursor() as cursor:
        cursor.execute(_LEARNER_ACTIVITY_SQL, learner)
        cursor.execute(_USER_ACTIVITY_SQL, person)
        cursor.execute(_PLACE_ACTIVITY_SQL, place)


def record_activities(activity: Iterable[tuple[Enrollment, datetime]]) -> None:
    """record_activity for many enrolments, each (enrolment, when): the same statement sent
    once for all of them (executemany, pipelined by the driver: one round trip on PostgreSQL)."""
    rows = [params for enrollment, at in activity if (params := _activity_params(enrollment, at))]
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.executemany(_ACTIVITY_SQL, [[*a, *b, *c] for a, b, c in rows])
            return
        cursor.executemany(_LEARNER_ACTIVITY_SQL, [learner for learner, _b, _c in rows])
        cursor.executemany(_USER_ACTIVITY_SQL, [person for _a, person, _c in rows])
        cursor.executemany(_PLACE_ACTIVITY_SQL, [place for _a, _b, place in rows])


def _activity_params(
    enrollment: Enrollment, at: datetime
) -> tuple[list[Any], list[Any], list[Any]] | None:
    """The three upserts' parameters of an enrolment's activity at `at` (learner, person,
    place), or None when this process already recorded that day or a later one for it; the
    day is remembered once the caller's transaction commits."""
    day = at.astimezone(UTC).date()
    institution_id = enrollment.institution_id or 0
    member_state_id = enrollment.member_state_id or 0
    user_id = enrollment.user_id
    key = (enrollment.pk, user_id, institution_id, member_state_id)
    recorded = _recorded.get(key)
    if recorded is not None and recorded >= day:
        return None
    transaction.on_commit(lambda: _remember_recorded(key, day))
    learner: list[Any] = [
        enrollment.pk,
        user_id,
        enrollment.run_id,
        institution_id,
        member_state_id,
        day,
        enrollment.run_id,
    ]
    return learner, [user_id, day], [member_state_id, institution_id, user_id, day]


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


def record_certificate(*, certificate: Any, revoked: bool) -> None:
    """Count an issued certificate, or a revocation of one (in the month it was issued)."""
    record_certificates(certificate_ids=[certificate.pk], revoked=revoked)


def certificate_facts(certificate_ids: Iterable[Any]) -> list[dict[str, Any]]:
    """What the counters and the live update need of some certificates, in one query: the month
    issued, the learner's member state (the enrolment's, else the holder's), institution (and its
    path), run (and the run's course, mode, language, replication) or program."""
    from certification.models import Certificate

    rows = Certificate.objects.filter(pk__in=list(certificate_ids)).values(
        "pk",
        "issued_at",
        "institution_id",
        "run_id",
        "program_id",
        "course_id",
        "run__course_id",
        "run__mode",
        "run__language",
        "run__replicated_from_id",
        path=F("institution__path"),
        ms=Coalesce("enrollment__member_state_id", "user__member_state_id"),
    )
    return [dict(row) for row in rows]


def record_certificates(
    *, certificate_ids: Iterable[Any], revoked: bool, facts: list[dict[str, Any]] | None = None
) -> None:
    """Count issued certificates (or revocations), one or a whole batch: one read (unless the
    caller passes `facts` from certificate_facts) and one upsert per tally table."""
    counter = "revoked" if revoked else "certificates"
    rows = facts if facts is not None else certificate_facts(certificate_ids)
    deltas: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    runs = {0: RunFacts()}
    for row in rows:
        run_id = row["run_id"] or 0
        cell = Cell(
            month=month_of(row["issued_at"]),
            member_state_id=row["ms"] or 0,
            institution_id=row["institution_id"] or 0,
            run_id=run_id,
            program_id=0 if run_id else (row["program_id"] or 0),
        )
        deltas[cell][counter] += 1
        if run_id:
            runs[run_id] = RunFacts(
                row["run__course_id"] or 0,
                row["run__mode"] or "",
                row["run__language"] or "",
                row["run__replicated_from_id"] is not None,
            )
    add_to_tallies(deltas, runs)


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


# Every table the dashboards keep (all recomputed by `rebuild`).
AGGREGATES = (
    MonthlyTally,
    StateTally,
    InstitutionTally,
    RunTally,
    RunTotal,
    LearnerActivity,
    UserActivity,
    PlaceActivity,
    AttendanceSeen,
)
REBUILD_STEPS = ("clear", "tallies", "rollups", "activity", "learners", "attendance")


def rebuild(*, progress: Callable[[str], None] | None = None) -> int:
    """Recompute every aggregate from scratch; returns the number of tally cells.

    Set-based: each table is filled by INSERT ... SELECT (on PostgreSQL the tallies too; on the
    SQLite of the quick start they are recounted through Python). `progress` is called after each
    of REBUILD_STEPS. Runs in one transaction, so pages keep reading the old figures until the
    new ones commit.
    """
    step = progress or (lambda _name: None)
    with transaction.atomic():
        for model in AGGREGATES:
            model.objects.all().delete()
        step("clear")
        if connection.vendor == "postgresql":
            _insert_tallies_sql()
        else:
            add_to_tallies(recount_tallies(), rollups=False)
        step("tallies")
        roll_up()
        step("rollups")
        _rebuild_activity()
        step("activity")
        learners_from_activity()
        step("learners")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO dashboards_attendanceseen (record_id, attended, expected) "  # noqa: S608
                f"SELECT id, status IN (%s, %s), status <> %s "
                f"FROM {AttendanceRecord._meta.db_table}",
                [*sorted(ATTENDED), AttendanceRecord.Status.EXCUSED],
            )
        step("attendance")
    return MonthlyTally.objects.count()


def analyze() -> None:
    """Refresh PostgreSQL's statistics and visibility map of the aggregates after a rebuild (so
    that counts are index-only scans); outside a transaction."""
    if connection.vendor != "postgresql":
        return
    # VACUUM cannot run in a transaction (a caller's atomic block, a test): statistics only then.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for model in AGGREGATES:
            cursor.execute(f"{command} {model._meta.db_table}")


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


def _insert_tallies_sql() -> None:
    """MonthlyTally recounted in one INSERT ... SELECT: each event source gives one row of
    counters per event, then all are grouped by cell (the same rules as recount_tallies)."""
    from certification.models import Certificate

    def month(column: str) -> str:
        return f"date_trunc('month', COALESCE({column}, now()) AT TIME ZONE 'UTC')::date"

    zeros = dict.fromkeys(COUNTERS, "0")

    def counters(**values: str) -> str:
        return ", ".join(f"{values.get(name, zeros[name])} AS {name}" for name in COUNTERS)

    enrollment = Enrollment._meta.db_table
    sql = f"""
        INSERT INTO dashboards_monthlytally
            (month, member_state_id, institution_id, run_id, program_id, course_id, mode,
             language, replication, {", ".join(COUNTERS)})
        SELECT s.month, s.ms, s.inst, s.run, s.program, COALESCE(r.course_id, 0),
               COALESCE(r.mode, ''), COALESCE(r.language, ''),
               COALESCE(r.replicated_from_id IS NOT NULL, false),
               {", ".join(f"SUM(s.{name})" for name in COUNTERS)}
        FROM (
            SELECT {month("e.enrolled_at")} AS month, COALESCE(e.member_state_id, 0) AS ms,
                   COALESCE(e.institution_id, 0) AS inst, e.run_id AS run, 0 AS program,
                   {counters(enrolled="1")}
            FROM {enrollment} e WHERE e.status IN (%(active)s, %(completed)s)
            UNION ALL
            SELECT {month("e.completed_at")}, COALESCE(e.member_state_id, 0),
                   COALESCE(e.institution_id, 0), e.run_id, 0,
                   {
        counters(
            completed="1", passed="(e.passed IS TRUE)::int", assessed="(e.passed IS NOT NULL)::int"
        )
    }
            FROM {enrollment} e WHERE e.status = %(completed)s
            UNION ALL
            SELECT {month("c.issued_at")}, COALESCE(e.member_state_id, u.member_state_id, 0),
                   COALESCE(c.institution_id, 0), COALESCE(c.run_id, 0),
                   CASE WHEN c.run_id IS NULL THEN COALESCE(c.program_id, 0) ELSE 0 END,
                   {counters(certificates="1", revoked="(c.revoked_at IS NOT NULL)::int")}
            FROM {Certificate._meta.db_table} c
            JOIN {get_user_model()._meta.db_table} u ON u.id = c.user_id
            LEFT JOIN {enrollment} e ON e.id = c.enrollment_id
            UNION ALL
            SELECT {month("se.starts_at")}, COALESCE(e.member_state_id, 0),
                   COALESCE(e.institution_id, 0), e.run_id, 0,
                   {
        counters(
            attended="(a.status IN (%(present)s, %(late)s))::int",
            expected="(a.status <> %(excused)s)::int",
        )
    }
            FROM {AttendanceRecord._meta.db_table} a
            JOIN {Session._meta.db_table} se ON se.id = a.session_id
            JOIN {enrollment} e ON e.id = a.enrollment_id
        ) s
        LEFT JOIN {CourseRun._meta.db_table} r ON r.id = s.run
        GROUP BY s.month, s.ms, s.inst, s.run, s.program, r.course_id, r.mode, r.language,
                 r.replicated_from_id
        HAVING {" OR ".join(f"SUM(s.{name}) <> 0" for name in COUNTERS)}
    """  # noqa: S608 - table and column names are constants
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "active": Enrollment.Status.ACTIVE,
                "completed": Enrollment.Status.COMPLETED,
                "present": AttendanceRecord.Status.PRESENT,
                "late": AttendanceRecord.Status.LATE,
                "excused": AttendanceRecord.Status.EXCUSED,
            },
        )


def roll_up() -> None:
    """Fill each (empty) rollup from MonthlyTally: one INSERT ... SELECT ... GROUP BY each."""
    with connection.cursor() as cursor:
        for table, key, copied in TALLY_TABLES[1:]:
            columns = ", ".join((*key, *copied))
            cursor.execute(
                f"INSERT INTO {table} ({columns}, {', '.join(COUNTERS)}) "  # noqa: S608
                f"SELECT {columns}, {', '.join(f'SUM({name})' for name in COUNTERS)} "
                f"FROM dashboards_monthlytally GROUP BY {columns}"
            )


def learners_from_activity() -> None:
    """Fill the (empty) UserActivity and PlaceActivity from LearnerActivity: each learner's
    latest day, in the network and in each (member state, institution)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dashboards_useractivity (user_id, last_active_on) "
            "SELECT user_id, MAX(last_active_on) FROM dashboards_learneractivity "
            "GROUP BY user_id"
        )
        cursor.execute(
            "INSERT INTO dashboards_placeactivity "
            "(member_state_id, institution_id, user_id, last_active_on) "
            "SELECT member_state_id, institution_id, user_id, MAX(last_active_on) "
            "FROM dashboards_learneractivity GROUP BY member_state_id, institution_id, user_id"
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


def _nonzero(counters: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in counters.items() if value}


def current_rollups() -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    """The stored rollups, {table: {key and copied values: non-zero counters}} (to compare)."""
    stored: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {}
    with connection.cursor() as cursor:
        for table, key, copied in TALLY_TABLES[1:]:
            names = (*key, *copied)
            cursor.execute(f"SELECT {', '.join((*names, *COUNTERS))} FROM {table}")  # noqa: S608
            rows = stored.setdefault(table, {})
            for row in cursor.fetchall():
                counters = _nonzero(dict(zip(COUNTERS, row[len(names) :], strict=True)))
                if counters:
                    rows[tuple(row[: len(names)])] = counters
    return stored


def rollups_of(
    cells: dict[Cell, dict[str, int]],
) -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    """What the rollups should hold for these tally cells (to compare with current_rollups)."""
    facts = run_facts(cell.run_id for cell in cells)
    expected: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {}
    for table, key, copied in TALLY_TABLES[1:]:
        rows: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for cell, counters in cells.items():
            columns = _cell_columns(cell, facts.get(cell.run_id) or RunFacts())
            target = rows[tuple(columns[name] for name in (*key, *copied))]
            for name, value in counters.items():
                target[name] += value
        expected[table] = {
            values: _nonzero(counters) for values, counters in rows.items() if _nonzero(counters)
        }
    return expected


def recount_user_activity() -> dict[int, date]:
    """Last active day of each learner, read from the enrolments (for comparison)."""
    latest: dict[int, date] = {}
    for user_id, at in Enrollment.objects.filter(last_activity_at__isnull=False).values_list(
        "user_id", "last_activity_at"
    ):
        day = month_day(at)
        latest[user_id] = max(day, latest.get(user_id, day))
    return latest


def recount_place_activity() -> dict[tuple[int, int, int], date]:
    """Last active day of each learner in each (member state, institution), from the enrolments
    (for comparison with PlaceActivity)."""
    latest: dict[tuple[int, int, int], date] = {}
    for state, institution, user_id, at in Enrollment.objects.filter(
        last_activity_at__isnull=False
    ).values_list("member_state_id", "institution_id", "user_id", "last_activity_at"):
        key = (state or 0, institution or 0, user_id)
        day = month_day(at)
        latest[key] = max(day, latest.get(key, day))
    return latest
