"""The application's two request paths: pages, and the LRS's API called with credentials.

Launched content sends its xAPI statements with a launch credential in an Authorization header,
and LRS clients call the API with theirs: such a request has no use for the middleware of the
pages (the session and the person it names, CSRF, messages, the person's language, framing
rules, static files). At 200,000 learners those statements are the most frequent request of
all, and that middleware cost about a third of each one in process (1.20-1.45 ms a POST with
it, 0.80-0.87 without; docs/performance/hot_paths.md), so they are served by a second Django
handler with `settings.API_MIDDLEWARE`: the request id, the security headers, compression, the
Accept-Language (errors stay in the caller's language) and the Content-Length. Everything else,
the API called from a signed-in page (no Authorization header: the session authenticates) and
the LRS's pages for people included, goes through the full `settings.MIDDLEWARE` as before.
Same URLs, same views: only the middleware differs.

Over WSGI (gunicorn, the deployments), launched content's statement POST, when the buffer takes
it, is answered before either handler by lms.xapi.ingest, which runs the same checks and the
same buffer without Django's request handling; anything else it leaves to the API's handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler

# The LRS's resources (lms/xapi/urls.py); not its pages for people (/xapi/clients/).
API_PATH = re.compile(r"^/xapi/(?:statements|activities|agents|about)(?:/|$)")


def is_api_request(path: str, has_authorization: bool) -> bool:
    """Whether a request goes through the API's middleware: an LRS resource, with credentials."""
    return has_authorization and API_PATH.match(path) is not None


@contextmanager
def with_middleware(names: list[str]) -> Iterator[None]:
    """settings.MIDDLEWARE as `names` while a handler loads its middleware (at start-up)."""
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = names
    try:
        yield
    finally:
        settings.MIDDLEWARE = full


class ApiMiddleware:
    """Mixed into a Django handler (WSGI, ASGI, the test client's): it loads the API's
    middleware instead of the pages'."""

    def load_middleware(self, is_async: bool = False) -> None:
        with with_middleware(settings.API_MIDDLEWARE):
            super().load_middleware(is_async)  # type: ignore[misc]


class ApiWSGIHandler(ApiMiddleware, WSGIHandler):
    """A WSGI handler with the API's middleware."""


class ApiASGIHandler(ApiMiddleware, ASGIHandler):
    """An ASGI handler with the API's middleware."""


class WSGIApplication:
    """Pages through the full middleware, the API with credentials through its own."""

    def __init__(self) -> None:
        from lms.xapi import ingest

        self.pages = WSGIHandler()
        self.api = ApiWSGIHandler()
        self.ingest = ingest.respond

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not is_api_request(environ.get("PATH_INFO", ""), "HTTP_AUTHORIZATION" in environ):
            return self.pages(environ, start_response)
        # launched content's statements, when the buffer takes them, without Django's handling
        answer = self.ingest(environ)
        if answer is None:
            return self.api(environ, start_response)
        start_response(answer.status, answer.headers)
        return [answer.content]


class ASGIApplication:
    """The same choice for HTTP over ASGI (Daphne in development)."""

    def __init__(self) -> None:
        self.pages = ASGIHandler()
        self.api = ApiASGIHandler()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        api = scope.get("type") == "http" and is_api_request(
            scope.get("path", ""), any(name == b"authorization" for name, _ in scope["headers"])
        )
        await (self.api if api else self.pages)(scope, receive, send)


def get_wsgi_application() -> WSGIApplication:
    """django.core.wsgi.get_wsgi_application, with the API's own handler."""
    import django

    from lms import heap

    django.setup(set_prefix=False)
    application = WSGIApplication()
    heap.freeze()
    return application


def get_asgi_application() -> ASGIApplication:
    """django.core.asgi.get_asgi_application, with the API's own handler."""
    import django

    from lms import heap

    django.setup(set_prefix=False)
    application = ASGIApplication()
    heap.freeze()
    return application
