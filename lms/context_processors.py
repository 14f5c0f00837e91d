"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from lms.chrome import csrf_token


def platform(request: HttpRequest) -> dict[str, Any]:
    """Languages, the site address, the forms' CSRF token, and (read only when a page shows
    them) the signed-in person's unread notification count and role flags for the navigation."""
    context: dict[str, Any] = {
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "SITE_URL": settings.SITE_URL,
    }
    # The forms' token as the pre-rendered pages make it (lms.chrome.csrf_token: one mask per
    # request, and the browser's cookie not sent again on every page), in place of Django's
    # built-in csrf processor's, which runs first.
    context["csrf_token"] = SimpleLazyObject(lambda: csrf_token(request))
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from lms.accounts.permissions import get_scope
        from lms.accounts.principal import unread

        context["unread_notifications"] = SimpleLazyObject(lambda: unread(user))
        context["nav_scope"] = SimpleLazyObject(lambda: get_scope(user))
    return context
