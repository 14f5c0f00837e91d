"""`make loadtest`: start a local stack on 127.0.0.1, measure it, write the CSV, HTML and JSON
reports under docs/loadtest/ and generate docs/CAPACITY.md from them.

Stack: PostgreSQL and Redis (the machine's), gunicorn sync workers for HTTP (port 8108), the
minimal view under the same gunicorn settings (8109), Daphne for WebSockets (8110), a Celery
worker. The database is DATABASE_URL (default: lms_bench, seeded by `manage.py seed_scale`).

Phases, each bounded:
1. ceiling: the minimal Django JSON view alone, driven by wrk (closed loop, 16 connections);
   then the same view signed in (the floor of a signed-in request) and signed in with one
   prepared read of the learner's own row (the floor of a page about the learner's own data);
2. hot requests, each alone, driven by wrk the same way: catalogue, lesson, My learning, the
   xAPI statement POST of launched content, certificate verification, the sign-in form and the
   DPS dashboard, spread over the sampled learners' real sessions and enrolments;
3. the mixed load of the model (Locust: learners, instructors, verifiers, DPS by the weights of
   loadtests/README.md) while DPS dashboards hold WebSockets open on Daphne and live events are
   published to them (delivery latency measured at every socket);
4. the exam window (Locust: officers start an exam, autosave, submit);
5. where the time goes, in process (database versus Python and rendering).
`--hot-only` runs phases 1 and 2 only: enough for comparing two database sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "docs" / "loadtest"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WEB, MINIMAL, WS = 8108, 8109, 8110
PASSWORD = "loadtest-Passw0rd!"  # noqa: S105 - set on the sampled load-test accounts only
# Learners of the pool whose last lesson the "lesson, revisit" phase asks for again.
REVISITED = 300
# What a browser (and Locust's client) asks of every request: pages then come back gzipped
# (lms.compression), and the web processes pay for that as they do for real visitors.
BROWSER_ENCODINGS = "gzip, deflate, br"
# The mixed model's users arrive over this many seconds of its run (its statistics start after).
ARRIVAL_SECONDS = 20
# Submitted essays waiting for the mixed model's instructors (loadtests.grading)
ESSAYS = 200
# The pool takes learners with up to this many lessons opened (fewest first).
MOST_OPENED = 16
# Rounds of phases 1 and 2: each round measures the ceiling, the floors and every hot request
# again, so that each share is taken against the ceiling of its own round and the report gives
# the median and the spread (one round on this 2-core machine moved by ±5 % of the ceiling).
ROUNDS = 3
# Sampled learners per round of first views (each opens up to six lessons once): 12,000 first
# views, enough for a lesson phase of 1,000 req/s for its 12 s (warm-up and timed run).
POOL_PER_ROUND = 2000


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lms_bench")
    e.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    e.setdefault("DJANGO_DEBUG", "0")
    e.setdefault("DJANGO_SECRET_KEY", "loadtest-only-secret-key-0123456789-abcdefghij")
    e.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    e.setdefault("DJANGO_SECURE_COOKIES", "0")
    e.setdefault("LMS_LOG_LEVEL", "WARNING")
    # verifiers come from many addresses: the load generator says which in X-Forwarded-For, as
    # the reverse proxy of a deployment does
    e.setdefault("LMS_TRUSTED_PROXIES", "1")
    # launched content's statements go through the Redis buffer, as in the deployments (deploy/)
    e.setdefault("LMS_XAPI_BUFFERED", "1")
    # and the lesson player's first views are written behind (courses.first_views), as there
    e.setdefault("LMS_FIRST_VIEWS_BEHIND", "1")
    # a course completed under load issues its certificate (a signed PDF, rendered by the worker)
    # as in production, with keys generated into the checkout's var/ instead of the deployment's
    e.setdefault("LMS_CERTIFICATION_GENERATE_KEYS", "1")
    e.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
    return e


def _setup_django() -> None:
    os.environ.update({k: v for k, v in env().items() if k not in os.environ})
    import django

    django.setup()


def _session_for(user: Any) -> str:
    """A signed-in session for `user`, as the sign-in view would store it (the password hash is
    deliberately slow, so the load test signs most users in this way and measures the sign-in
    itself separately). With the person-id hint cookie that a browser holds after its first
    signed-in page (lms.accounts.sessions), and the CSRF cookie that it holds since the sign-in
    form (without it every page would make and set a new CSRF secret, as for a first visit)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    from lms.accounts.sessions import HINT_COOKIE

    csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
    return (
        f"{settings.SESSION_COOKIE_NAME}={store.session_key}; {HINT_COOKIE}={user.pk}; "
        f"{settings.CSRF_COOKIE_NAME}={csrf}"
    )


