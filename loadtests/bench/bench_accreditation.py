"""Benchmark of accreditation reads on the courses benchmark's scale data: the outcome aggregates
by member state of the busiest accredited version, the validator portal and outcomes pages, and
the accreditation_in_force selector that every certificate calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from loadtests.bench.harness import counted_queries, new_client

SAMPLES = 50
SELECTOR_CALLS = 500
BENCH_UNIVERSITY = "Benchmark University"


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], int]:
    times: list[float] = []
    queries = 0
    for _ in range(repeat):
        with counted_queries() as captured:
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        queries = max(queries, len(captured))
    return times, queries


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup() -> tuple[Any, Any, int]:
    """An accredited request for the version with the most enrolments, and its validator."""
    from accreditation.models import AccreditationRequest
    from courses.models import CourseVersion, Enrollment
    from lms.accounts.models import MemberState, Role, RoleAssignment, University, User

    busiest = Enrollment.objects.values("version_id").annotate(n=Count("pk")).order_by("-n").first()
    if busiest is None:
        raise RuntimeError("no enrolments: seed the courses benchmark first")
    version = CourseVersion.objects.select_related("course").get(pk=busiest["version_id"])
    university, _ = University.objects.get_or_create(
        name=BENCH_UNIVERSITY, defaults={"member_state": MemberState.objects.get(code="CO")}
    )
    validator, _ = User.objects.get_or_create(
        email="bench.validator@example.org",
        defaults={"full_name": "Benchmark Validator", "status": User.Status.ACTIVE},
    )
    RoleAssignment.objects.get_or_create(user=validator, role=Role.VALIDATOR, university=university)
    today = timezone.localdate()
    request, _ = AccreditationRequest.objects.get_or_create(
        course_version=version,
        university=university,
        defaults={
            "owner_institution_id": version.course.owner_institution_id,
            "status": AccreditationRequest.Status.APPROVED,
            "reference": f"BENCH-{version.pk}",
            "credit_hours": Decimal("40"),
            "ects_credits": Decimal("1.6"),
            "ceu": Decimal("3.0"),
            "valid_from": today - timedelta(days=30),
            "valid_until": today + timedelta(days=1000),
            "decided_at": timezone.now(),
            "level": "5",
            "submitted_at": timezone.now(),
        },
    )
    return request, validator, busiest["n"]


def _database_times(version_id: int, today: Any) -> tuple[float, float]:
    """Execution times reported by PostgreSQL for the aggregate and the in-force lookup."""
    from accreditation.models import AccreditationRequest
    from accreditation.selectors import ENROLLED_STATUSES, in_force_filter
    from courses.models import Enrollment

    def execution_ms(plan: str) -> float:
        line = next(line for line in plan.splitlines() if line.startswith("Execution Time"))
        return float(line.split(":")[1].split()[0])

    aggregate = (
        Enrollment.objects.filter(version_id=version_id, status__in=ENROLLED_STATUSES)
        .values("member_state_id")
        .annotate(n=Count("pk"), onsite=Count("pk", filter=Q(run__mode="onsite")))
        .order_by("member_state_id")
        .explain(analyze=True)
    )
    lookup = (
        AccreditationRequest.objects.filter(in_force_filter(today), course_version_id=version_id)
        .order_by("-decided_at")
        .explain(analyze=True)
    )
    return execution_ms(aggregate), execution_ms(lookup)


def run(options: dict[str, Any]) -> str:
    """Seed (through the courses benchmark, if needed), time the reads, return the section."""
    from accreditation.selectors import accreditation_in_force, outcomes_by_member_state
    from courses.models import Enrollment
    from loadtests.bench import bench_courses

    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    if not settings.IS_POSTGRES:
        return "## Accreditation\n\nNot measured: the benchmark needs PostgreSQL (DATABASE_URL).\n"
    learners = max(1000, int(200_000 * scale))
    if not bench_courses.seeded_database(learners):
        bench_courses._seed_catalogue()
        bench_courses._seed_people(learners)
    request, validator, version_enrolments = _setup()
    total = Enrollment.objects.count()
    out.write(f"accreditation: {total} enrolments, {version_enrolments} in the accredited version")
    today = timezone.localdate()
    results: list[tuple[str, list[float], int]] = []
    outcomes_by_member_state(course_version_id=request.course_version_id)  # warm
    results.append(
        (
            f"outcomes_by_member_state ({version_enrolments:,} enrolments of one version)",
            *_timed(
                lambda: outcomes_by_member_state(course_version_id=request.course_version_id),
                SAMPLES,
            ),
        )
    )
    results.append(
        (
            "accreditation_in_force (one certificate)",
            *_timed(
                lambda: accreditation_in_force(
                    course_version_id=request.course_version_id, on=today
                ),
                SELECTOR_CALLS,
            ),
        )
    )
    client = new_client()
    client.force_login(validator)
    client.get("/accreditation/portal/")
    results.append(
        ("Validator portal page", *_timed(lambda: client.get("/accreditation/portal/"), SAMPLES))
    )
    results.append(
        (
            "Outcomes page (by member state)",
            *_timed(lambda: client.get(f"/accreditation/requests/{request.pk}/outcomes/"), SAMPLES),
        )
    )
    explained = _database_times(request.course_version_id, today)
    rows = "\n".join(
        f"| {name} | {len(times)} | {statistics.median(times):.1f} | {_pct(times, 0.95):.1f} "
        f"| {queries} |"
        for name, times, queries in results
    )
    return f"""## Accreditation

Measured by `loadtests/bench/bench_accreditation.py` (`manage.py run_benchmarks --only
accreditation --scale {scale:g}`) on PostgreSQL, on the courses benchmark's data at that scale
or the seed_scale database ({total:,} enrolments). The version with the most enrolments
({version_enrolments:,}) is accredited by a benchmark university; times are in-process (Django's
test client or a direct call, no HTTP server) on this 2-core machine.

| read | calls | p50 (ms) | p95 (ms) | queries |
| --- | ---: | ---: | ---: | ---: |
{rows}

Inside PostgreSQL (`EXPLAIN ANALYZE`, one run after the timings): the aggregate query
{explained[0]:.1f} ms, the in-force lookup {explained[1]:.2f} ms; the rest of the times above is
Python and the machine's load.

The aggregates are one `GROUP BY member_state_id` over `courses_enrollment` filtered by the
version's foreign-key index, with conditional `COUNT`s for completions, passes and score bands and
conditional `AVG`s for scores and on-site attendance (a join to the run for its mode), plus one
query for the member states' names; no query per row. Its cost grows with the enrolments of the
one version, not with the whole table. `accreditation_in_force` reads one row through the
`(course_version, status, valid_until)` index plus its conditions.
"""
