"""Benchmark of the LRS: statement ingestion through /xapi/statements (one per request, batches of
100 and 1,000) and the agent + verb + since query over a large seeded table.

Ingestion goes through the whole Django stack in-process (django.test.Client: middleware, Basic
authentication, validation, COPY) without a network hop. The query is timed through the same
Statements view, over a copy of xapi_statement (same columns and the same indexes) grown in five
steps with statements generated in SQL, measuring after each step what inserting and querying
cost; the project's own table is left as it was.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.test import Client

from lms.accounts.models import Institution, MemberState
from lms.xapi.models import LRSClient, Statement
from lms.xapi.services import create_client
from lms.xapi.signals import statements_stored
from loadtests.bench.harness import new_client

FULL_ROWS = 10_000_000
LEARNERS = 200_000
VERBS = [
    "http://adlnet.gov/expapi/verbs/" + word
    for word in [
        "registered",
        "launched",
        "experienced",
        "completed",
        "answered",
        "passed",
        "failed",
        "scored",
        "attended",
        "progressed",
    ]
]
HOME = "https://lms.example.org"
BENCH_SCHEMA = "xapi_bench"
BENCH_TABLE = f"{BENCH_SCHEMA}.xapi_statement"


def _statement(number: int) -> dict[str, Any]:
    return {
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": HOME, "name": f"bench{number % 5000}"},
        },
        "verb": {"id": VERBS[number % len(VERBS)], "display": {"en-US": "did"}},
        "object": {
            "objectType": "Activity",
            "id": f"{HOME}/xapi/activities/lesson/{number % 300}",
            "definition": {"name": {"en": "Lesson"}},
        },
        "result": {"score": {"scaled": 0.8}, "success": True, "completion": True},
        "context": {"registration": str(uuid.uuid4())},
    }


def _ingest(client: Client, auth: str, batch: int, statements: int) -> float:
    """Statements stored per second, posting `batch` statements a request.

    The request bodies are built before the clock starts: the client's JSON encoding is not the
    server's work (it shares the process and the two cores with it here).
    """
    bodies = []
    for start in range(0, statements, batch):
        body = [_statement(start + offset) for offset in range(batch)]
        bodies.append(json.dumps(body if batch > 1 else body[0]))
    started = time.perf_counter()
    for encoded in bodies:
        response = client.post(
            "/xapi/statements",
            encoded,
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
            HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"ingestion refused: {response.status_code} {response.content[:300]!r}"
            )
    return statements / (time.perf_counter() - started)


_SEED_SQL = f"""
INSERT INTO {BENCH_TABLE} (statement_id, data, actor_key, verb_id, activity_id, registration,
    related_activities, related_agents, timestamp, stored, voided, institution_id, client_id,
    has_attachments)
SELECT sid, jsonb_build_object('id', sid,
        'actor', jsonb_build_object('objectType', 'Agent',
            'account', jsonb_build_object('homePage', %(home)s, 'name', learner::text)),
        'verb', jsonb_build_object('id', verb),
        'object', jsonb_build_object('objectType', 'Activity', 'id', activity),
        'context', jsonb_build_object('registration', reg),
        'result', jsonb_build_object('completion', true),
        'stored', stored, 'timestamp', stored, 'version', '1.0.3'),
    'account:' || %(home)s || '|' || learner, verb, activity, reg, jsonb_build_array(activity),
    jsonb_build_array('account:' || %(home)s || '|' || learner), stored, stored, false,
    %(institution)s, %(client)s, false
FROM (
    SELECT gen_random_uuid() AS sid, gen_random_uuid() AS reg,
        floor(random() * {LEARNERS})::int AS learner,
        (%(verbs)s::text[])[1 + floor(random() * {len(VERBS)})::int] AS verb,
        %(home)s || '/xapi/activities/lesson/' || floor(random() * 5000)::int AS activity,
        %(origin)s::timestamptz + make_interval(secs => n * %(step)s) AS stored
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
) AS generated
"""  # noqa: S608 - constant table and sizes


def _create_bench_table() -> None:
    """The bench table: like xapi_statement (logged, same identity), its indexes added later."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {BENCH_SCHEMA}")
        cursor.execute(
            f"CREATE TABLE {BENCH_TABLE} (LIKE public.xapi_statement"
            " INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
        )


def _index_bench_table(create: bool) -> float:
    """Create (or drop) on the bench table every index xapi_statement has; returns seconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename = 'xapi_statement'"
        )
        for name, definition in cursor.fetchall():
            if create:
                cursor.execute(definition.replace("public.xapi_statement ", f"{BENCH_TABLE} "))
            else:
                cursor.execute(f"DROP INDEX IF EXISTS {BENCH_SCHEMA}.{name}")
        cursor.execute("RESET maintenance_work_mem")
        if create:
            cursor.execute(f"ANALYZE {BENCH_TABLE}")
    return time.perf_counter() - started


def _seed_chunk(
    first: int, last: int, rows: int, origin: datetime, institution_id: int, client_id: int
) -> float:
    """Generate statements first..last of `rows` in SQL; returns the seconds it took."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            _SEED_SQL,
            {
                "home": HOME,
                "verbs": VERBS,
                "origin": origin,
                "step": timedelta(days=365).total_seconds() / rows,
                "first": first,
                "last": last,
                "institution": institution_id,
                "client": client_id,
            },
        )
    return time.perf_counter() - started


