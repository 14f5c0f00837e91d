"""Settings from the environment: production refusals, and structured JSON logs."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from typing import Any

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from lms.logging import RequestIdFilter
from tests.processes import python

SETUP = "from django.conf import settings; settings.INSTALLED_APPS; print('started')"


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh interpreter with the given environment."""
    return python(SETUP, **env)


def test_production_refuses_the_default_secret_key() -> None:
    result = start(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="lms.example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "set DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_missing_allowed_hosts() -> None:
    result = start(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)
    assert result.returncode != 0
    assert "set DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_a_secret_and_hosts() -> None:
    result = start(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50, DJANGO_ALLOWED_HOSTS="lms.example.org"
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_connection_health_checks_are_chosen_by_the_environment() -> None:
    probe = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default'].get('CONN_HEALTH_CHECKS'))"
    )
    url = "postgres://postgres@127.0.0.1:5432/lms"
    for value, expected in (("", "False"), ("1", "True")):
        env = {"DATABASE_URL": url} | ({"DB_CONN_HEALTH_CHECKS": value} if value else {})
        result = python(probe, **env)
        assert result.stdout.strip() == expected, result.stderr


@pytest.mark.django_db
def test_logs_are_json_lines_with_the_request_id(client: Any) -> None:
    options = dict(settings.LOGGING["formatters"]["json"])
    formatter_class = import_string(options.pop("()"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_class(**options))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-42")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "req-42"
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert "/no-such-page/" in line["message"]
    assert "time" in line


@pytest.mark.parametrize(("pooling", "disabled"), [("1", "True"), ("0", "False"), (None, "False")])
def test_transaction_pooling_turns_server_side_cursors_off(
    pooling: str | None, disabled: str
) -> None:
    env = {"DATABASE_URL": "postgres://lms@pooler:6432/lms", "DB_CONN_MAX_AGE": "60"}
    if pooling is not None:
        env["DB_TRANSACTION_POOLING"] = pooling
    result = python(
        "from django.conf import settings; db = settings.DATABASES['default'];"
        " print(db['DISABLE_SERVER_SIDE_CURSORS'], db['CONN_MAX_AGE'])",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [disabled, "60"]


def test_an_asgi_server_keeps_no_database_connection_past_its_request() -> None:
    """Daphne runs each HTTP request in a new thread: a kept connection would outlive its
    thread (a Daphne serving the LRS held 94 of PostgreSQL's 100). lms.asgi turns keeping off,
    unless Django's pool is on; WSGI servers (gunicorn) keep theirs."""
    probe = (
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'lms.settings'; "
        "__import__('lms.asgi') if sys.argv[1] == 'asgi' else None; "
        "from django.conf import settings; db = settings.DATABASES['default']; "
        "print(db['CONN_MAX_AGE'], 'pool' in db.get('OPTIONS', {}))"
    )
    url = "postgres://postgres@127.0.0.1:5432/lms"
    answers = {}
    for server, extra in (("asgi", {}), ("wsgi", {}), ("asgi-pool", {"DB_POOL": "1"})):
        result = python(
            probe, server.partition("-")[0], DATABASE_URL=url, DB_CONN_MAX_AGE="60", **extra
        )
        assert result.returncode == 0, result.stderr
        answers[server] = result.stdout.split()
    assert answers == {
        "asgi": ["0", "False"],
        "wsgi": ["60", "False"],
        "asgi-pool": ["0", "True"],
    }
