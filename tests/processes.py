"""Code run in a fresh interpreter, as a server process would start it (settings read from the
environment at start-up, entry points imported once)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings


def python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with the LMS's settings and only the given environment
    of ours (no DJANGO_, LMS_, DB_ variables, DATABASE_URL or REDIS_URL of the test run)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "LMS_", "DB_"))
        and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="lms.settings", LMS_VAR_DIR=str(settings.VAR_DIR), **env)
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, *args],
        env=clean,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
