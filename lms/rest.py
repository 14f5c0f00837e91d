"""What the site's REST API views share: answers in the caller's language, and error messages
that are translated and name no model or parser internals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, pagination, parsers, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from lms.accounts import zones
from lms.accounts.middleware import activate_preferred_language
from lms.ids import as_id

# DRF's settings import this module's parser while rest_framework.views is being defined: the
# views module is imported only for type checking, and by the exception handler when it runs.
if TYPE_CHECKING:
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class PersonLanguageMixin(_ViewBase):
    """Answers in the authenticated person's preferred language, else in the Accept-Language,
    and gives times in their zone.

    UserLanguageMiddleware only knows the person of a session: DRF authenticates a token in
    the view, so the preference is applied here, as soon as the person is known (before the
    permission checks, whose refusals are read in it too).
    """

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        activate_preferred_language(request._request, request.user)
        zones.activate_for(request.user)  # its times in the person's zone (ISO 8601, offset)


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


LAST_PAGE = 999_999_999  # the highest page number asked for that is taken


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers, with a `page` that is not a whole number from 1 refused as a 400
    naming the field (DRF answered 404 "Invalid page." for `page=abc` and the first page for
    `page=`); a page past the last is still 404. "last" is not taken: the schema says integer."""

    last_page_strings = ()

    def get_page_number(self, request: Any, paginator: Any) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        number = as_id(raw)  # ASCII digits only, of a length int() takes
        if number is None or not 1 <= number <= LAST_PAGE:
            raise exceptions.ValidationError(
                {self.page_query_param: [_("Enter a page number: a whole number from 1.")]}
            )
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": LAST_PAGE}
        return parameters


class Detail(serializers.Serializer):
    """An error about the request as a whole, in the caller's language."""

    detail = serializers.CharField()


# The answers every operation may give besides its own, for the schema (drf-spectacular).
FIELD_ERRORS = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description=(
        "The request was refused: each field that was wrong names its messages, in the "
        'caller\'s language, e.g. {"run": ["No course run has this code."]}.'
    ),
)
UNAUTHENTICATED = OpenApiResponse(
    response=Detail, description="No credentials, or a token that is not valid."
)
NOT_FOUND = OpenApiResponse(
    response=Detail, description="Not found, or outside what the caller may see."
)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404: under /api/, DRF's JSON answer in the caller's language (a path that
    matches no route, such as a registration that is not a UUID, was answered with the HTML
    page); elsewhere Django's page (templates/404.html)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
    return page_not_found(request, exception)
