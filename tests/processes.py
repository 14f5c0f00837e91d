"""Code run in a fresh interpreter, as a server process would start it (settings read from the
environment at start-up, entry points imported once)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings


def environment(**env: str) -> dict[str, str]:
    """The environment of a fresh process with the LMS's settings and only the given variables
    of ours (no DJANGO_, LMS_, DB_ variables, DATABASE_URL or REDIS_URL of the test run)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "LMS_", "DB_", "CELERY_"))
        and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "lms.settings", "LMS_VAR_DIR": str(settings.VAR_DIR)})
    clean.update(env)  # LMS_VAR_DIR among them: a folder of the test's own
    return clean


def python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (see environment())."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, *args],
        env=environment(**env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """End a server process the test started: asked first, killed if it does not end in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def database_url(**query: str) -> str:
    """DATABASE_URL of the test database (PostgreSQL), for a server process the test starts;
    `query` adds connection parameters (application_name, say)."""
    from django.db import connection

    db = connection.settings_dict
    url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return f"{url}?{urlencode(query)}" if query else url
