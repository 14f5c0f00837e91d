"""Benchmark of the learner's hot pages of the courses app: catalogue, lesson and My learning,
with 200,000 learners and 1,000,000 enrolments (times `scale`) in PostgreSQL.

Seeds its own data with set-based SQL (generate_series) unless the database already holds enough
enrolments, then times requests through Django's test client (in-process: the figures are the
server's own time without network or HTTP server, on a shared 2-core machine).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client

from courses.caching import clear_local
from loadtests.bench.harness import counted_queries, new_client

COURSES = 200
RUNS = 300
LESSONS_PER_COURSE = 8
ENROLMENTS_PER_LEARNER = 5
SAMPLES = 150
LANGS = ["es", "en", "pt", "fr"]
MODES = ["virtual", "virtual", "blended", "onsite"]


def _seed_catalogue() -> list[int]:
    """200 courses in four languages, each with a version of 8 lessons; 300 open runs."""
    from courses.models import Course, CourseRun, CourseVersion, Lesson, Module
    from lms.accounts.models import MemberState

    existing = list(
        CourseRun.objects.filter(code__startswith="bench-run-").values_list("pk", flat=True)
    )
    if len(existing) >= RUNS:
        return existing
    states = list(MemberState.objects.order_by("code"))
    with transaction.atomic():
        courses = Course.objects.bulk_create(
            Course(
                code=f"bench-course-{i}",
                title={lang: f"{name} {i}" for lang, name in zip(
                    LANGS, ["Gestión policial", "Police management", "Gestão policial",
                            "Gestion policière"], strict=True)},
                description={"es": "Curso de referencia", "en": "Reference course",
                             "pt": "Curso de referência", "fr": "Cours de référence"},
                languages="es en pt fr",
                is_published=True,
            )
            for i in range(COURSES)
        )  # fmt: skip
        versions = CourseVersion.objects.bulk_create(
            CourseVersion(course=c, number=1, is_frozen=True) for c in courses
        )
        modules = Module.objects.bulk_create(
            Module(version=v, position=1, title={"es": "Módulo", "en": "Module"}) for v in versions
        )
        body = {lang: "<p>" + ("Texto de la lección. " * 120) + "</p>" for lang in LANGS}
        Lesson.objects.bulk_create(
            Lesson(version=m.version, module=m, position=p, kind="text",
                   title={"es": f"Lección {p}", "en": f"Lesson {p}"}, body=body)
            for m in modules for p in range(1, LESSONS_PER_COURSE + 1)
        )  # fmt: skip
        for course, version in zip(courses, versions, strict=True):
            course.current_version = version
        Course.objects.bulk_update(courses, ["current_version"])
        runs = CourseRun.objects.bulk_create(
            CourseRun(
                course=courses[i % COURSES], version=versions[i % COURSES],
                code=f"bench-run-{i}", mode=MODES[i % 4], language=LANGS[i % 4],
                member_state=states[i % len(states)] if i % 3 else None, status="open",
            )
            for i in range(RUNS)
        )  # fmt: skip
    return [run.pk for run in runs]


def _seed_people(learners: int) -> None:
    """`learners` officers in 34 institutions and 5 enrolments each, in set-based SQL."""
    from lms.accounts.models import Institution, MemberState

    institutions = []
    for state in MemberState.objects.order_by("code"):
        inst, _ = Institution.objects.get_or_create(
            name=f"Bench police {state.code}",
            defaults={"short_name": f"B{state.code}", "member_state": state},
        )
        institutions.append((inst.pk, state.pk))
    values = ",".join(f"({i},{pk},{ms})" for i, (pk, ms) in enumerate(institutions))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_user WHERE email LIKE 'bench%%@bench.lms'", []
        )
        have = cursor.fetchone()[0]
        if have < learners:
            cursor.execute(
                f"""
                WITH inst(idx, institution_id, member_state_id) AS (VALUES {values})
                INSERT INTO accounts_user (password, is_superuser, email, full_name,
                    preferred_language, badge_number, status, is_staff, date_joined,
                    failed_login_count, institution_id, member_state_id)
                SELECT '!', false, 'bench' || g || '@bench.lms', 'Bench Officer ' || g,
                    (ARRAY['es','en','pt','fr'])[1 + g %% 4], '', 'active', false, now(), 0,
                    inst.institution_id, inst.member_state_id
                FROM generate_series(%s, %s) AS g JOIN inst ON inst.idx = g %% {len(institutions)}
                """,  # noqa: S608 - our own integers
                [have + 1, learners],
            )
        cursor.execute(
            """
            SELECT count(*) FROM courses_enrollment e JOIN courses_courserun r ON r.id = e.run_id
            WHERE r.code LIKE 'bench-run-%%'
            """,
            [],
        )
        if cursor.fetchone()[0] >= learners * ENROLMENTS_PER_LEARNER:
            return
        cursor.execute(
            f"""
            WITH runs AS (
                SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id, version_id
                FROM courses_courserun WHERE code LIKE 'bench-run-%%'
            ), people AS (
                SELECT id, institution_id, member_state_id,
                       row_number() OVER (ORDER BY id) AS n
                FROM accounts_user WHERE email LIKE 'bench%%@bench.lms'
            )
            INSERT INTO courses_enrollment (user_id, run_id, version_id, status, registration,
                enrolled_at, progress_pct, institution_id, member_state_id)
            SELECT p.id, r.id, r.version_id,
                   CASE WHEN (p.n + j) %% 5 = 0 THEN 'completed' ELSE 'active' END,
                   gen_random_uuid(), now() - (j || ' days')::interval,
                   ((p.n * 7 + j * 31) %% 101), p.institution_id, p.member_state_id
            FROM people p CROSS JOIN generate_series(0, {ENROLMENTS_PER_LEARNER - 1}) AS j
            JOIN runs r ON r.idx = (p.n * 7 + j * 13) %% {RUNS}
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - our own integers
            [],
        )
        cursor.execute(
            """
            UPDATE courses_courserun r SET active_count = c.n,
                completed_count = c.done
            FROM (SELECT run_id, count(*) AS n,
                         count(*) FILTER (WHERE status = 'completed') AS done
                  FROM courses_enrollment GROUP BY run_id) c
            WHERE c.run_id = r.id AND r.code LIKE 'bench-run-%%'
            """,
            [],
        )
        cursor.execute("ANALYZE accounts_user; ANALYZE courses_enrollment")


