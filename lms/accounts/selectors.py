"""Reads of the accounts app."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from lms.accounts.models import Institution, Notification, User
from lms.accounts.permissions import get_scope


def api_key_issued_at(user: User) -> datetime | None:
    """When the person's key for the REST API was issued, if they have one."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user_id=user.pk).values_list("created", flat=True).first()


def notifications_for(user: User) -> QuerySet[Notification]:
    """The person's notifications, newest first (index on user, created_at)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def importable_institutions(user: User) -> QuerySet[Institution]:
    """Institutions and units the person may import officers into: coordinated trees, or all
    for DPS."""
    scope = get_scope(user)
    queryset = Institution.objects.select_related("member_state").order_by("path")
    if scope.is_dps:
        return queryset
    if not scope.coordinated_paths:
        return queryset.none()
    condition = Q()
    for prefix in scope.coordinated_paths:
        condition |= Q(path__startswith=prefix)
    return queryset.filter(condition)
