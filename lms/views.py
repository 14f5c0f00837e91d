"""Project-level views: the home page and the health check."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: a signed-in person sees links for their roles."""
    return render(request, "home.html")


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_cache() -> str:
    key = "healthz:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value it was given")
    return "ok"


def _check_broker() -> str:
    broker_url = str(settings.CELERY_BROKER_URL)
    if broker_url.startswith("memory://"):
        return "in-memory"
    from lms.celery import app

    # The URL is read from settings at each check (not from the app's configuration), so that
    # what is probed is what the settings say now.
    with app.connection_for_write(broker_url) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    """JSON state of the database, cache and broker; 503 when one of them is down."""
    checks = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}
    result: dict[str, dict[str, object]] = {}
    healthy = True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            state = check()
        except Exception as exc:  # noqa: BLE001 - any failure means the dependency is down
            healthy = False
            result[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
        else:
            result[name] = {"status": state}
        result[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": result}, status=200 if healthy else 503
    )
