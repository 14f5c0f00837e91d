"""A small per-IP rate limit on the shared cache, for the public verification pages."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # Behind the ingress the first X-Forwarded-For hop is the client (the ingress sets it).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "CERTIFICATION_TRUST_X_FORWARDED_FOR", False):
        return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def allow(request: HttpRequest, bucket: str) -> bool:
    """Count this request; False once the IP has made more than the allowed number of requests
    in the current window (CERTIFICATION_VERIFY_RATE, default 30 a minute)."""
    limit, window = getattr(settings, "CERTIFICATION_VERIFY_RATE", (30, 60))
    slot = int(time.time() // window)
    key = f"certification:rl:{bucket}:{client_ip(request)}:{slot}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window + 1)
        return True
    return count <= limit