def _bench_ingest(client: Client, auth: str) -> float:
    """Statements/s of two batches of 1,000 posted into the bench table (same view, same COPY)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {BENCH_SCHEMA}, public")
    try:
        return _ingest(client, auth, 1000, 2000)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO public")


def _query_p95(client: Client, auth: str, samples: int) -> tuple[float, float, int]:
    """p50 and p95 (ms) of GET /xapi/statements?agent=…&verb=…&since=… on the bench table."""
    random_source = random.Random(11)
    since = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    timings: list[float] = []
    returned = 0
    # The same view and SQL, reading the bench copy: its schema comes first on the search path.
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {BENCH_SCHEMA}, public")
    try:
        for _ in range(samples):
            learner = random_source.randrange(LEARNERS)
            agent = {"objectType": "Agent", "account": {"homePage": HOME, "name": str(learner)}}
            params = {
                "agent": json.dumps(agent),
                "verb": VERBS[random_source.randrange(len(VERBS))],
                "since": since,
                "limit": "50",
            }
            started = time.perf_counter()
            response = client.get(
                "/xapi/statements",
                params,
                HTTP_AUTHORIZATION=auth,
                HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
            )
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(
                    f"query refused: {response.status_code} {response.content[:300]!r}"
                )
            returned += len(response.json()["statements"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO public")
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], returned


def _explain(actor_key: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, stored, data FROM {BENCH_TABLE}"  # noqa: S608 - a constant table name
            " WHERE actor_key = %s AND verb_id = %s AND stored > now() - interval '90 days'"
            " AND NOT voided ORDER BY stored DESC, id DESC LIMIT 51",
            [actor_key, VERBS[3]],
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def _bench_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [BENCH_TABLE])
        if cursor.fetchone()[0] is None:
            return 0
        cursor.execute(f"SELECT count(*) FROM {BENCH_TABLE}")  # noqa: S608 - constant name
        return int(cursor.fetchone()[0])


# The sizes (fractions of the full table) at which inserting and querying are measured.
GROWTH_STEPS = (0.1, 1.0)


def _grow(
    rows: int, institution_id: int, client_id: int, client: Client, auth: str, out: Any
) -> list[tuple[int, float, float, float, float, float]]:
    """Grow the bench table to each of GROWTH_STEPS and measure what inserting and querying cost.

    The rows are generated in SQL with the indexes dropped and the indexes rebuilt after (far
    faster than maintaining them row by row on a shared 2-core machine); the cost of inserting
    at that size is then measured where it matters, by POSTing batches through the view into
    the indexed table. Returns (rows stored, seconds to generate, seconds to index, statements/s
    posted, query p50 ms, query p95 ms) per step.
    """
    _create_bench_table()
    origin = datetime.now(UTC) - timedelta(days=365)
    growth = []
    first = 1
    for fraction in GROWTH_STEPS:
        last = int(rows * fraction)
        if first > 1:
            _index_bench_table(create=False)
        seconds = _seed_chunk(first, last, rows, origin, institution_id, client_id)
        indexing = _index_bench_table(create=True)
        first = last + 1
        posted = _bench_ingest(client, auth)
        p50, p95, _returned = _query_p95(client, auth, 100)
        growth.append((last, seconds, indexing, posted, p50, p95))
        out.write(
            f"  {last:,} rows: generated in {seconds:.0f} s, indexed in {indexing:.0f} s,"
            f" POST {posted:,.0f}/s, query p50 {p50:.1f} ms p95 {p95:.1f} ms"
        )
    return growth


def run(options: dict[str, Any]) -> str:
    """Measure ingestion and the filtered query; returns the Markdown section.

    XAPI_BENCH_REUSE=1 keeps a bench table already holding the rows (no growth measurement).
    """
    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    if connection.vendor != "postgresql":
        return "## xAPI LRS\n\nNot measured: the benchmark needs PostgreSQL (DATABASE_URL).\n"
    institution, _created = Institution.objects.get_or_create(
        name="xAPI benchmark police",
        defaults={"short_name": "XBENCH", "member_state": MemberState.objects.get(code="CO")},
    )
    lrs_client, secret = create_client(
        name="xAPI benchmark", institution=institution, scope="institution", created_by=None
    )
    auth = "Basic " + base64.b64encode(f"{lrs_client.key}:{secret}".encode()).decode()
    client = new_client()
    batch_n = max(2000, int(20_000 * min(scale, 1)))
    try:
        # The LRS alone first (listeners of statements_stored set aside), then the platform as
        # it runs, with courses' listener updating lesson progress after each commit.
        _ingest(client, auth, 1000, 2000)  # warm up: first-request imports, caches, plans
        receivers = statements_stored.receivers
        statements_stored.receivers = []
        statements_stored.sender_receivers_cache.clear()
        try:
            alone = _ingest(client, auth, 1000, batch_n)
        finally:
            statements_stored.receivers = receivers
            statements_stored.sender_receivers_cache.clear()
        out.write(f"  1000 a request, LRS alone: {alone:,.0f}/s")
        single_n = max(100, int(1000 * min(scale, 1)))
        single = _ingest(client, auth, 1, single_n)
        out.write(f"  1 a request: {single:,.0f}/s")
        batch100_n = max(1000, int(10_000 * min(scale, 1)))
        batch100 = _ingest(client, auth, 100, batch100_n)
        out.write(f"  100 a request: {batch100:,.0f}/s")
        batch1000 = _ingest(client, auth, 1000, batch_n)
        out.write(f"  1000 a request: {batch1000:,.0f}/s")
        rows = int(FULL_ROWS * scale)
        growth: list[tuple[int, float, float, float, float, float]] = []
        started = time.perf_counter()
        if os.environ.get("XAPI_BENCH_REUSE") == "1" and _bench_rows() >= rows:
            out.write(f"  reusing {_bench_rows():,} bench rows")
        else:
            growth = _grow(rows, institution.pk, lrs_client.pk, client, auth, out)
        seed_seconds = time.perf_counter() - started
        stored_rows = _bench_rows()
        p50, p95, returned = _query_p95(client, auth, 300)
        out.write(f"  query p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        plan = _explain(f"account:{HOME}|42")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s)),"
                " pg_size_pretty(pg_relation_size(%s))",
                [BENCH_TABLE, BENCH_TABLE],
            )
            total_size, heap_size = cursor.fetchone()
    finally:
        Statement.objects.filter(client=lrs_client).delete()
        LRSClient.objects.filter(pk=lrs_client.pk).delete()
    goal_ingest = "met" if min(batch100, batch1000) >= 5000 else "not met"
    goal_query = "met" if p95 < 50 else "not met"
    growth_table = "\n".join(
        f"| {size:,} | {generated:.0f} | {indexed:.0f} | {posted:,.0f} | {g50:.1f} | {g95:.1f} |"
        for size, generated, indexed, posted, g50, g95 in growth
    )
    return f"""## xAPI LRS

