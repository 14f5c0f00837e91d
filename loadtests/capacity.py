"""docs/CAPACITY.md from the load test results (docs/loadtest/results-<database>.json): rates per
core with percentiles, the comparison with the minimal view, the WebSocket under load, where the
time goes, 20,000 against 200,000 learners, and the sizing of the load model's peak."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "docs" / "loadtest"
MAIN_DATABASE = "lms_bench"
# The peak of the load model (loadtests/README.md), requests per second by request. Learners:
# 300 req/s split by the Locust task weights (lesson 6, statement 4, catalogue 2, My learning 1),
# and the video players' position saves on top (weight 3 at the same rate: ~69 req/s).
PEAK = {
    "lesson": 300 * 6 / 13,
    "xapi statement POST": 300 * 4 / 13,
    "catalogue": 300 * 2 / 13,
    "my learning": 300 * 1 / 13,
    "video position": 300 * 3 / 13,
    "exam (start, autosave, submit)": 70.0,
    "instructor pages": 5.0,
    "verify page": 10.0,
    "DPS dashboard": 1.0,
    # 3,000 learners in 40-minute sessions start 1.25 sessions a second, and the exam window
    # signs 2,000 officers in within five minutes (6.7 a second): each is a password hash
    "sign-in POST": 1.25 + 6.7,
}
# Requests of the peak that the hot phase did not measure alone: the closest measured request.
STAND_IN = {
    "exam (start, autosave, submit)": "lesson",
    "instructor pages": "my learning",
}
HEADROOM = 1.5
CORES_PER_NODE = 4
HOT_GOAL = ("catalogue", "lesson", "xapi statement POST")


def time_split(
    paths: dict[str, str], email: str, samples: int = 15
) -> list[tuple[str, float, float, int]]:
    """In-process: total ms and database ms per request (the rest is Python and rendering)."""
    from django.db import connection
    from django.test import Client

    from lms.accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=email))
    out = []
    for name, path in paths.items():
        db_ns = [0]
        queries = [0]

        def wrapper(
            execute: Any,
            sql: str,
            params: Any,
            many: bool,
            context: Any,
            db_ns: list[int] = db_ns,
            queries: list[int] = queries,
        ) -> Any:
            start = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                db_ns[0] += time.perf_counter_ns() - start
                queries[0] += 1

        client.get(path)  # warm
        start = time.perf_counter()
        with connection.execute_wrapper(wrapper):
            for _ in range(samples):
                client.get(path)
        total_ms = (time.perf_counter() - start) * 1000 / samples
        out.append((name, total_ms, db_ns[0] / 1e6 / samples, queries[0] // samples))
    return out


def _stat(row: dict[str, str], key: str) -> float:
    try:
        return float(row.get(key) or 0)
    except ValueError:
        return 0.0


def _locust_table(rows: list[dict[str, str]], cores: int) -> list[str]:
    lines = [
        "| request | requests | req/s | per core | p50 ms | p95 ms | p99 ms | failures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        rps = _stat(r, "Requests/s")
        lines.append(
            f"| {r['Name']} | {r.get('Request Count', '0')} | {rps:.1f} | {rps / cores:.1f} | "
            f"{_stat(r, '50%'):.0f} | {_stat(r, '95%'):.0f} | {_stat(r, '99%'):.0f} | "
            f"{r.get('Failure Count', '0')} |"
        )
    return lines


def load_results() -> dict[str, dict[str, Any]]:
    return {
        path.stem.removeprefix("results-"): json.loads(path.read_text())
        for path in sorted(REPORTS.glob("results-*.json"))
    }


def _steady(main: dict[str, Any]) -> str:
    """How the mixed load's statistics were taken."""
    arrival = main.get("model_arrival_seconds")
    if not arrival:
        return ""
    return (
        f". Its users arrive over the first {arrival} s and its statistics start once every one has "
        "spawned (Locust's --reset-stats): they are the model's steady state, not its users' "
        "arrival, one in ten hashing a password (the exam window below measures an arrival)"
    )


def _own_row_sentence(
    ceiling: dict[str, Any], own_row: dict[str, Any], hot: dict[str, dict[str, Any]]
) -> str:
    """What the one-query floor says about the pages of a learner's own data."""
    share = share_of(own_row, ceiling)
    text = (
        '"minimal view, signed in, one query" adds to that floor one prepared read of the '
        "learner's own row by an index (their first enrolment; loadtests.views), the least that "
        "any page about the learner's own data does: a lesson reads the learner's enrolment and "
        f"progress, My learning their enrolments. It keeps {share:.0%} of the ceiling, so no such "
        "page can keep more on this machine"
    )
    lesson = [name for name in ("lesson, revisit", "my learning") if name in hot]
    if lesson:
        kept = ", ".join(f"{name} {hot[name]['rps'] / own_row['rps']:.0%}" for name in lesson)
        text += f"; against it, the pages keep: {kept}"
    return text + "."


def share_of(result: dict[str, Any], ceiling: dict[str, Any]) -> float:
    """What a phase kept of the ceiling: the median of its rounds' shares, each against its own
    round's ceiling (loadtests.run.combine_rounds); a run of one round, its rate over the
    ceiling's."""
    if result.get("shares"):
        return float(median(result["shares"]))
    return result["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0


def share_text(result: dict[str, Any], ceiling: dict[str, Any]) -> str:
    """The share, with the lowest and highest of its rounds when they differ: "42% (40–45%)"."""
    text = f"{share_of(result, ceiling):.0%}"
    shares = result.get("shares") or []
    low, high = f"{min(shares, default=0):.0%}", f"{max(shares, default=0):.0%}"
    if len(shares) > 1 and low != high:
        text += f" ({low}–{high})"
    return text


def _rounds(main: dict[str, Any]) -> str:
    """How many rounds the table's figures come from."""
    rounds = int(main.get("rounds") or 1)
    if rounds < 2:
        return ""
    return (
        f" The phases ran {rounds} times, in rounds (each round: the ceiling, the floors, then "
        "every hot request): the figures are each request's median over its rounds, its share "
        "the median of its shares of its own round's ceiling, with the lowest and the highest "
        "in brackets; each round's first views are other learners' lessons."
    )


def cpu_table(rows: list[dict[str, Any]], cores: int = 2) -> list[str]:
    """Where each hot request's time went: CPU per request of each group of processes, on a
    machine of `cores` cores."""
    rows = [r for r in rows if r.get("cpu_ms")]
    if not rows:
        return []
    groups = ["web", "database", "redis", "worker", "wrk", "other"]
    lines = [
        "",
        "### Where the time goes, by process",
        "",
        "CPU time each group of processes used during the phase, per request, in core-ms "
        "(psutil, user and system time): the web processes (gunicorn: Django, Python, "
        "rendering), PostgreSQL, Redis, the Celery worker (the xAPI buffer's drains and other "
        "tasks), the load generator (wrk), and the rest of the machine (the kernel's own "
        f"threads, such as its disk writes, and other programs). {cores} cores give "
        f"{cores * 1000:,} core-ms a second: the total is what one request costs the machine.",
        "",
        "| request | " + " | ".join(groups) + " | total |",
        "| --- | " + " | ".join("---:" for _ in groups) + " | ---: |",
    ]
    for r in rows:
        cpu = r["cpu_ms"]
        lines.append(
            f"| {r['name']} | "
            + " | ".join(f"{cpu.get(g, 0):.2f}" for g in groups)
            + f" | {sum(cpu.get(g, 0) for g in groups):.2f} |"
        )
    return lines


def _encoding(main: dict[str, Any]) -> str:
    """What the hot phases asked of the answers' encoding."""
    if main.get("accept_encoding"):
        return (
            f"Every request asks, as browsers do, `Accept-Encoding: {main['accept_encoding']}`: "
            "pages come back gzipped (lms.compression), the web processes paying for it; the "
            "minimal view's answer is too short to compress."
        )
    return "The requests asked for no compression (runs before 2026-12-05): pages went plain."


def _settings(main: dict[str, Any]) -> str:
    """The PostgreSQL settings the run had, as a clause of the report's first paragraph."""
    settings = main.get("settings")
    if not settings:
        return ""
    listed = ", ".join(f"{name} {value}" for name, value in sorted(settings.items()))
    return f"; PostgreSQL with {listed}"


def write_capacity() -> Path:
    runs = load_results()
    if not runs:
        raise RuntimeError("no results in docs/loadtest/: run `make loadtest` first")
    main = runs.get(MAIN_DATABASE) or max(runs.values(), key=lambda r: r.get("learners", 0))
    cores = int(main.get("cores") or 1)
    ceiling = main["ceiling"]
    hot = {r["name"]: r for r in main["hot"]}
    lines = [
        "# Capacity report",
        "",
        f"Generated by `make loadtest` (`python -m loadtests.run`) from "
        f"docs/loadtest/results-{main['database']}.json, measured {main['started']} on this "
        f"{cores}-core machine (load average {main['load_before']:.1f} before the run, "
        f"{main.get('load_after', 0):.1f} after). Database `{main['database']}`: "
        f"{main['learners']:,} learners, {main['enrolments']:,} enrolments, "
        f"{main['statements']:,} xAPI statements (docs/performance/scale.md){_settings(main)}. "
        "Stack: gunicorn with "
        f"{main['workers']} sync workers for HTTP, Daphne for WebSockets, one Celery worker, "
        'PostgreSQL and Redis, all on the same machine as the load generators; so "per core" '
        "below is the whole stack's cost (web, database, cache) divided by the machine's cores.",
        "",
        "## Each hot request alone, against the ceiling",
        "",
        f"wrk (a C client, closed loop, {main['connections']} connections, {main['hot_seconds']} s "
        "after a 2 s warm-up) against one request at a time, spread over the sampled learners' "
        "own sessions, enrolments and lessons (xAPI POSTs with each learner's launch credential "
        'and a fresh statement id; verifications from many addresses). "lesson" is first '
        "views: the learners take turns, each opening their next lesson not yet opened (no two "
        "requests in flight are one learner's), each view recording progress, statements, the "
        "resume point and the dashboards' activity (queued in Redis and written by the worker's "
        "drain in batches, courses.first_views: the worker's CPU is counted); "
        '"lesson, revisit" is other learners back on the lesson they opened last (its state '
        "kept near each process: no read). The ceiling is a "
        "minimal Django JSON view under the same gunicorn settings and middleware, in the same "
        "run; the xAPI POSTs of launched content, buffered, are answered before Django's "
        "request handling (lms.xapi.ingest: the same checks and buffer, the same headers) and "
        "the LRS API's other requests with credentials go through its shorter middleware "
        "(lms.handlers: no session, CSRF, messages or framing rules), as they do in production. "
        f"{_encoding(main)}{_rounds(main)}",
        "",
        "| request | req/s | per core | p50 ms | p95 ms | p99 ms | errors | share of ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    signed_in = main.get("ceiling_signed_in")
    own_row = main.get("ceiling_own_row")
    floor = [signed_in | {"name": "minimal view, signed in"}] if signed_in else []
    if own_row:
        floor.append(own_row | {"name": "minimal view, signed in, one query"})
    for r in [ceiling | {"name": "minimal view (ceiling)"}, *floor, *main["hot"]]:
        mark = " (goal ≥ 50 %)" if r["name"] in HOT_GOAL else ""
        lines.append(
            f"| {r['name']} | {r['rps']:.0f} | {r['rps'] / cores:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
            f"{share_text(r, ceiling)}{mark} |"
        )
    wrapped = sum(r.get("wrapped", 0) for r in main["hot"])
    if wrapped:
        lines += [
            "",
            f"In {wrapped} round(s) the lesson phase ran out of first views (wrk went round its "
            "list again, so some of its requests were revisits): raise `--pool`.",
        ]
    if signed_in and signed_in["rps"]:
        pages = ", ".join(
            f"{name} {hot[name]['rps'] / signed_in['rps']:.0%}"
            for name in ("catalogue", "lesson", "lesson, revisit", "my learning")
            if name in hot
        )
        lines += [
            "",
            '"minimal view, signed in" is the same minimal view asked with the sampled learners\' '
            "cookies: the middleware then reads the session and the person, as for every "
            f"signed-in page, so it is the floor of a signed-in request "
            f"({share_of(signed_in, ceiling):.0%} of the ceiling). Against that floor the "
            f"signed-in pages keep: {pages}. The goal is measured against the ceiling, as the "
            "issue asks.",
        ]
    if own_row and own_row["rps"] and ceiling["rps"]:
        lines += ["", _own_row_sentence(ceiling, own_row, hot)]
    missed = [
        r["name"] for r in main["hot"] if r["name"] in HOT_GOAL and share_of(r, ceiling) < 0.5
    ]
    if missed:
        lines += [
            "",
            f"Below the goal of half the ceiling: {', '.join(missed)}. What each of them costs, "
            "what was cut and what would close the gap: docs/performance/hot_paths.md.",
        ]
    lines += cpu_table([ceiling | {"name": "minimal view (ceiling)"}, *floor, *main["hot"]], cores)
    if "model" in main:
        ws = main.get("websocket") or {}
        lines += [
            "",
            "## The mixed load of the model",
            "",
            "Locust, the scenarios of loadtests/locustfile.py by their weights (learner 90, "
            "verifier 5, instructor 3, DPS 1; one learner in ten signs in through the form), "
            "with the think times of the load model, while DPS dashboards hold WebSockets open "
            f"(run of {main.get('full_started', main['started'])}, with the sections below; a "
            "later `--hot-only` run replaces only the table above)"
            f"{_steady(main)}:",
            "",
            *_locust_table(main["model"], cores),
            "",
            "### Dashboards' WebSockets during the mixed load",
            "",
        ]
        if "error" in ws or not ws:
            lines.append(f"Not measured: {ws.get('error', 'no result')}.")
        else:
            lines.append(
                f"{ws['sockets']} DPS dashboard sockets opened on Daphne in {ws['connect_s']} s; "
                f"{ws['events']} live events published through the Redis channel layer (one a "
                f"second); {ws['delivered']:,} of {ws['expected']:,} deliveries arrived; delay "
                f"from publication to arrival p50 {ws['p50_ms']} ms, p95 {ws['p95_ms']} ms, "
                f"max {ws['max_ms']} ms."
            )
    if main.get("exam"):
        lines += [
            "",
            "## The exam window",
            "",
            "Locust, loadtests/scenarios/exam_burst.py: officers sign in through the form, start "
            "the same timed exam (questions drawn per attempt), autosave two or three times, "
            "submit:",
            "",
            *_locust_table(main["exam"], cores),
        ]
    if main.get("split"):
        lines += [
            "",
            "## Where the time goes",
            "",
            "In process, one request at a time (Django test client, same database), 15 samples:",
            "",
            "| page | total ms | database ms | Python + rendering ms | queries |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, total, db, q in main["split"]:
            lines.append(f"| {name} | {total:.1f} | {db:.1f} | {total - db:.1f} | {q} |")
    others = [r for r in runs.values() if r is not main and r.get("hot")]
    if others:
        lines += [
            "",
            "## Does a request's cost grow with the number of learners?",
            "",
            "The same hot phase against databases of different sizes (same seed, same machine):",
            "",
        ]
        columns = sorted([main, *others], key=lambda r: r["learners"])
        lines.append(
            "| request | "
            + " | ".join(f"p95 ms at {r['learners']:,} ({r['started']})" for r in columns)
            + " | "
            + " | ".join(f"req/s at {r['learners']:,}" for r in columns)
            + " |"
        )
        lines.append("| --- |" + " ---: |" * (2 * len(columns)))
        for name in [r["name"] for r in main["hot"]]:
            rows = [{h["name"]: h for h in r["hot"]}.get(name) for r in columns]
            lines.append(
                f"| {name} | "
                + " | ".join(f"{r['p95_ms']:.1f}" if r else "–" for r in rows)
                + " | "
                + " | ".join(f"{r['rps']:.0f}" if r else "–" for r in rows)
                + " |"
            )
    # sizing: the cost of each request of the peak, in core-seconds, from the hot phase
    cost = {}
    for name in PEAK:
        measured = hot.get(STAND_IN.get(name, name))
        cost[name] = cores / measured["rps"] if measured and measured["rps"] else 0.0
    core_seconds = sum(PEAK[name] * cost[name] for name in PEAK)
    peak_rps = sum(PEAK.values())
    need = core_seconds * HEADROOM
    nodes = max(2, math.ceil(need / CORES_PER_NODE))
    per_statement = (main.get("statement_bytes") or 0) / max(1, main["statements"])

    def gib(n: float | None) -> str:
        return f"{(n or 0) / 2**30:,.0f} GiB"

    lines += [
        "",
        "## Sizing the peak",
        "",
        f"The load model's peak (loadtests/README.md) is about {peak_rps:.0f} requests a second. "
        "Each request's cost in core-seconds is the machine's cores divided by the rate it "
        "reached alone at saturation (the table above; exam requests are costed as a lesson and "
        "instructor pages as My learning, their closest measured neighbours):",
        "",
        "| request | peak req/s | core-ms each | cores at the peak |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in PEAK:
        lines.append(
            f"| {name} | {PEAK[name]:.0f} | {cost[name] * 1000:.1f} | {PEAK[name] * cost[name]:.2f} |"
        )
    lines += [
        f"| **all** | **{peak_rps:.0f}** | | **{core_seconds:.1f}** |",
        "",
        f"With {HEADROOM:.0%} of the peak provisioned, the stack needs **{need:.1f} cores** as "
        "measured here, where the database shares the cores with the application. Split for a "
        "deployment:",
        "",
        f"- web: **{nodes} application nodes of {CORES_PER_NODE} cores** running gunicorn, one "
        "sync worker per core plus one (the web HPA's floor is 4 pods of 1 core, and it grows "
        "with CPU);",
        "- WebSocket: 2 Daphne pods (a few thousand mostly idle dashboard, chat and notification "
        "sockets; the fan-out delay measured above);",
        "- Celery: 2 worker pods of 2 processes, growing to 20 processes during bulk certificate "
        "issuance (docs/performance/certification.md);",
        f"- PostgreSQL: 8 cores, 32 GB of memory (the hot working set: users, enrolments, lesson "
        f"progress and the statements' indexes), fast disk for {gib(main.get('database_bytes'))} "
        f"now ({gib(main.get('statement_bytes'))} of it the {main['statements']:,} statements "
        f"with their indexes, so about {gib(per_statement * 100_000_000)} for the 100 million "
        "statements the design allows), one streaming replica, PgBouncer in transaction mode in "
        "front; Redis: 1 core, 2 GB.",
        "",
        "Re-run `make loadtest` on the target hardware before buying: these figures come from a "
        "2-core machine that also ran the database and the load generators.",
        "",
    ]
    path = ROOT / "docs" / "CAPACITY.md"
    path.write_text("\n".join(lines))
    return path
