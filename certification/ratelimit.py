"""A small per-IP rate limit on the shared cache, for the public verification pages."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The visitor's address. Behind LMS_TRUSTED_PROXIES reverse proxies (nginx, the ingress),
    each of which appends the address it saw to X-Forwarded-For, the client is the hop that the
    outermost trusted proxy appended: counted from the right, since anything to its left was
    written by the client and can be forged to dodge the rate limit."""
    proxies = int(getattr(settings, "LMS_TRUSTED_PROXIES", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[max(0, len(hops) - proxies)]
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
