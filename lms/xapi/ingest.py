"""Launched content's statement POST, answered without Django's request handling.

At the load model's peak the statement POST of launched content is the most frequent request
of the platform (loadtests/README.md), and with the buffer on (LMS_XAPI_BUFFERED, the
deployments) what it does is small: check the statements, take the launch credential from the
process's cache and queue them in Redis in one round trip (lms.xapi.buffer). In process, Django's
handling around that work (the request object, the signals, URL resolving, the API's middleware,
the response's conversion) cost as much again as the work itself (docs/performance/hot_paths.md).

`respond` serves that one request and nothing else: a POST to /xapi/statements with no query
string, a JSON body of one to MAX_BATCH statements, the X-Experience-API-Version header and a
launch credential this process (or the shared cache) holds, on a host Django accepts, with the
buffer on. It runs the same code as the full path (`views.buffer_launched`: the same checks,
the same buffer) and answers with the headers the full path would give (the LRS's, the API
middleware's: request id, security headers, language; tests/xapi/test_fast_post.py compares the
two). Anything else, and anything it would refuse, returns None before anything is written:
the full request handling then serves the request as before, errors, their language and their
logging included. So a statement is never refused here, only accepted.

It reads no database: the credential comes from the caches and the drain confirms it
(lms.xapi.store). With Celery eager (a laptop, the tests) the drain the accept schedules runs in
this process before the answer, as it does on the full path.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.utils import timezone
from django.utils.http import http_date
from django.utils.translation import get_language_from_request

from lms.input_guard import too_deep
from lms.logging import current_request_id
from lms.xapi import buffer
from lms.xapi.auth import basic_pair, launch_from_cache
from lms.xapi.store import XAPI_VERSION
from lms.xapi.views import EXPOSED, VERSION_RE, buffer_launched, consistent_through

PATH = "/xapi/statements"
# Statements a POST may carry to be served here: their ids' answer stays shorter than the
# compression's bound (lms.compression.SHORTEST), so the full path would not compress it either.
MAX_BATCH = 4
# Bodies longer than this go the full way (a few statements take a few kilobytes).
MAX_BODY = 64 * 1024


def respond(environ: dict[str, Any]) -> Answer | None:
    """The answer to launched content's buffered statement POST, or None (nothing written)
    when the request is not one or is not accepted: the full request handling serves it. The
    body read here is put back for it."""
    if (
        environ.get("REQUEST_METHOD") != "POST"
        or environ.get("PATH_INFO") != PATH
        or environ.get("QUERY_STRING")
        or environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json"
        or settings.DISALLOWED_USER_AGENTS
        or not buffer.enabled()
    ):
        return None
    version = environ.get("HTTP_X_EXPERIENCE_API_VERSION")
    pair = basic_pair(environ.get("HTTP_AUTHORIZATION", ""))
    if not version or not VERSION_RE.match(version) or pair is None:
        return None
    key, secret = pair
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not key.startswith("launch-") or not 0 < length <= MAX_BODY:
        return None
    caller = launch_from_cache(key, secret)
    if caller is None:
        return None  # the full path reads the credential from the database
    request = WSGIRequest(environ)
    body = request.body
    environ["wsgi.input"] = io.BytesIO(body)  # for the full path, if it is to serve it
    try:
        request.get_host()
    except DisallowedHost:
        return None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None  # SecurityMiddleware redirects it (an exempt path is the full path's too)
    request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
    token = current_request_id.set(request_id)
    try:
        asked = timezone.now()
        ids = _accept(body, caller)
    finally:
        current_request_id.reset(token)
    if ids is None:
        return None
    content = json.dumps(ids).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("X-Experience-API-Consistent-Through", consistent_through(asked)),
        ("X-Experience-API-Version", XAPI_VERSION),
        ("Date", http_date()),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", EXPOSED),
        ("Content-Length", str(len(content))),
        # django.middleware.locale.LocaleMiddleware (no language in the LRS's paths)
        ("Vary", "Accept-Language"),
        ("Content-Language", get_language_from_request(request)),
        *_security(request),
        ("X-Request-ID", request_id),  # lms.logging.RequestIdMiddleware
    ]
    return Answer(content, headers)


@dataclass(frozen=True, slots=True)
class Answer:
    """A 200 with its headers, in the order the full path gives them."""

    content: bytes
    headers: list[tuple[str, str]]
    status = "200 OK"


def _accept(body: bytes, caller: Any) -> list[str] | None:
    # what lms.input_guard refuses (null characters, raw or escaped; deep nesting) goes the
    # full way, to be refused there in the caller's language
    if b"\x00" in body or b"u0000" in body.lower() or too_deep(body):
        return None
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    statements = data if isinstance(data, list) else [data]
    if not 0 < len(statements) <= MAX_BATCH:
        return None
    return buffer_launched(statements, caller)


def _security(request: WSGIRequest) -> list[tuple[str, str]]:
    """django.middleware.security.SecurityMiddleware's headers (its redirect to HTTPS is the
    full path's: no request that it would redirect is served here)."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and request.is_secure():
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(v.strip() for v in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers
