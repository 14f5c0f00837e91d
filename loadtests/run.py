"""`make loadtest`: start a local stack on 127.0.0.1, run bounded headless Locust phases, write
CSV and HTML reports under docs/loadtest/ and generate docs/CAPACITY.md from them.

Stack: PostgreSQL and Redis (the machine's), gunicorn sync workers for HTTP (port 8108), the
minimal view under the same gunicorn settings (8109), Daphne for WebSockets (8110), a Celery
worker. The database is DATABASE_URL (default: lms_bench, seeded by `manage.py seed_scale`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "docs" / "loadtest"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WEB, MINIMAL, WS = 8108, 8109, 8110
PASSWORD = "loadtest-Passw0rd!"  # noqa: S105 - set on the sampled load-test accounts only


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lms_bench")
    e.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    e.setdefault("DJANGO_DEBUG", "0")
    e.setdefault("DJANGO_SECRET_KEY", "loadtest-only-secret-key-0123456789-abcdefghij")
    e.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    e.setdefault("DJANGO_SECURE_COOKIES", "0")
    e.setdefault("LMS_LOG_LEVEL", "WARNING")
    e.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
    return e


def prepare_pool(path: Path, size: int) -> dict[str, Any]:
    """Sample seeded learners, instructors and certificate codes; give them a known password."""
    os.environ.update({k: v for k, v in env().items() if k not in os.environ})
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from lms.accounts.models import Role, RoleAssignment, User

    rng = random.Random(42)
    hashed = make_password(PASSWORD)  # one hash for all: the load test signs in, not cracks
    with connection.cursor() as cur:
        cur.execute(
            "SELECT e.user_id, u.email, e.registration::text, e.version_id FROM courses_enrollment e "
            "JOIN accounts_user u ON u.id = e.user_id JOIN courses_courserun r ON r.id = e.run_id "
            "WHERE e.status = 'active' AND r.mode = 'virtual' AND u.email LIKE 'officer%%' "
            "ORDER BY e.id LIMIT %s",
            [size * 20],
        )
        rows = rng.sample(cur.fetchall(), min(size, cur.rowcount))
        cur.execute(
            "SELECT version_id, array_agg(id ORDER BY position) FILTER (WHERE kind <> 'xapi'), "
            "min(id) FILTER (WHERE kind = 'xapi') FROM courses_lesson GROUP BY version_id"
        )
        lessons = {v: (ids or [], x) for v, ids, x in cur.fetchall()}
        cur.execute("SELECT code FROM certification_certificate ORDER BY id LIMIT 2000")
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
        password=hashed, failed_login_count=0, locked_until=None
    )
    pool = {
        "password": PASSWORD,
        "learners": [
            {
                "email": email,
                "registration": reg,
                "lessons": lessons[v][0][:6],
                "xapi_lesson": lessons[v][1],
            }
            for _, email, reg, v in rows
        ],
        "instructors": instructors,
        "codes": codes or ["NOSUCHCODE00"],
        "dps": dps.email,
    }
    path.write_text(json.dumps(pool))
    return pool


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


def locust(name: str, host: str, classes: list[str], users: int, seconds: int, pool: Path) -> Path:
    prefix = REPORTS / name
    e = env() | {"LOADTEST_POOL": str(pool)}
    subprocess.run(  # noqa: S603
        [str(VENV_BIN / "locust"), "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
         "--host", host, "-u", str(users), "-r", str(max(1, users // 2)), "-t", f"{seconds}s",
         "--stop-timeout", "5", "--csv", str(prefix), "--html", f"{prefix}.html",
         "--only-summary", "--loglevel", "WARNING", *classes],
        cwd=ROOT, env=e, check=False, timeout=seconds + 120,
    )  # fmt: skip
    return Path(f"{prefix}_stats.csv")


def read_stats(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=45, help="length of the mixed phase")
    parser.add_argument("--users", type=int, default=60, help="simulated users in the mixed phase")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--pool", type=int, default=300, help="sampled learners")
    args = parser.parse_args()
    REPORTS.mkdir(parents=True, exist_ok=True)
    pool_path = ROOT / "var" / "loadtest-pool.json"
    pool = prepare_pool(pool_path, args.pool)
    collectstatic()
    gunicorn = [str(VENV_BIN / "gunicorn"), "--workers", str(args.workers), "--worker-class", "sync",
                "--log-level", "warning"]  # fmt: skip
    procs = [
        start([*gunicorn, "-b", f"{HOST}:{WEB}", "lms.wsgi:application"], "web"),
        start([*gunicorn, "-b", f"{HOST}:{MINIMAL}", "loadtests.minimal:application"], "minimal"),
        start([str(VENV_BIN / "daphne"), "-b", HOST, "-p", str(WS), "lms.asgi:application"], "websocket"),
        start([str(VENV_BIN / "celery"), "-A", "lms", "worker", "--concurrency=1", "--loglevel=WARNING"], "worker"),
    ]  # fmt: skip
    try:
        wait_http(f"http://{HOST}:{WEB}/healthz")
        wait_http(f"http://{HOST}:{MINIMAL}/minimal/")
        ceiling = locust("ceiling", f"http://{HOST}:{MINIMAL}", ["Ceiling"], 16, 15, pool_path)
        model = locust("model", f"http://{HOST}:{WEB}", ["Learner", "Instructor", "Verifier", "DpsAnalyst"],
                       args.users, args.seconds, pool_path)  # fmt: skip
        hot = locust("learner-hot", f"http://{HOST}:{WEB}", ["Learner"], 16, 20, pool_path)
        ws_ok = websocket_check()
        learner = pool["learners"][0]
        from loadtests.capacity import time_split

        split = time_split(
            {
                "catalogue": "/courses/",
                "lesson": f"/courses/learn/{learner['registration']}/{learner['lessons'][0]}/",
                "my learning": "/courses/my-learning/",
                "verify page": f"/verify/{pool['codes'][0]}",
            },
            learner["email"],
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    from loadtests.capacity import write_capacity

    write_capacity(
        ceiling=read_stats(ceiling), model=read_stats(model), hot=read_stats(hot),
        workers=args.workers, users=args.users, seconds=args.seconds, learners=len(pool["learners"]),
        websocket=ws_ok, split=split,
    )  # fmt: skip


def websocket_check() -> str:
    """Open the DPS dashboard socket through Daphne anonymously: it must be refused (scoped)."""
    import asyncio

    import websockets

    async def probe() -> str:
        try:
            async with websockets.connect(f"ws://{HOST}:{WS}/ws/dashboards/", open_timeout=5) as ws:
                await asyncio.wait_for(ws.recv(), timeout=3)
                return "accepted an anonymous client (unexpected)"
        except Exception as exc:  # noqa: BLE001 - the refusal is the expected outcome
            return f"Daphne answered; anonymous connection refused ({type(exc).__name__})"

    try:
        return asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001
        return f"not measured ({exc})"


if __name__ == "__main__":
    main()
