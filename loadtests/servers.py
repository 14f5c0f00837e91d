"""Daphne, uvicorn and gunicorn side by side on the minimal view and a real page (the sign-in
form: template, session, CSRF), same machine, same Locust load: writes docs/performance/servers.md.

    python -m loadtests.servers [--seconds 10] [--users 16]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys

from loadtests.run import HOST, REPORTS, ROOT, VENV_BIN, collectstatic, env, wait_http

PORT = 8109
SERVERS = {
    "gunicorn (2 sync workers, WSGI)": [
        str(VENV_BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync",
        "-b", f"{HOST}:{PORT}", "--log-level", "warning", "loadtests.minimal:application"],
    "uvicorn (2 workers, ASGI)": [
        str(VENV_BIN / "uvicorn"), "--workers", "2", "--host", HOST, "--port", str(PORT),
        "--log-level", "warning", "--no-access-log", "loadtests.asgi_minimal:application"],
    "Daphne (1 process, ASGI)": [
        str(VENV_BIN / "daphne"), "-b", HOST, "-p", str(PORT), "loadtests.asgi_minimal:application"],
}  # fmt: skip
PAGES = {"minimal JSON view": "/minimal/", "sign-in page": "/accounts/login/"}

LOCUSTFILE = """import os

from locust import FastHttpUser, constant, task


class Probe(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(os.environ["PROBE_PATH"], name="probe")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=16)
    args = parser.parse_args()
    REPORTS.mkdir(parents=True, exist_ok=True)
    probe = REPORTS / "probe_locustfile.py"
    probe.write_text(LOCUSTFILE)
    collectstatic()
    results = []
    for server, cmd in SERVERS.items():
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )  # noqa: S603
        try:
            wait_http(f"http://{HOST}:{PORT}/minimal/")
            for page, path in PAGES.items():
                prefix = REPORTS / "servers"
                subprocess.run(  # noqa: S603
                    [str(VENV_BIN / "locust"), "-f", str(probe), "--headless", "--host",
                     f"http://{HOST}:{PORT}", "-u", str(args.users), "-r", str(args.users),
                     "-t", f"{args.seconds}s", "--csv", str(prefix), "--only-summary",
                     "--loglevel", "WARNING"],
                    cwd=ROOT, env=env() | {"PROBE_PATH": path}, check=False, timeout=args.seconds + 60,
                )  # fmt: skip
                with open(f"{prefix}_stats.csv") as f:
                    row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
                results.append((server, page, row))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    lines = [
        "# HTTP servers side by side",
        "",
        f"`python -m loadtests.servers --seconds {args.seconds} --users {args.users}`: each server "
        "serves the same Django project (settings and middleware of the LMS, DEBUG off, "
        "PostgreSQL sessions) on 127.0.0.1; Locust (FastHttpUser, no wait) drives it from the "
        f"same 2-core machine, which other jobs were also using, so compare the rows with each "
        "other rather than with other machines.",
        "",
        "| server | page | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for server, page, row in results:
        lines.append(
            f"| {server} | {page} | {float(row['Requests/s']):.0f} | {row['50%']} | {row['95%']} | "
            f"{row['99%']} | {row['Failure Count']} |"
        )
    lines += [
        "",
        "## Choice",
        "",
        "HTTP goes to **gunicorn with sync workers** (one per core, plus one): Django's views, ORM "
        "and templates are synchronous, so an ASGI server must hop every request onto a thread "
        "(sync_to_async) and back, which is the gap seen above, while a sync worker runs the view "
        "directly; slow clients are absorbed by nginx/ingress buffering. **Daphne stays for "
        "WebSockets only** (`/ws/`: dashboards, chat, notifications, bulk issuance progress), "
        "where Channels' consumers live; uvicorn could take that role as well, Daphne is "
        "Channels' reference server and already what `make run` uses.",
        "",
    ]
    (ROOT / "docs" / "performance" / "servers.md").write_text("\n".join(lines))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
