"""Language and time zone: the signed-in person's preference first, then the browser's language
(and the server's zone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from lms.accounts import zones


def activate_preferred_language(request: HttpRequest, user: Any) -> None:
    """Activate `user`'s preferred language for the rest of the request, when they have one;
    otherwise the language LocaleMiddleware read from the browser stays."""
    language = (
        getattr(user, "preferred_language", "")
        if user is not None and user.is_authenticated
        else ""
    )
    if language and language in settings.LANGUAGE_CODES:
        translation.activate(language)
        request.LANGUAGE_CODE = language


class UserLanguageMiddleware:
    """Activates the person's preferred language (LocaleMiddleware has already read the
    browser's) and the time zone they read times in (lms.accounts.zones).

    The REST API authenticates its tokens later, in the view: lms.rest activates the token's
    person's language and zone there with the same functions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        activate_preferred_language(request, user)
        zones.activate_for(user)
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()  # the thread's next request starts from the server's
        response.headers.setdefault(
            "Content-Language", translation.get_language() or settings.LANGUAGE_CODE
        )
        return response
