"""What the site's REST API views share: answers in the caller's language, and error messages
that are translated and name no model or parser internals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.request import Request
from rest_framework.response import Response

from lms.accounts.middleware import activate_preferred_language

# DRF's settings import this module's parser while rest_framework.views is being defined: the
# views module is imported only for type checking, and by the exception handler when it runs.
if TYPE_CHECKING:
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class PersonLanguageMixin(_ViewBase):
    """Answers in the authenticated person's preferred language, else in the Accept-Language.

    UserLanguageMiddleware only knows the person of a session: DRF authenticates a token in
    the view, so the preference is applied here, as soon as the person is known (before the
    permission checks, whose refusals are read in it too).
    """

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        activate_preferred_language(request._request, request.user)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, whose error says in the reader's language that the body is not JSON
    (DRF's own is English and quotes the decoder's message)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            return super().parse(stream, media_type, parser_context)
        except (exceptions.ParseError, RecursionError) as exc:
            raise exceptions.ParseError(_("The request body is not valid JSON.")) from exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with Django's Http404 answered by DRF's translated "Not found.": its own
    message ("No Enrollment matches the given query.") is English and names the model."""
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)
