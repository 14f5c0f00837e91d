"""Sign-in by email, case-insensitive, with lock-out after repeated failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from lms.accounts.models import User


class EmailBackend(ModelBackend):
    """Authenticates by email and password; locks the account after LOCKOUT_THRESHOLD failures."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (username or kwargs.get("email") or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)  # same work as a real check, so timing reveals nothing
            return None
        now = timezone.now()
        if user.locked_until and user.locked_until > now:
            if request is not None:
                request.lms_locked_until = user.locked_until  # type: ignore[attr-defined]
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return user
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user.refresh_from_db(fields=["failed_login_count"])
        if user.failed_login_count >= settings.LOCKOUT_THRESHOLD:
            locked_until = now + timedelta(minutes=settings.LOCKOUT_MINUTES)
            User.objects.filter(pk=user.pk).update(locked_until=locked_until, failed_login_count=0)
            if request is not None:
                request.lms_locked_until = locked_until  # type: ignore[attr-defined]
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The session's person, with scope and unread count, from the principal cache."""
        from lms.accounts.principal import load

        user = load(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(user.status == User.Status.ACTIVE)
