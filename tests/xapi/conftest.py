"""Fixtures of the LRS tests: clients of two institutions and a helper to call /xapi/."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from lms.handlers import ApiMiddleware, is_api_request
from lms.xapi import ingest
from lms.xapi.models import LRSClient
from lms.xapi.services import create_client
from lms.xapi.signals import statements_stored

VERSION = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class _ApiClientHandler(ApiMiddleware, ClientHandler):
    """The test client's handler with the API's middleware."""


class AppClient(Client):
    """Django's test client routing as lms.handlers does in the servers: a request to the LRS's
    API with credentials goes through settings.API_MIDDLEWARE, everything else through the
    full middleware (so every LRS test checks the views under the middleware that serves them),
    and launched content's buffered statement POST through lms.xapi.ingest when it serves it."""

    def __init__(self, enforce_csrf_checks: bool = False, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks, **kwargs)
        pages, api = self.handler, _ApiClientHandler(enforce_csrf_checks)
        self.ingest = True  # False: every request through Django's handlers
        self.ingested = 0  # statement POSTs answered by lms.xapi.ingest

        def handle(environ: dict[str, Any]) -> Any:
            if not is_api_request(environ["PATH_INFO"], "HTTP_AUTHORIZATION" in environ):
                return pages(environ)
            answer = ingest.respond(environ) if self.ingest else None
            if answer is None:
                return api(environ)
            self.ingested += 1
            response = HttpResponse(answer.content, status=int(answer.status.split()[0]))
            del response.headers["Content-Type"]
            for name, value in answer.headers:
                response.headers[name] = value
            response.wsgi_request = WSGIRequest(environ)  # as the test client's handler sets it
            return response

        self.handler = handle  # type: ignore[assignment]


class LRS:
    """A thin caller of /xapi/ with one credential."""

    def __init__(self, auth: str | None) -> None:
        self.client = AppClient()
        self.auth = auth

    def headers(self, extra: dict[str, str] | None = None, version: bool = True) -> dict[str, str]:
        headers = dict(VERSION) if version else {}
        if self.auth:
            headers["HTTP_AUTHORIZATION"] = self.auth
        headers.update(extra or {})
        return headers

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        content_type = kwargs.pop("content_type", "application/json")
        version = kwargs.pop("version", True)
        return self.client.post(
            "/xapi/" + path, data, content_type=content_type, **self.headers(kwargs, version)
        )

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        content_type = kwargs.pop("content_type", "application/json")
        return self.client.put(
            "/xapi/" + path, data, content_type=content_type, **self.headers(kwargs)
        )

    def get(self, path: str, params: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get("/xapi/" + path, params or {}, **self.headers(kwargs))

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete("/xapi/" + path, **self.headers(kwargs))


def make_client(institution: Any, scope: str = "institution") -> tuple[LRSClient, str]:
    return create_client(
        name=f"client {scope}", institution=institution, scope=scope, created_by=None
    )


@pytest.fixture
def lrs(institution: Any) -> LRS:
    client, secret = make_client(institution)
    return LRS(basic(client.key, secret))


@pytest.fixture
def other_lrs(other_institution: Any) -> LRS:
    client, secret = make_client(other_institution)
    return LRS(basic(client.key, secret))


def statement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actor": {"objectType": "Agent", "mbox": "mailto:officer@example.org", "name": "Officer"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {"objectType": "Activity", "id": "http://example.org/activities/patrol"},
    }
    body.update(overrides)
    return body


@contextmanager
def stored_batches() -> Iterator[list[list[dict[str, Any]]]]:
    """The batches the `statements_stored` signal carries while the block runs."""
    batches: list[list[dict[str, Any]]] = []

    def listener(sender: Any, statements: list[dict[str, Any]], **kwargs: Any) -> None:
        batches.append(statements)

    statements_stored.connect(listener)
    try:
        yield batches
    finally:
        statements_stored.disconnect(listener)


def clear_buffer_keys() -> None:
    """Remove the buffered LRS's Redis keys (claims, the buffer, writes in flight)."""
    from lms.xapi import buffer

    r = buffer.redis_client()
    keys = list(r.scan_iter("xapi:*"))
    if keys:
        r.delete(*keys)


def post_with_attachment(lrs: LRS, declared_hash: str, content: bytes) -> Any:
    """A statement with one attachment of `content`, its part declared with `declared_hash`."""
    body = statement(
        attachments=[
            {
                "usageType": "http://example.org/report",
                "display": {"en-US": "report"},
                "contentType": "text/plain",
                "length": len(content),
                "sha2": declared_hash,
            }
        ]
    )
    multipart = (
        b"--XB\r\nContent-Type: application/json\r\n\r\n" + json.dumps(body).encode() + b"\r\n"
        b"--XB\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
        b"X-Experience-API-Hash: " + declared_hash.encode() + b"\r\n\r\n" + content + b"\r\n--XB--"
    )
    return lrs.post("statements", multipart, content_type="multipart/mixed; boundary=XB")