def prepare_pool(path: Path, size: int, *, essays: int = 0) -> dict[str, Any]:
    """Sample seeded learners, instructors and certificate codes; give them a known password,
    a session and (for xAPI content) a launch credential; with `essays`, that many submitted
    essays for the instructors to grade (loadtests.grading)."""
    _setup_django()
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from lms.accounts.models import Role, RoleAssignment, User
    from lms.xapi.services import issue_launch_credential

    rng = random.Random(42)
    hashed = make_password(PASSWORD)  # one hash for all: the load test signs in, not cracks
    with connection.cursor() as cur:
        cur.execute(
            "SELECT version_id, array_agg(id ORDER BY position) FILTER (WHERE kind <> 'xapi'), "
            "min(id) FILTER (WHERE kind = 'xapi'), min(id) FILTER (WHERE kind = 'video') "
            "FROM courses_lesson GROUP BY version_id"
        )
        by_version = cur.fetchall()
        lessons = {v: (ids or [], x) for v, ids, x, _video in by_version}
        videos = {v: video for v, _ids, _x, video in by_version}
        # Learners with the fewest lessons opened come first (none, then one, and so on), each
        # with a lesson left to open: the lesson phase walks each learner through lessons they
        # have not opened, so that it measures first views (which record progress) at any
        # database size and however many runs came before (each run opens its learners'
        # lessons, which moves them down the order).
        candidates = (
            "SELECT e.user_id, u.email, e.registration::text, e.version_id, e.id FROM"
            " courses_enrollment e JOIN accounts_user u ON u.id = e.user_id JOIN courses_courserun"
            " r ON r.id = e.run_id WHERE e.status = 'active' AND r.mode = 'virtual' AND u.email"
            " LIKE 'officer%%' AND (SELECT count(*) FROM courses_lessonprogress p"
            " WHERE p.enrollment_id = e.id) = %s ORDER BY e.id LIMIT %s"
        )
        rows: list[tuple[Any, ...]] = []
        opened: dict[int, set[int]] = {}
        for count in range(MOST_OPENED + 1):
            if len(rows) >= size:
                break
            cur.execute(candidates, [count, size * 20])
            found = cur.fetchall()
            cur.execute(
                "SELECT enrollment_id, array_agg(lesson_id) FROM courses_lessonprogress"
                " WHERE enrollment_id = ANY(%s) GROUP BY enrollment_id",
                [[row[4] for row in found]],
            )
            seen = {enrollment: set(ids) for enrollment, ids in cur.fetchall()}
            fresh = [
                row for row in found
                if set(lessons.get(row[3], ([], None))[0]) - seen.get(row[4], set())
            ]  # fmt: skip
            picked = rng.sample(fresh, min(size - len(rows), len(fresh)))
            rows += picked
            opened.update({row[4]: seen.get(row[4], set()) for row in picked})
        cur.execute(
            "SELECT code FROM certification_certificate WHERE id IN (SELECT id FROM "
            "certification_certificate ORDER BY id LIMIT 20000) ORDER BY md5(code) LIMIT 2000"
        )
        codes = [c for (c,) in cur.fetchall()]
        cur.execute(
            "SELECT DISTINCT u.email FROM accounts_user u JOIN courses_runinstructor ri "
            "ON ri.user_id = u.id ORDER BY u.email LIMIT 50"
        )
        instructors = [e for (e,) in cur.fetchall()]
    dps, _ = User.objects.get_or_create(
        email="loadtest-dps@scale.example",
        defaults={"full_name": "Load test DPS", "status": "active"},
    )
    RoleAssignment.objects.get_or_create(user=dps, role=Role.DPS_ADMIN)
    emails = [r[1] for r in rows] + instructors + [dps.email]
    User.objects.filter(email__in=emails).update(
        password=hashed, failed_login_count=0, locked_until=None, status="active"
    )
    users = {u.email: u for u in User.objects.filter(email__in=emails)}
    from lms.accounts.principal import forget_many

    forget_many(u.pk for u in users.values())  # the passwords changed behind the model's back
    from courses.models import Lesson

    activity = dict(Lesson.objects.filter(kind="xapi").values_list("pk", "activity_id"))
    learners = []
    for _, email, reg, v, enrollment in rows:
        user = users[email]
        xapi_lesson = lessons[v][1]
        launch = (
            issue_launch_credential(
                user=user, registration=reg, activity_id=activity[xapi_lesson], ttl_seconds=86400
            )
            if xapi_lesson
            else None
        )
        learners.append(
            {
                "email": email,
                "cookie": _session_for(user),
                "registration": reg,
                "lessons": [
                    lesson for lesson in lessons[v][0] if lesson not in opened.get(enrollment, ())
                ][:6],
                "xapi_lesson": xapi_lesson,
                "video_lesson": videos.get(v),  # where the player saves its position
                "launch": launch,
            }
        )
    pool = {
        "password": PASSWORD,
        "learners": learners,
        "instructors": [{"email": e, "cookie": _session_for(users[e])} for e in instructors],
        "codes": codes or ["NOSUCHCODE00"],
        "dps": dps.email,
        "dps_cookie": _session_for(users[dps.email]),
        "essays": [],
    }
    if essays and instructors:
        from loadtests import grading

        pool["essays"] = grading.setup([users[e].pk for e in instructors], essays)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pool))
    return pool


