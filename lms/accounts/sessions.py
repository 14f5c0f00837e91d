"""Sessions that read the signed-in person in the same cache round trip.

A signed-in page needs two cache entries before it can do anything: the session (which says who
is signed in) and the person (lms.accounts.principal: user row, role scope, unread count). Read
one after the other, that is two round trips to Redis on every page. The person's id is known
before the session is read if the browser says it: `SessionMiddleware` below keeps it in a
cookie of its own (`lms_pid`, set when a signed-in page is answered), and `SessionStore.load`
asks for the session and that person in one MGET.

The cookie is only a hint. The session still says who is signed in: the person read with it is
used only when the session names the same id (principal.offer/load), so a forged or stale cookie
costs one more round trip, never someone else's identity. Without the cookie (a first page after
signing in, an API client) everything works as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

from lms.accounts import principal

HINT_COOKIE = "lms_pid"


class SessionStore(cached_db.SessionStore):
    principal_hint: int | None = None

    def load(self) -> dict[str, Any]:
        hint = self.principal_hint
        if hint is None or self.session_key is None:
            principal.offer(None, None)
            return super().load()
        person_key = principal.cache_key(hint)
        try:
            found = caches[settings.SESSION_CACHE_ALIAS].get_many([self.cache_key, person_key])
        except Exception:  # noqa: BLE001 - as Django's cached_db: the database still has it
            found = {}
        principal.offer(hint, found.get(person_key))
        data = found.get(self.cache_key)
        if data is not None:
            return data  # type: ignore[no-any-return]
        # Not in the cache: from the database, as cached_db does, and cached again.
        stored = self._get_session_from_db()  # type: ignore[attr-defined]
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        caches[settings.SESSION_CACHE_ALIAS].set(
            self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date)
        )
        return data  # type: ignore[no-any-return]


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, plus the person-id hint cookie (see the module docstring)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        hint = request.COOKIES.get(HINT_COOKIE, "")
        if hint.isdigit() and len(hint) < 19:
            request.session.principal_hint = int(hint)  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        # Only when the page looked at who is signed in: reading it here would give pages that
        # never do (static answers, health checks) a session read.
        if not hasattr(request, "_cached_user"):
            return response
        user = request.user
        had = request.COOKIES.get(HINT_COOKIE)
        if user.is_authenticated:
            value = str(user.pk)
            if had != value:
                response.set_cookie(
                    HINT_COOKIE,
                    value,
                    max_age=settings.SESSION_COOKIE_AGE,
                    path=settings.SESSION_COOKIE_PATH,
                    domain=settings.SESSION_COOKIE_DOMAIN,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite=settings.SESSION_COOKIE_SAMESITE,
                )
        elif had is not None:
            response.delete_cookie(
                HINT_COOKIE,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        return response