Measured by `loadtests/bench/bench_xapi.py` (`manage.py run_benchmarks --only xapi --scale {scale}`)
on PostgreSQL, on this 2-core machine shared with the other developers' work.

### Ingestion (POST /xapi/statements through the whole Django stack, in-process)

| statements a request | statements | statements/s |
| --- | ---: | ---: |
| 1 | {single_n:,} | {single:,.0f} |
| 100 | {batch100_n:,} | {batch100:,.0f} |
| 1,000 | {batch_n:,} | {batch1000:,.0f} |
| 1,000, LRS alone (no `statements_stored` listeners) | {batch_n:,} | {alone:,.0f} |

Goal of 5,000 statements/s in batches of 100 and 1,000: **{goal_ingest}**. A batch is validated,
its ids looked up in one query (one array parameter), then copied in with one COPY in one
transaction; courses' listener then finds the batch's enrolments, lessons and progress in three
queries (30 % of these statements carry an outcome verb, in registrations unknown to courses).

### Growth: what inserting and querying cost as the table grows to {rows:,} statements

Each step generates statements in SQL (indexes dropped, then rebuilt), then POSTs two batches of
1,000 through the view into the indexed table and times 100 queries.

| statements stored | s to generate | s to index | POST, 1,000 a request, statements/s | query p50 ms | query p95 ms |
| ---: | ---: | ---: | ---: | ---: | ---: |
{growth_table or "| (reused an existing bench table) | | | | | |"}

### Query: agent + verb + since (last 90 days), limit 50, through GET /xapi/statements

{stored_rows:,} statements (scale {scale}; the goal is stated for 10,000,000) in a logged copy of
`xapi_statement` with the same indexes ({seed_seconds:.0f} s to generate and measure); table with
indexes {total_size} (heap {heap_size}). {returned:,} statements returned over 300 queries of
random learners (200,000 learners, 10 verbs, 5,000 activities, one year of stored times).

| p50 | p95 |
| ---: | ---: |
| {p50:.1f} ms | {p95:.1f} ms |

Goal of p95 < 50 ms: **{goal_query}**. The plan uses the composite index
`(actor_key, verb_id, stored)`, so its cost follows the learner's own statements, not the table:

```
{plan}
```
"""
