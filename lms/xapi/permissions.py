"""Permission rules of the LRS app, registered from XapiConfig.ready()."""

from __future__ import annotations

from typing import Any

from lms.accounts.permissions import get_scope, register_rule


def _manages_clients(user: Any, obj: Any) -> bool:
    """DPS, or a coordinator of the institution (obj) or of one above it."""
    scope = get_scope(user)
    if obj is None:
        return scope.is_dps or scope.is_coordinator
    return scope.coordinates(obj)


def register() -> None:
    """Register the rules."""
    register_rule("xapi.manage_clients", _manages_clients)