def seeded_database(learners: int) -> bool:
    """Whether the database is one `manage.py seed_scale` made at about this size (lms_bench):
    then the benchmarks measure it as it is rather than adding their own people."""
    from courses.models import CourseRun, Enrollment
    from loadtests.seeding import MARKER

    return (
        CourseRun.objects.filter(code__startswith=MARKER).exists()
        and Enrollment.objects.count() >= learners * 4
    )


def _time(client: Client, urls: list[str]) -> tuple[list[float], int, int]:
    timings: list[float] = []
    size = 0
    queries = 0
    for url in urls:
        with counted_queries() as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        size = max(size, len(response.content))
        queries = max(queries, len(captured))
    return timings, size, queries


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(options: dict[str, Any]) -> str:
    """Seed (if needed), time the pages, return the Markdown section."""
    from courses.models import Enrollment, Lesson

    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    learners = max(1000, int(200_000 * scale))
    if not settings.IS_POSTGRES:
        return "## Courses\n\nNot measured: the benchmark needs PostgreSQL (DATABASE_URL).\n"
    started = time.perf_counter()
    from loadtests.seeding import MARKER

    # The database `manage.py seed_scale` made (lms_bench) serves as it is; otherwise seed.
    prefix = MARKER
    if not seeded_database(learners):
        prefix = "bench-run-"
        _seed_catalogue()
        _seed_people(learners)
    seeded = time.perf_counter() - started
    total_enrollments = Enrollment.objects.count()
    out.write(f"courses: data ready in {seeded:.0f} s ({total_enrollments} enrolments)")
    rng = random.Random(2026)  # noqa: S311 - sampling, not security
    sample = list(
        Enrollment.objects.filter(
            run__code__startswith=prefix, status="active", run__mode="virtual"
        )
        # a seeded learner with progress has done the first lessons: take those who have not
        .filter(**({"progress_pct": 0} if prefix == MARKER else {}))
        .order_by("?")
        .values_list("user_id", "registration", "version_id")[:SAMPLES]
    )
    first_lessons: dict[int, int] = {}
    for version_id, pk in (
        Lesson.objects.filter(version_id__in={v for _u, _r, v in sample}, kind="text")
        .order_by("-position")
        .values_list("version_id", "pk")
    ):
        first_lessons[version_id] = pk  # the text lesson nearest the start of each version
    from lms.accounts.models import User

    results: list[tuple[str, list[float], int, int]] = []
    anonymous = new_client()
    load_before = os.getloadavg()[0]
    # The floor of this machine right now: the platform's health check, a near-trivial view.
    _time(anonymous, ["/healthz"] * 10)
    results.append(
        (
            "Health check, for comparison (a database, cache and broker ping)",
            *_time(anonymous, ["/healthz"] * SAMPLES),
        )
    )
    catalogue_urls = [
        "/courses/" + rng.choice(["", "?page=2", "?language=pt", "?mode=onsite",
                                  "?q=police", "?member_state=BR&language=es", "?page=7"])
        for _ in range(SAMPLES)
    ]  # fmt: skip
    _time(anonymous, catalogue_urls[:10])  # warm templates and the cache
    results.append(
        ("Catalogue, results cached (anonymous, 7 filter/page mixes)",
         *_time(anonymous, catalogue_urls))
    )  # fmt: skip
    cold: list[float] = []
    cold_size = cold_queries = 0
    for url in catalogue_urls:
        cache.clear()
        clear_local()  # and the copy each worker keeps in memory
        t, s, q = _time(anonymous, [url])
        cold += t
        cold_size, cold_queries = max(cold_size, s), max(cold_queries, q)
    results.append(("Catalogue, cache cleared before each request", cold, cold_size, cold_queries))
    lesson_times: list[float] = []
    revisit_times: list[float] = []
    learning_times: list[float] = []
    lesson_size = learning_size = lesson_queries = learning_queries = 0
    revisit_size = revisit_queries = 0
    people = User.objects.in_bulk([u for u, _r, _v in sample])
    for user_id, registration, version_id in sample:
        client = new_client()
        client.force_login(people[user_id])
        url = f"/courses/learn/{registration}/{first_lessons[version_id]}/"
        t, s, q = _time(client, [url])
        lesson_times += t
        lesson_size, lesson_queries = max(lesson_size, s), max(lesson_queries, q)
        t, s, q = _time(client, [url])
        revisit_times += t
        revisit_size, revisit_queries = max(revisit_size, s), max(revisit_queries, q)
        t, s, q = _time(client, ["/courses/my-learning/"])
        learning_times += t
        learning_size, learning_queries = max(learning_size, s), max(learning_queries, q)
    results.append(("Lesson page, first view (completes a text lesson: progress and two xAPI "
                    "statements)", lesson_times, lesson_size, lesson_queries))  # fmt: skip
    results.append(("Lesson page, revisit", revisit_times, revisit_size, revisit_queries))
    results.append(("My learning (5 enrolments)", learning_times, learning_size, learning_queries))
    load_after = os.getloadavg()[0]
    data = (
        f"the database made by `manage.py seed_scale` ({learners:,} learners and more, the seeded "
        "courses and runs; lessons timed are text lessons of virtual runs, first views by "
        "learners who had not started)"
        if prefix == MARKER
        else f"{learners:,} learners, {COURSES} courses and {RUNS} open runs seeded in "
        f"{seeded:.0f} s with set-based SQL"
    )
    rows = "\n".join(
        f"| {name} | {len(times)} | {statistics.median(times):.1f} | {_pct(times, 0.95):.1f} "
        f"| {size / 1024:.1f} | {queries} |"
        for name, times, size, queries in results
    )
    return f"""## Courses

Measured by `loadtests/bench/bench_courses.py` (`manage.py run_benchmarks --only courses
--scale {scale:g}`) on PostgreSQL with {total_enrollments:,} enrolments: {data}. Times
are Django's own (test client, in-process: no network and no HTTP server), on this
2-core machine, with sessions and the cache as configured; each user in the lesson and
My-learning samples is a different, randomly chosen learner. Load average {load_before:.1f}
at the start and {load_after:.1f} at the end on 2 cores (above ~1, other work shared the cores
and every figure, the trivial health check included, is inflated accordingly): compare the rows with the health check. "queries" is the most any
single request of the row ran (for the cached catalogue, the first miss of each URL).

| page | requests | p50 (ms) | p95 (ms) | largest page (KB) | queries |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}

Why it stays flat as enrolments grow: the catalogue reads courses and their open runs (a count
and two queries, an `EXISTS` on `courses_courserun(course, status)`), never enrolments, and keeps
each results page in the cache for 60 s (the filter options for 5 minutes), so a hit runs no
query at all; a lesson page locks
one enrolment by its unique `registration`, takes the version's outline and the lesson from the
cache (filled once per version, forgotten when an author saves a lesson or module) and reads that
enrolment's progress; a first view adds one INSERT of the progress, one UPDATE of the enrolment
and one INSERT of its statements (a constant 9-11 queries in all, see
`tests/courses/test_queries.py`);
My learning reads one person's enrolments through the `(user, status)` index. Run counters
(`active_count`, `waitlist_count`, `completed_count`) are kept by the services, so no page counts
rows. A lesson page stays under 100 KB before media (text lessons are sanitised HTML, video
lessons load nothing until played: `preload="none"`).
"""
