"""Refuse what no view can store or parse, before any view sees it: null characters, and JSON
nested deeper than MAX_DEPTH.

PostgreSQL stores no NUL in text and jsonb: a query string, a form field or a JSON value holding
one made the query fail with a DataError (a 500) wherever a view used the value without a form
field's validator (search boxes, filters, the LRS's statements and documents, autosaved answers,
CSV imports read by hand). SQLite stored them. No text of the platform has a use for one, so
they are refused here, once, with a 400 naming the field, in the reader's language:

- the query string's parameters, names and values, raw or as the JSON escape ``\\u0000`` inside
  a value (the LRS reads JSON from parameters: ``agent``, ``activity`` …);
- the fields of a posted form (``application/x-www-form-urlencoded``, ``multipart/form-data``;
  uploaded files are bytes and are not looked at);
- a JSON body, raw or escaped (the escaped form counted only when its backslash is not itself
  escaped: ``"\\\\u0000"`` is text).

Bodies of other types (an xAPI document sent as octet-stream, an upload) may hold any byte.

A JSON body nested thousands of levels deep made Python's parser (and the validators walking the
result) raise RecursionError: a 500 on the REST API and the LRS. A body with more than MAX_DEPTH
opening brackets in all is scanned (strings skipped) and refused when deeper than that; no
statement, document or API call of the platform comes near it. The scan costs nothing for the
usual statement (a few dozen brackets: not scanned) and a few milliseconds for a large batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

_ESCAPED = re.compile(r"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_ESCAPED_BYTES = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
MAX_DEPTH = 100
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIXES = ("/xapi/", "/api/")


def _has_null(text: str) -> bool:
    return "\x00" in text or ("u0000" in text.lower() and _ESCAPED.search(text) is not None)


def too_deep(body: bytes) -> bool:
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    for token in _TOKENS.finditer(body):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def problem(request: HttpRequest) -> tuple[str, str] | None:
    """(field, message) of what is refused, None when nothing is."""
    field = null_field(request)
    if field is not None:
        return field, _("%(field)s: a null character is not allowed here.") % {"field": field}
    posted_json = request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.content_type or ""
    ).endswith("json")
    if posted_json and too_deep(request.body):
        message = _("%(field)s: nested more than %(depth)s levels deep.") % {
            "field": "body",
            "depth": MAX_DEPTH,
        }
        return "body", message
    return None


def null_field(request: HttpRequest) -> str | None:
    """The name of the first field holding a null character, None when there is none."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query or "u0000" in query.lower():
        for key, values in request.GET.lists():
            if _has_null(key):
                return "query"
            if any(_has_null(value) for value in values):
                return key
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = request.content_type or ""
    if content_type in _FORMS:
        for key, values in request.POST.lists():
            if _has_null(key):
                return "form"
            if any(_has_null(value) for value in values):
                return key
    elif content_type.endswith("json"):
        body = request.body
        if b"\x00" in body or (b"u0000" in body and _ESCAPED_BYTES.search(body) is not None):
            return "body"
    return None


def refusal(request: HttpRequest, field: str, message: str) -> HttpResponse:
    """A 400 naming `field`: JSON for the APIs, a page for people."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {"error": {"field": field, "rule": message}, "message": message, field: [message]},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    from django.utils.html import format_html

    from lms.chrome import render_page

    title = _("The request could not be read")
    return render_page(
        request,
        title=title,
        content=format_html('<h1>{}</h1>\n<p role="alert">{}</p>', title, message),
        status=400,
    )


class InputGuardMiddleware:
    """See the module docstring. Placed after the language is chosen (the page's and the
    person's), so that the refusal reads in it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = problem(request)
        if refused is not None:
            return refusal(request, *refused)
        return self.get_response(request)