def database_size() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cur:
        for label, sql in {
            "learners": "SELECT count(*) FROM accounts_user WHERE email LIKE 'officer%%'",
            "enrolments": "SELECT count(*) FROM courses_enrollment",
            "statements": "SELECT count(*) FROM xapi_statement",
            "statement_bytes": "SELECT pg_total_relation_size('xapi_statement')",
            "database_bytes": "SELECT pg_database_size(current_database())",
        }.items():
            cur.execute(sql)
            sizes[label] = int(cur.fetchone()[0])
    return sizes


# The server settings that decide how the writes of a large database cost (its pages in memory,
# the WAL written per change); deploy/k8s/postgres.yaml sets them for production.
SERVER_SETTINGS = ("shared_buffers", "wal_compression", "max_wal_size", "synchronous_commit")


def database_settings() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            [list(SERVER_SETTINGS)],
        )
        return dict(cur.fetchall())


def database_sessions() -> int:
    """Connections PostgreSQL has accepted to this database so far (pg_stat_database.sessions;
    a backend reports its own when it ends, or within a second). A phase's count tells whether
    something connects per request or per task instead of keeping its connection: each new
    backend builds its caches and plans again (a Celery drain per task cost about 60 ms of the
    database's CPU that no running process was charged with)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")  # this transaction's copy, if any
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cur.fetchone()[0])


def collectstatic() -> None:
    """DEBUG is off, as in production: the manifest of static files must exist."""
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT, env=env(), check=True,
    )  # fmt: skip


def start(cmd: list[str], log: str) -> subprocess.Popen[bytes]:
    out = open(REPORTS / f"{log}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def wait_http(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def locust_command(
    name: str, host: str, classes: list[str], users: int, seconds: int,
    *, locustfile: str = "loadtests/locustfile.py", spawn_rate: int | None = None,
    steady: bool = False,
) -> list[str]:  # fmt: skip
    """Locust's command line for a bounded headless run writing docs/loadtest/<name>*. `steady`:
    the statistics start again once every user has spawned (--reset-stats), so that they are
    the steady state of the load model, not the seconds in which all its users arrive at once
    (the exam window, whose arrival is the point, keeps them)."""
    prefix = REPORTS / name
    return [str(VENV_BIN / "locust"), "-f", str(ROOT / locustfile), "--headless",
            "--host", host, "-u", str(users), "-r", str(spawn_rate or max(1, users // 5)),
            "-t", f"{seconds}s", "--stop-timeout", "5", "--csv", str(prefix),
            "--html", f"{prefix}.html", "--only-summary", "--loglevel", "WARNING",
            *(["--reset-stats"] if steady else []), *classes]  # fmt: skip


def locust(
    name: str, host: str, classes: list[str], users: int, seconds: int, pool: Path,
    *, locustfile: str = "loadtests/locustfile.py", spawn_rate: int | None = None,
    extra_env: dict[str, str] | None = None, steady: bool = False,
) -> Path:  # fmt: skip
    e = env() | {"LOADTEST_POOL": str(pool)} | (extra_env or {})
    subprocess.run(  # noqa: S603
        locust_command(name, host, classes, users, seconds, locustfile=locustfile,
                       spawn_rate=spawn_rate, steady=steady),
        cwd=ROOT, env=e, check=False, timeout=seconds + 180,
    )  # fmt: skip
    return Path(f"{REPORTS / name}_stats.csv")


def read_stats(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


# Where a hot request's time goes, across processes: each group's CPU time over the phase,
# per request (the processes of the stack, the load generator, the rest of the machine).
CPU_GROUPS = (
    ("web", "gunicorn"),
    ("worker", "celery"),
    ("websocket", "daphne"),
    ("database", "postgres"),
    ("redis", "redis-server"),
)


def cpu_seconds() -> dict[str, Any]:
    """CPU seconds (user and system) used so far by each group of running processes, by the
    load generators this process ran and waited for (wrk), and by the whole machine (cpu_per_
    request calls what no group used "other": the kernel's own threads, other programs)."""
    import psutil

    by_process: dict[tuple[str, int], float] = {}
    kernel: dict[int, float] = {}  # the kernel's own threads (children of kthreadd, pid 2)
    for process in psutil.process_iter(["name", "cmdline", "cpu_times", "ppid"]):
        info = process.info
        if info["cpu_times"] is None:
            continue
        seconds = info["cpu_times"].user + info["cpu_times"].system
        text = " ".join([info["name"] or "", *(info["cmdline"] or [])[:3]])
        group = next((g for g, word in CPU_GROUPS if word in text), None)
        if group:
            by_process[(group, process.pid)] = seconds
        elif info["ppid"] == 2 and not info["cmdline"]:
            kernel[process.pid] = seconds
    total = psutil.cpu_times()
    # wrk runs and ends between two readings: its CPU is in this process's waited-for children
    children = os.times()
    return {
        "_processes": by_process,
        "_kernel_threads": kernel,
        "_children": children.children_user + children.children_system,
        "_busy": sum(total) - total.idle - total.iowait,
        # parts of the machine's busy time that no process is charged with: interrupts (the
        # network's and the disks' completions) and time the hypervisor gave to other machines
        "_irq": getattr(total, "irq", 0.0) + getattr(total, "softirq", 0.0),
        "_steal": getattr(total, "steal", 0.0),
    }


def cpu_per_request(
    before: dict[str, Any], after: dict[str, Any], requests: int
) -> dict[str, float]:
    """Core-milliseconds per request of each group between two cpu_seconds() readings (a process
    that started meanwhile counts from zero; one that ended is missed). "other" is the rest of
    the machine's busy time; "other_irq", "other_steal" and "other_kernel" are the parts of it
    spent on interrupts, stolen by the hypervisor and used by the kernel's own threads (the
    disks' writeback, say), not added again to the total."""
    if not requests:
        return {}
    used: dict[str, float] = {g: 0.0 for g, _ in CPU_GROUPS}
    for key, seconds in after["_processes"].items():
        used[key[0]] += seconds - before["_processes"].get(key, 0.0)
    used["wrk"] = after["_children"] - before["_children"]
    used["other"] = max(0.0, after["_busy"] - before["_busy"] - sum(used.values()))
    threads_before = before.get("_kernel_threads", {})
    changes = {
        "irq": after.get("_irq", 0.0) - before.get("_irq", 0.0),
        "steal": after.get("_steal", 0.0) - before.get("_steal", 0.0),
        "kernel": sum(
            seconds - threads_before.get(pid, 0.0)
            for pid, seconds in after.get("_kernel_threads", {}).items()
        ),
    }
    left = used["other"]
    for part, change in changes.items():
        spent = min(max(0.0, change), left)
        used[f"other_{part}"] = spent
        left -= spent
    return {g: round(v * 1000 / requests, 3) for g, v in used.items()}


FLOORS = ("ceiling", "ceiling_signed_in", "ceiling_own_row")


def combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One result per phase from the rounds' (each {"ceiling": …, "ceiling_signed_in": …,
    "ceiling_own_row": …, "hot": [...]}, a phase a wrk result with its cpu_ms): the median of the
    rates, percentiles and CPU per request, the sum of requests and errors, and each round's rate
    ("rounds_rps") and share of its own round's ceiling ("shares"), in the order of the first
    round's phases. A phase missing from a round is combined from the rounds that have it."""
    from statistics import median

    def combine(name: str, measured: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
        results = [r for r, _ in measured]
        groups = sorted({g for r in results for g in r.get("cpu_ms", {})})
        combined = {
            "name": name,
            "rps": round(median(r["rps"] for r in results), 1),
            "requests": sum(r["requests"] for r in results),
            "seconds": round(sum(r["seconds"] for r in results), 3),
            "errors": sum(r["errors"] for r in results),
            **{k: round(median(r[k] for r in results), 3)
               for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")},
            "rounds_rps": [r["rps"] for r in results],
            "shares": [round(r["rps"] / ceiling, 4) if ceiling else 0.0 for r, ceiling in measured],
        }  # fmt: skip
        if groups:
            combined["cpu_ms"] = {
                g: round(median(r.get("cpu_ms", {}).get(g, 0.0) for r in results), 3)
                for g in groups
            }
        if any(r.get("wrapped") for r in results):
            combined["wrapped"] = sum(1 for r in results if r.get("wrapped"))
        return combined

    out: dict[str, Any] = {}
    for key in FLOORS:
        measured = [(r[key], r["ceiling"]["rps"]) for r in rounds if key in r]
        if measured:
            out[key] = combine(measured[0][0]["name"], measured)
    names = [h["name"] for h in rounds[0]["hot"]] if rounds else []
    out["hot"] = [
        combine(name, [(h, r["ceiling"]["rps"]) for r in rounds for h in r["hot"]
                       if h["name"] == name])
        for name in names
    ]  # fmt: skip
    out["rounds"] = len(rounds)
    return out


def lesson_requests(learners: list[dict[str, Any]]) -> list[Any]:
    """The lesson phase: each learner's next lesson in turn (every learner's first, then every
    learner's second, and so on), so that the requests in flight at once are different
    learners'. A learner opens one lesson at a time; six of one learner's lessons at once queued
    on their enrolment's lock and each found the others' progress, which costs a second read."""
    from loadtests.wrk import Request

    steps = max((len(lr["lessons"]) for lr in learners), default=0)
    return [
        Request(f"/courses/learn/{lr['registration']}/{lr['lessons'][step]}/",
                headers={"Cookie": lr["cookie"]})
        for step in range(steps)
        for lr in learners
        if step < len(lr["lessons"])
    ]  # fmt: skip


def revisit_requests(learners: list[dict[str, Any]]) -> list[Any]:
    """The revisit phase: learners back on the lesson they opened last (their resume point):
    the pool's last learners with their last lesson, which the lesson phase does not reach in
    its time; main() opens each once just before the phase (ask_each)."""
    from loadtests.wrk import Request

    return [
        Request(f"/courses/learn/{lr['registration']}/{lr['lessons'][-1]}/",
                headers={"Cookie": lr["cookie"]})
        for lr in learners[-REVISITED:]
        if lr["lessons"]
    ]  # fmt: skip


def as_browser(requests: list[Any]) -> list[Any]:
    """The requests with a browser's Accept-Encoding (unless one is set already)."""
    return [
        replace(r, headers={"Accept-Encoding": BROWSER_ENCODINGS, **r.headers}) for r in requests
    ]


def csrf_secret(cookies: str) -> str | None:
    """The CSRF secret in a Cookie header (_session_for puts one there): Django takes it as the
    X-CSRFToken of a script's POST."""
    found = re.search(r"(?:^|; )csrftoken=([^;]+)", cookies)
    return found.group(1) if found else None


def position_requests(learners: list[dict[str, Any]]) -> list[Any]:
    """The video player's position saves: one per learner whose version has a video, with their
    session and its CSRF secret (Django takes the secret as a script's X-CSRFToken)."""
    from loadtests.wrk import Request

    requests = []
    for i, lr in enumerate(learners):
        token = csrf_secret(lr["cookie"])
        if not lr.get("video_lesson") or token is None:
            continue
        requests.append(
            Request(
                f"/courses/learn/{lr['registration']}/{lr['video_lesson']}/position/",
                method="POST",
                headers={
                    "Cookie": lr["cookie"],
                    "X-CSRFToken": token,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                body=f"position={15 + i % 500}&duration=900",
            )  # fmt: skip
        )
    return requests


def statement_request(launch: dict[str, Any], verb: str, *, with_id: bool = False) -> Any:
    """A statement POST by launched content (its launch credential), of an ADL verb; with_id:
    a fresh statement id per request ({uuid}, loadtests.wrk)."""
    from loadtests.wrk import Request

    statement = {
        **({"id": "{uuid}"} if with_id else {}),
        "actor": launch["actor"],
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": launch["activity_id"]},
        "context": {"registration": launch["registration"]},
    }
    headers = {"Authorization": launch["auth"], "X-Experience-API-Version": "1.0.3",
               "Content-Type": "application/json"}  # fmt: skip
    return Request("/xapi/statements", "POST", headers, json.dumps(statement))


def round_learners(learners: list[dict[str, Any]], rounds: int, k: int) -> list[dict[str, Any]]:
    """The learners whose lessons round `k` of `rounds` opens for the first time: each round its
    own, none of them the revisit phase's (revisit_requests), so that no round's first view is a
    lesson an earlier round or the revisit phase opened."""
    return learners[: max(0, len(learners) - REVISITED)][k::rounds]


def hot_requests(
    pool: dict[str, Any], first_views: list[dict[str, Any]] | None = None
) -> dict[str, list[Any]]:
    """The request lists of the hot phase: each learner's own session, enrolment and lessons;
    the lesson phase's first views those of `first_views` (by default every learner's)."""
    from loadtests.wrk import Request

    learners = pool["learners"]
    cookie = [{"Cookie": lr["cookie"]} for lr in learners]
    xapi = [
        statement_request(lr["launch"], "experienced", with_id=True)
        for lr in learners
        if lr.get("launch")
    ]
    codes = pool["codes"]
    return {
        "catalogue": [Request("/courses/", headers=h) for h in cookie],
        "lesson": lesson_requests(learners if first_views is None else first_views),
        "lesson, revisit": revisit_requests(learners),
        "my learning": [Request("/courses/my-learning/", headers=h) for h in cookie],
        "video position": position_requests(learners),
        "xapi statement POST": xapi,
        "verify page": [
            Request(
                f"/verify/{codes[i % len(codes)]}",
                headers={"X-Forwarded-For": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"},
            )
            for i in range(5000)
        ],  # fmt: skip
        "sign-in page": [Request("/accounts/login/")],
        "sign-in POST": signin_requests(pool),
        "DPS dashboard": [Request("/dashboards/", headers={"Cookie": pool["dps_cookie"]})],
    }


def ask_each(base: str, requests: list[Any]) -> None:
    """Send each request once, one after another, and read its answer (a phase's set-up)."""
    for r in requests:
        ask = urllib.request.Request(  # noqa: S310 - our own server
            base + r.path, data=r.body.encode() or None, method=r.method, headers=r.headers
        )
        with urllib.request.urlopen(ask, timeout=30) as answer:  # noqa: S310
            answer.read()


def signin_requests(pool: dict[str, Any]) -> list[Any]:
    """Sign-in form posts of the sampled learners, with a CSRF cookie and token fetched from the
    running server once (the token stays valid for its cookie). Each costs a password hash."""
    import re
    from urllib.parse import urlencode

    from loadtests.wrk import Request

    with urllib.request.urlopen(f"http://{HOST}:{WEB}/accounts/login/", timeout=10) as page:  # noqa: S310
        html = page.read().decode()
        cookie = next(
            c.split(";")[0] for c in page.headers.get_all("Set-Cookie") or [] if "csrftoken=" in c
        )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        return []
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
               "Referer": f"http://{HOST}:{WEB}/accounts/login/"}  # fmt: skip
    return [
        Request(
            "/accounts/login/",
            "POST",
            headers,
            urlencode(
                {
                    "username": lr["email"],
                    "password": pool["password"],
                    "csrfmiddlewaretoken": token.group(1),
                }
            ),
        )  # fmt: skip
        for lr in pool["learners"][:50]
    ]


class SocketProbe(threading.Thread):
    """DPS dashboards hold WebSockets open on Daphne while the mixed load runs; a live event is
    published every second through the channel layer and its delivery timed at every socket."""

    def __init__(self, cookie: str, sockets: int, seconds: int) -> None:
        super().__init__(daemon=True)
        self.cookie, self.sockets, self.seconds = cookie, sockets, seconds
        self.result: dict[str, Any] = {}

    def run(self) -> None:
        try:
            self.result = asyncio.run(self.probe())
        except Exception as exc:  # noqa: BLE001 - reported, not fatal to the run
            self.result = {"error": f"{type(exc).__name__}: {exc}"}

    async def probe(self) -> dict[str, Any]:
        import websockets

        from lms.dashboards import live

        headers = {"Cookie": self.cookie, "Origin": f"http://{HOST}:{WS}"}
        started = time.perf_counter()
        conns = await asyncio.gather(*(
            websockets.connect(f"ws://{HOST}:{WS}/ws/dashboards/", additional_headers=headers,
                               open_timeout=60)
            for _ in range(self.sockets)))  # fmt: skip
        connect_s = time.perf_counter() - started
        delays: list[float] = []
        received = 0

        async def listen(ws: Any) -> None:
            nonlocal received
            async for message in ws:
                data = json.loads(message)
                if data.get("kind") == "loadtest-probe":
                    received += 1
                    delays.append(time.time() - float(data["sent"]))

        listeners = [asyncio.create_task(listen(ws)) for ws in conns]
        sent = 0
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            payload = {"kind": "loadtest-probe", "sent": repr(time.time())}
            await asyncio.to_thread(live.publish, [live.ALL_GROUP], payload)
            sent += 1
            await asyncio.sleep(1)
        await asyncio.sleep(3)  # the last events' grace
        for ws in conns:
            await ws.close()
        for task in listeners:
            task.cancel()
        delays.sort()
        pick = (lambda q: delays[min(len(delays) - 1, int(q * len(delays)))] * 1000) if delays else (
            lambda q: 0.0)  # fmt: skip
        return {
            "sockets": self.sockets, "connect_s": round(connect_s, 2), "events": sent,
            "expected": sent * self.sockets, "delivered": received,
            "p50_ms": round(pick(0.5), 1), "p95_ms": round(pick(0.95), 1),
            "max_ms": round(delays[-1] * 1000, 1) if delays else 0.0,
        }  # fmt: skip


def exam_setup(officers: int) -> dict[str, str]:
    """An exam with a question bank and `officers` enrolled officers with the load-test password
    (the scale seeder seeds no question banks): the bench of assessments makes them."""
    from django.contrib.auth.hashers import make_password

    from lms.accounts.models import User
    from loadtests.bench.bench_assessments import _seed

    assessment_id, _ = _seed(officers)
    exam_users = User.objects.filter(email__startswith="exam", email__endswith="@bench.lms")
    exam_users.update(password=make_password(PASSWORD))
    from lms.accounts.principal import forget_many

    forget_many(exam_users.values_list("pk", flat=True))
    return {"LMS_EXAM_ID": str(assessment_id), "LMS_EXAM_EMAILS": "exam{n}@bench.lms",
            "LMS_EXAM_PASSWORD": PASSWORD}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="length of the mixed phase")
    parser.add_argument("--users", type=int, default=600, help="simulated users, mixed phase")
    parser.add_argument("--hot-seconds", type=int, default=10, help="length of each hot phase")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="rounds of the ceiling and hot phases"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help=f"sampled learners (6 lessons each, first views; default {POOL_PER_ROUND} a round "
        f"and {REVISITED} for the revisits)",
    )
    parser.add_argument("--sockets", type=int, default=200, help="dashboard WebSockets")
    parser.add_argument("--exam-officers", type=int, default=150)
    parser.add_argument("--hot-only", action="store_true", help="phases 1 and 2 only")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.pool is None:
        args.pool = POOL_PER_ROUND * args.rounds + REVISITED
    if not args.hot_only and args.seconds <= ARRIVAL_SECONDS:
        parser.error(
            f"--seconds must be longer than the {ARRIVAL_SECONDS} s in which the mixed model's "
            "users arrive (its statistics start after them)"
        )
    from loadtests import wrk

    REPORTS.mkdir(parents=True, exist_ok=True)
    pool_path = ROOT / "var" / "loadtest-pool.json"
    pool = prepare_pool(pool_path, args.pool, essays=0 if args.hot_only else ESSAYS)
    sizes = database_size()
    label = env()["DATABASE_URL"].rsplit("/", 1)[-1]
    # Locust replaces an officer who has submitted with a new one (the next number): enough
    # accounts for every officer the phase may start
    exam_env = {} if args.hot_only else exam_setup(args.exam_officers * 4)
    collectstatic()
    # tasks other runs left in the broker (a benchmark's certificate issuance, say) are not this
    # load: a worker eating through them would take the cores from the phases measured here
    subprocess.run(  # noqa: S603
        [str(VENV_BIN / "celery"), "-A", "lms", "purge", "-f"],
        cwd=ROOT, env=env(), check=False, capture_output=True,
    )  # fmt: skip
    gunicorn = [str(VENV_BIN / "gunicorn"), "--workers", str(args.workers), "--worker-class", "sync",
                "--log-level", "warning"]  # fmt: skip
    procs = [
        start([*gunicorn, "-b", f"{HOST}:{WEB}", "lms.wsgi:application"], "web"),
        start([*gunicorn, "-b", f"{HOST}:{MINIMAL}", "loadtests.minimal:application"], "minimal"),
        start([str(VENV_BIN / "daphne"), "-b", HOST, "-p", str(WS), "lms.asgi:application"], "websocket"),
        start([str(VENV_BIN / "celery"), "-A", "lms", "worker", "--concurrency=1", "--loglevel=WARNING"], "worker"),
    ]  # fmt: skip
    results: dict[str, Any] = {
        "database": label, **sizes, "settings": database_settings(),
        "workers": args.workers, "cores": os.cpu_count(),
        "connections": args.connections, "hot_seconds": args.hot_seconds,
        "accept_encoding": BROWSER_ENCODINGS,
        "load_before": os.getloadavg()[0], "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }  # fmt: skip
    web = f"http://{HOST}:{WEB}"
    try:
        wait_http(f"{web}/healthz")
        wait_http(f"http://{HOST}:{MINIMAL}/minimal/")
        wait_http(f"http://{HOST}:{WS}/healthz")

        def measure(name: str, base: str, requests: list[Any]) -> dict[str, Any]:
            # Warmed from the list's end, so that the timed run's first requests are as new as
            # the rest (the lesson phase's are first views: warming with them made revisits)
            requests = as_browser(requests)
            warm = wrk.run(name, base, requests[::-1], seconds=2, connections=args.connections)
            sessions, before = database_sessions(), cpu_seconds()
            r = wrk.run(
                name, base, requests, seconds=args.hot_seconds, connections=args.connections
            )
            after = cpu_seconds()
            sessions = database_sessions() - sessions
            # wrk goes round its list again once at its end: the lesson phase's first views
            # would then be revisits (the pool is too small for this machine's rate)
            wrapped = name == "lesson" and r.requests + warm.requests > len(requests)
            sys.stdout.write(
                f"{name}: {r.rps:.0f} req/s, p95 {r.p95_ms:.0f} ms, errors {r.errors}, "
                f"database connections opened {sessions}"
                + (" (more requests than first views: raise --pool)" if wrapped else "")
                + "\n"
            )
            return (
                r.as_dict()
                | {
                    "cpu_ms": cpu_per_request(before, after, r.requests),
                    "database_sessions": sessions,
                }
                | ({"wrapped": True} if wrapped else {})
            )

        minimal = f"http://{HOST}:{MINIMAL}"
        signed_in = [
            wrk.Request("/minimal/", headers={"Cookie": lr["cookie"]}) for lr in pool["learners"]
        ]
        # Every sampled launch as content starts it: an "initialized" statement, which reads the
        # fresh credential once and puts it in the shared cache (the phase then measures content
        # in progress; a web process meeting a credential first takes it from that cache).
        starts = [statement_request(lr["launch"], "initialized") for lr in pool["learners"]
                  if lr.get("launch")]  # fmt: skip
        ask_each(web, starts)
        rounds: list[dict[str, Any]] = []
        for k in range(args.rounds):
            sys.stdout.write(f"round {k + 1} of {args.rounds}\n")
            # Every sampled learner's person entry into the cache at the start of each round, so
            # that its first signed-in phase does not pay the cold reads of all of them at once
            # (the pool's set-up forgot them; a round lasts longer than principal.TTL, so the
            # last round's are gone too). Within the round the entries expire and are read
            # again over TTL / 2 to TTL each, as in a steady state.
            ask_each(minimal, signed_in)
            measured: dict[str, Any] = {
                "ceiling": measure("minimal view", minimal, [wrk.Request("/minimal/")]),
                # The same minimal view asked by the sampled learners with their cookies: the
                # floor of any signed-in request (the middleware reads the session and the
                # person), for telling what a page costs from what being signed in costs.
                "ceiling_signed_in": measure("minimal view, signed in", minimal, signed_in),
                # And with one prepared read of the learner's own row: the floor of any page
                # about the learner's own data (a lesson reads their enrolment and progress).
                "ceiling_own_row": measure(
                    "minimal view, signed in, one query",
                    minimal,
                    [replace(r, path="/minimal/own-row/") for r in signed_in],
                ),
                "hot": [],
            }
            first_views = round_learners(pool["learners"], args.rounds, k)
            for name, requests in hot_requests(pool, first_views).items():
                if name == "lesson, revisit":
                    # each lesson opened once first: opened, and its learner's resume point
                    # (the phase then measures revisits only)
                    ask_each(web, requests)
                if requests:
                    measured["hot"].append(measure(name, web, requests))
            rounds.append(measured)
        results.update(combine_rounds(rounds))
        results["round_results"] = rounds
        if not args.hot_only:
            probe = SocketProbe(pool["dps_cookie"], args.sockets, args.seconds)
            probe.start()
            # The model's users arrive over ARRIVAL_SECONDS (all of them in a few seconds queued
            # hundreds of first requests at once, which the steady state never sees).
            model = locust("model", web, ["Learner", "Instructor", "Verifier", "DpsAnalyst"],
                           args.users, args.seconds, pool_path, steady=True,
                           spawn_rate=max(1, args.users // ARRIVAL_SECONDS))  # fmt: skip
            probe.join(timeout=120)
            results["model"] = read_stats(model)
            results["model_arrival_seconds"] = ARRIVAL_SECONDS  # and statistics after it
            results["websocket"] = probe.result
            exam = locust("exam", web, ["ExamBurstUser"], args.exam_officers, 90, pool_path,
                          locustfile="loadtests/scenarios/exam_burst.py",
                          spawn_rate=max(1, args.exam_officers // 30), extra_env=exam_env)  # fmt: skip
            results["exam"] = read_stats(exam)
            from loadtests.capacity import time_split

            learner = pool["learners"][0]
            results["split"] = time_split(
                {
                    "catalogue": "/courses/",
                    "lesson": f"/courses/learn/{learner['registration']}/{learner['lessons'][0]}/",
                    "my learning": "/courses/my-learning/",
                    "verify page": f"/verify/{pool['codes'][0]}",
                },
                learner["email"],
            )
        if not args.hot_only:  # a later --hot-only run keeps these phases and says when they ran
            results["full_started"] = results["started"]
        results["load_after"] = os.getloadavg()[0]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    out = REPORTS / f"results-{label}.json"
    if args.hot_only and out.exists():  # keep the full run's other phases
        previous = json.loads(out.read_text())
        results = previous | {k: v for k, v in results.items()}
    out.write_text(json.dumps(results, indent=1))
    from loadtests.capacity import write_capacity

    sys.stdout.write(f"wrote {out} and {write_capacity()}\n")


if __name__ == "__main__":
    main()
