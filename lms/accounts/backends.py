"""Sign-in by email, case-insensitive, with lock-out after repeated failures.

Failures are counted per submitted email address, whether or not an account has it, in the
cache under a keyed hash of the normalised address: an address nobody holds is locked after
LOCKOUT_THRESHOLD failures like a real one, so the sign-in page never tells a stranger which
addresses have accounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from lms.accounts.models import User

# Failures further apart than this start the count again.
FAILURE_WINDOW = timedelta(hours=1)
_KEY_SALT = "lms.accounts.backends.sign_in_failures"


def _normalise(email: str) -> str:
    return email.strip().lower()


def failure_key(email: str) -> str:
    """The cache key of the failure count of an email address (no address in it)."""
    return "accounts:signin:failures:" + salted_hmac(_KEY_SALT, _normalise(email)).hexdigest()


def lock_key(email: str) -> str:
    """The cache key holding until when an email address is locked."""
    return "accounts:signin:locked:" + salted_hmac(_KEY_SALT, _normalise(email)).hexdigest()


def clear_failures(email: str) -> None:
    """Forget the failures and the lock of an email address."""
    cache.delete_many([failure_key(email), lock_key(email)])


def _count_failure(email: str, now: datetime) -> datetime | None:
    """Count one failure; return until when the address is locked if this one locks it."""
    key = failure_key(email)
    window = int(FAILURE_WINDOW.total_seconds())
    cache.add(key, 0, window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        failures = 1
    if failures < settings.LOCKOUT_THRESHOLD:
        return None
    locked_until = now + timedelta(minutes=settings.LOCKOUT_MINUTES)
    cache.set(lock_key(email), locked_until, settings.LOCKOUT_MINUTES * 60)
    cache.delete(key)
    # Shown in the admin; the same query whether or not an account has the address.
    User.objects.filter(email=email).update(locked_until=locked_until, failed_login_count=0)
    return locked_until


class EmailBackend(ModelBackend):
    """Authenticates by email and password; locks the address after LOCKOUT_THRESHOLD failures.

    Sets ``request.lms_locked_until`` when the address is locked, and
    ``request.lms_not_activated`` when the right password of an invited account was given (the
    only case where saying "not activated" tells nothing to someone without the password).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = _normalise(username or kwargs.get("email") or "")
        if not email or password is None:
            return None
        now = timezone.now()
        locked_until = cache.get(lock_key(email))
        if isinstance(locked_until, datetime) and locked_until > now:
            if request is not None:
                request.lms_locked_until = locked_until  # type: ignore[attr-defined]
            return None
        user = User.objects.filter(email=email).first()
        if user is not None and user.locked_until and user.locked_until > now:
            # Locked in the admin (or before the cache was emptied): still locked.
            if request is not None:
                request.lms_locked_until = user.locked_until  # type: ignore[attr-defined]
            return None
        if user is None:
            User().set_password(password)  # same work as a real check, so timing reveals nothing
        elif user.check_password(password):
            if self.user_can_authenticate(user):
                clear_failures(email)
                if user.failed_login_count or user.locked_until:
                    User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
                return user
            if user.status == User.Status.INVITED:
                if request is not None:
                    request.lms_not_activated = True  # type: ignore[attr-defined]
                return None  # the right password: not a failure
        locked_until = _count_failure(email, now)
        if locked_until is not None and request is not None:
            request.lms_locked_until = locked_until  # type: ignore[attr-defined]
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The session's person, with scope and unread count, from the principal cache."""
        from lms.accounts.principal import load

        user = load(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(user.status == User.Status.ACTIVE)
