"""lms.handlers: the servers' applications send the LRS's API called with credentials through
settings.API_MIDDLEWARE and everything else through the full middleware. Called here as gunicorn
(WSGI) and Daphne (ASGI) call them, not through Django's test client."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import translation

from lms.handlers import API_PATH, is_api_request
from lms.xapi.models import Statement
from lms.xapi.services import issue_launch_credential
from tests.xapi.conftest import statement

pytestmark = pytest.mark.django_db(transaction=True)


def _wsgi(path: str, method: str = "GET", body: bytes = b"", **headers: str) -> Any:
    from lms.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.pop("CONTENT_TYPE", "application/json"),
        "HTTP_HOST": "testserver",
        **{f"HTTP_{name}": value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}
        answer["cookies"] = [v for n, v in response_headers if n.lower() == "set-cookie"]

    # the language the request activates stays with it (the middleware does not restore it)
    with translation.override(translation.get_language()):
        chunks = application(environ, start_response)
        answer["body"] = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    return answer


def _launch(learner: Any) -> dict[str, Any]:
    return issue_launch_credential(
        user=learner, registration=uuid.uuid4(), activity_id="http://example.org/a"
    )


def test_which_requests_take_the_api_path() -> None:
    assert is_api_request("/xapi/statements", True)
    assert is_api_request("/xapi/statements/", True)
    assert is_api_request("/xapi/activities/state", True)
    assert is_api_request("/xapi/agents", True)
    assert is_api_request("/xapi/about", True)
    # no credentials: the session may authenticate (content inside the LMS's pages)
    assert not is_api_request("/xapi/statements", False)
    # the LRS's pages for people, and anything else, keep the full middleware
    assert not is_api_request("/xapi/clients/", True)
    assert not is_api_request("/xapi/statementsx", True)
    assert not is_api_request("/courses/", True)
    assert API_PATH.pattern.startswith("^/xapi/")
    # the API's middleware is a part of the pages' own, in the same order
    assert [
        m for m in settings.MIDDLEWARE if m in settings.API_MIDDLEWARE
    ] == settings.API_MIDDLEWARE
    for page_only in ("SessionMiddleware", "CsrfViewMiddleware", "MessageMiddleware"):
        assert not any(m.endswith(page_only) for m in settings.API_MIDDLEWARE)


def test_a_launched_statement_through_the_wsgi_application(learner: Any) -> None:
    params = _launch(learner)
    answer = _wsgi(
        "/xapi/statements",
        "POST",
        json.dumps(statement(actor=params["actor"])).encode(),
        AUTHORIZATION=params["auth"],
        X_EXPERIENCE_API_VERSION="1.0.3",
        COOKIE="csrftoken=" + "a" * 32,
    )
    assert answer["status"] == 200, answer["body"]
    (statement_id,) = json.loads(answer["body"])
    stored = Statement.objects.get(statement_id=statement_id)
    assert stored.user_id == learner.pk
    headers = answer["headers"]
    # the API's middleware ran: request id, security headers, Content-Length
    assert len(headers["x-request-id"]) == 32
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-length"] == str(len(answer["body"]))
    assert headers["x-experience-api-version"] == "1.0.3"
    # and the pages' did not: no framing rule, no session or CSRF cookie, no Vary on the cookie
    assert "x-frame-options" not in headers
    assert answer["cookies"] == []
    assert "cookie" not in headers.get("vary", "").lower()


def test_api_errors_keep_the_callers_language_on_the_api_path(learner: Any) -> None:
    params = _launch(learner)
    answer = _wsgi(
        "/xapi/statements",
        "POST",
        b"{not json",
        AUTHORIZATION=params["auth"],
        X_EXPERIENCE_API_VERSION="1.0.3",
        ACCEPT_LANGUAGE="es",
    )
    assert answer["status"] == 400
    assert answer["headers"]["content-language"] == "es"
    body = json.loads(answer["body"])
    assert body["error"]["field"] == "body"
    assert "x-frame-options" not in answer["headers"]
    wrong = _wsgi(
        "/xapi/statements",
        "POST",
        b"{}",
        AUTHORIZATION="Basic bm9ib2R5Om5vdGhpbmc=",
        X_EXPERIENCE_API_VERSION="1.0.3",
    )
    assert wrong["status"] == 401
    assert wrong["headers"]["www-authenticate"] == 'Basic realm="xAPI"'


def test_without_credentials_the_full_middleware_answers(learner: Any) -> None:
    # the same resource without an Authorization header: the pages' middleware, which reads
    # a session (none here: 401) and sets the framing rule
    answer = _wsgi("/xapi/statements", X_EXPERIENCE_API_VERSION="1.0.3")
    assert answer["status"] == 401
    assert answer["headers"]["x-frame-options"] == "DENY"
    # the LRS's pages for people with an Authorization header still go through it: signed out,
    # sent to the sign-in page
    page = _wsgi("/xapi/clients/", AUTHORIZATION=_launch(learner)["auth"])
    assert page["status"] == 302
    assert "/accounts/login/" in page["headers"]["location"]
    assert page["headers"]["x-frame-options"] == "DENY"


def test_the_asgi_application_routes_the_same_way(learner: Any) -> None:
    from lms.asgi import django_asgi_app

    params = _launch(learner)
    body = json.dumps(statement(actor=params["actor"])).encode()

    async def call(path: str, headers: list[tuple[bytes, bytes]], data: bytes) -> dict[str, Any]:
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST" if data else "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        messages = [{"type": "http.request", "body": data, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # the client stays (Django cancels this when done)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await django_asgi_app(scope, receive, send)
        start = sent[0]
        return {
            "status": start["status"],
            "headers": {k.decode().lower(): v.decode() for k, v in start["headers"]},
            "body": b"".join(m.get("body", b"") for m in sent[1:]),
        }

    api = async_to_sync(call)(
        "/xapi/statements",
        [
            (b"authorization", params["auth"].encode()),
            (b"x-experience-api-version", b"1.0.3"),
            (b"content-type", b"application/json"),
        ],
        body,
    )
    assert api["status"] == 200, api["body"]
    assert Statement.objects.filter(statement_id=json.loads(api["body"])[0]).exists()
    assert "x-frame-options" not in api["headers"]
    page = async_to_sync(call)("/xapi/statements", [(b"x-experience-api-version", b"1.0.3")], b"")
    assert page["status"] == 401
    assert page["headers"]["x-frame-options"] == "DENY"
