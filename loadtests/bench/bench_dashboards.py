"""Benchmark of the dashboard pages with the aggregates of 200,000 learners and 1,000,000
enrolments (times `scale`) in PostgreSQL.

On a database seeded by `manage.py seed_scale` (and `rebuild_dashboards`) it reads the aggregates
as they are. On a database without that many enrolments it seeds the aggregate tables directly
with set-based SQL at the shape the receivers produce for that volume (one tally cell per run,
learner's institution and month of activity; one activity row per enrolment), then rolls them up
as the rebuild does. Requests go through Django's test client (in-process: the server's own time,
no network, on a shared 2-core machine).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import translation

from loadtests.bench.harness import new_client

RUNS = 300
INSTITUTIONS = 340
MONTHS_PER_RUN = 2
SAMPLES = 60
COLD_SAMPLES = 20
HOW = """How the pages stay fast without the cache. The receivers of the courses and certification
signals add each event to MonthlyTally (month x member state x institution x run x program) and,
in the same transaction, to four rollups of it: StateTally (month x member state x mode x
language x replication), InstitutionTally (the same with the institution), RunTally (month x run)
and RunTotal (run); each is one `INSERT ... ON CONFLICT DO UPDATE SET n = n + delta` per event or
per batch. Every query names the columns it filters and groups by, and reads the smallest table
that has them all (`selectors.tally_model`): the network-wide overview, map and trend read about
6,000 rows, the breakdown by run 1,800, and only views that combine an institution with a run or a
course read MonthlyTally, through its indexes. Active learners in 7 and 30 days: one row per
learner (UserActivity) for the whole network, one per learner and place (PlaceActivity) for a
country or institution, the per-enrolment LearnerActivity only for a course, run or program. The
recent completions use the completed_at index from its non-NULL end. The breakdown table shows 50
rows a page (the exports have all). `manage.py rebuild_dashboards` recomputes all of it
set-based in one transaction (INSERT ... SELECT ... GROUP BY), and the hypothesis test checks the
tallies, every rollup and the activity tables against a full recount after random events and
after a rebuild."""


def _seed(enrolments: int) -> tuple[int, int]:
    """Tally cells and activity rows for `enrolments`; returns their counts."""
    from lms.accounts.models import Institution, MemberState
    from lms.dashboards import services

    states = list(MemberState.objects.values_list("pk", flat=True))
    with transaction.atomic():
        have = Institution.objects.filter(name__startswith="Bench police ").count()
        Institution.objects.bulk_create(
            Institution(name=f"Bench police {i}", member_state_id=states[i % len(states)])
            for i in range(have, INSTITUTIONS)
        )
        institutions = list(
            Institution.objects.filter(name__startswith="Bench police ").values_list(
                "pk", "member_state_id"
            )
        )
        for pk, _state in institutions:
            Institution.objects.filter(pk=pk, path="").update(path=f"{pk}/")
    for model in services.AGGREGATES:
        model.objects.all().delete()
    per_cell = max(1, enrolments // (RUNS * len(institutions) * MONTHS_PER_RUN))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_inst (idx int, pk int, ms int)")
        cursor.executemany(
            "INSERT INTO bench_inst VALUES (%s, %s, %s)",
            [(idx, pk, state) for idx, (pk, state) in enumerate(institutions)],
        )
        cursor.execute(
            """
            INSERT INTO dashboards_monthlytally
                (month, member_state_id, institution_id, run_id, program_id, course_id, mode,
                 language, replication, enrolled, completed, passed, assessed, certificates,
                 revoked, attended, expected)
            SELECT date_trunc('month', now() - ((r %% 24) + m) * interval '1 month')::date,
                   i.ms, i.pk, 100000 + r, 0, 100000 + r %% 200,
                   (ARRAY['virtual','virtual','blended','onsite'])[1 + r %% 4],
                   (ARRAY['es','en','pt','fr'])[1 + r %% 4], r %% 10 = 0,
                   %s, %s * 6 / 10, %s / 2, %s * 6 / 10, %s / 2, (r %% 50 = 0)::int,
                   CASE WHEN r %% 4 = 3 THEN %s * 8 ELSE 0 END,
                   CASE WHEN r %% 4 = 3 THEN %s * 10 ELSE 0 END
            FROM generate_series(0, %s - 1) r, bench_inst i, generate_series(0, %s - 1) m
            """,
            [per_cell] * 7 + [RUNS, MONTHS_PER_RUN],
        )
        cursor.execute(
            """
            INSERT INTO dashboards_learneractivity
                (enrollment_id, user_id, run_id, course_id, institution_id, member_state_id,
                 last_active_on)
            SELECT n, n %% %s, 100000 + n %% %s, 100000 + (n %% %s) %% 200, i.pk, i.ms,
                   current_date - (hashint4(n) & 2147483647) %% 120
            FROM generate_series(1, %s) n
            JOIN bench_inst i ON i.idx = n %% %s
            """,
            [enrolments // 5, RUNS, RUNS, enrolments, len(institutions)],
        )
        cursor.execute("DROP TABLE bench_inst")
    services.roll_up()
    services.learners_from_activity()
    services.analyze()
    return _counts()


def _counts() -> tuple[int, int]:
    from lms.dashboards.models import LearnerActivity, MonthlyTally

    return MonthlyTally.objects.count(), LearnerActivity.objects.count()


def _time(client: Client, urls: list[str], *, cold: bool = False) -> tuple[list[float], int]:
    from django.core.cache import cache

    timings = []
    status = 200
    for url in urls:
        if cold:
            cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        status = max(status, response.status_code)
    return timings, status


class _Rollback(Exception):
    pass


def _listener_ms(batch: list[Any]) -> float:
    """Wall time of the dashboards' certificate_issued receiver for `batch`, in a transaction
    that is rolled back (the counters are left as they were)."""
    from certification.models import Certificate
    from lms.dashboards import receivers

    try:
        with transaction.atomic():
            started = time.perf_counter()
            receivers.on_certificates_issued(Certificate, certificates=batch)
            elapsed = (time.perf_counter() - started) * 1000
            raise _Rollback(elapsed)
    except _Rollback as done:
        return float(done.args[0])


def _listener_line() -> str:
    """The certificate listener's cost on existing certificates: one, and batches of 100."""
    from certification.models import Certificate
    from lms.dashboards import live

    certificates = list(Certificate.objects.order_by("issued_at")[:850])
    if len(certificates) < 850:
        return "Certificate listener: not measured (fewer than 850 certificates)."
    single = sorted(_listener_ms([certificate]) for certificate in certificates[:50])
    batches = [_listener_ms(certificates[50 + i * 100 : 150 + i * 100]) for i in range(8)]
    live.flush(10)
    return (
        "Certificate listener (dashboards' `certificate_issued` receiver: one read, one upsert "
        "per tally table, live update queued), in rolled-back transactions on existing "
        f"certificates: one certificate median {statistics.median(single):.1f} ms, p95 "
        f"{_p(single, 95):.1f} ms (50 samples); a batch of 100 median "
        f"{statistics.median(batches):.1f} ms (8 batches)."
    )


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def run(options: dict[str, Any]) -> str:
    """Seed the aggregates, time the pages, return the Markdown section."""
    from django.db.models import Sum

    from courses.models import Enrollment
    from lms.accounts.models import Institution
    from lms.dashboards.models import (
        InstitutionTally,
        LearnerActivity,
        MonthlyTally,
        PlaceActivity,
        RunTally,
        RunTotal,
        StateTally,
        UserActivity,
    )
    from tests.factories import RoleAssignmentFactory, UserFactory

    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    if not settings.IS_POSTGRES:
        return "## Dashboards\n\nNot measured: the benchmark needs PostgreSQL (DATABASE_URL).\n"
    enrolments = max(10_000, int(1_000_000 * scale))
    started = time.perf_counter()
    seeded = Enrollment.objects.count() >= enrolments // 2
    if seeded:
        # A seed_scale database: its own aggregates, as rebuild_dashboards left them.
        cells, activity = _counts()
        source = (
            f"the database seeded by `manage.py seed_scale` ({Enrollment.objects.count():,} "
            f"enrolments, {Enrollment.objects.values('user_id').distinct().count():,} learners) "
            "and its aggregates rebuilt by `manage.py rebuild_dashboards`"
        )
        busiest = (
            MonthlyTally.objects.values("institution_id")
            .annotate(n=Sum("enrolled"))
            .order_by("-n")
            .first()
        )
        institution = Institution.objects.filter(
            pk=busiest["institution_id"] if busiest else 0
        ).first()
    else:
        cells, activity = _seed(enrolments)
        source = (
            f"aggregates seeded for {enrolments:,} enrolments and {enrolments // 5:,} learners "
            f"({RUNS} runs x {INSTITUTIONS} institutions x {MONTHS_PER_RUN} months of tally "
            "cells, one activity row per enrolment, last activity spread over 120 days)"
        )
        institution = Institution.objects.filter(name__startswith="Bench police ").first()
    out.write(
        f"dashboards: {cells} tally cells, {activity} activity rows ({time.perf_counter() - started:.0f} s)"
    )
    # (In English whatever language the last request left active.)
    with translation.override("en"):
        sizes = ", ".join(
            f"{model._meta.verbose_name_plural} {model.objects.count():,}"
            for model in (
                MonthlyTally,
                StateTally,
                InstitutionTally,
                RunTally,
                RunTotal,
                UserActivity,
                PlaceActivity,
                LearnerActivity,
            )
        )
    stamp = time.strftime("%Y%m%d%H%M%S")
    dps = UserFactory(email=f"bench-dps-{stamp}@example.org", is_staff=True)
    RoleAssignmentFactory(user=dps, role="dps_admin")
    coordinator = UserFactory(
        email=f"bench-coordinator-{stamp}@example.org", institution=institution
    )
    RoleAssignmentFactory(user=coordinator, role="coordinator", institution=institution)
    state = institution.member_state_id if institution else ""
    pages = [
        ("DPS overview (by member state, map, trend)", dps, "/dashboards/"),
        ("DPS by institution", dps, "/dashboards/?by=institution"),
        ("DPS by run", dps, "/dashboards/?by=run"),
        ("DPS by course, on-site only", dps, "/dashboards/?by=course&mode=onsite"),
        ("DPS drill-down to a country", dps, f"/dashboards/?member_state={state}"),
        ("DPS by month since a year", dps, "/dashboards/?by=month&since=2025-11"),
        ("DPS XLSX export of the overview", dps, "/dashboards/?format=xlsx"),
        ("DPS by program", dps, "/dashboards/?by=program"),
        ("Coordinator overview (one institution)", coordinator, "/dashboards/"),
        ("Coordinator by run", coordinator, "/dashboards/?by=run"),
    ]
    load_before = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        "## Dashboards",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} UTC with `manage.py run_benchmarks --only "
        f"dashboards --scale {scale}` on PostgreSQL, on {source}. Table sizes: {sizes}. "
        f"Load average when the timing started: {load_before}.",
        "",
        "Each page: 3 warm-up requests, then *uncached*: the cache cleared before each of "
        f"{COLD_SAMPLES} requests, so every aggregate query runs (the goal: under 300 ms at p95); "
        f"*cached*: {SAMPLES} requests within DASHBOARDS_CACHE_SECONDS (30 s; live changes arrive "
        "by WebSocket). Through Django's test client, in-process on the shared 2-core machine, "
        "times in ms.",
        "",
        "| page | uncached p50 | uncached p95 | uncached max | cached p50 | cached p95 | status |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    uncached_p95: dict[str, float] = {}
    for title, user, url in pages:
        client = new_client()
        client.force_login(user)  # type: ignore[arg-type]
        _time(client, [url] * 3)
        samples = SAMPLES // 4 if "xlsx" in url else SAMPLES
        timings, status = _time(client, [url] * samples)
        cold, cold_status = _time(client, [url] * COLD_SAMPLES, cold=True)
        uncached_p95[title] = _p(cold, 95)
        lines.append(
            f"| {title} | {statistics.median(cold):.0f} | {_p(cold, 95):.0f} | {max(cold):.0f} | "
            f"{statistics.median(timings):.0f} | {_p(timings, 95):.0f} | "
            f"{max(status, cold_status)} |"
        )
        out.write(
            f"  {title}: uncached p95 {_p(cold, 95):.0f} ms, cached p95 {_p(timings, 95):.0f} ms"
        )
    load_after = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    over = [title for title, p95 in uncached_p95.items() if p95 >= 300]
    verdict = (
        "every page's uncached p95 is under 300 ms"
        if not over
        else f"uncached p95 at or over 300 ms: {', '.join(over)}"
    )
    lines += [
        "",
        f"Load average (1 / 5 / 15 min) when it finished: {load_after}. Against the goal: "
        f"{verdict}.",
        "",
        _listener_line(),
        "",
        HOW,
    ]
    return "\n".join(lines) + "\n"
