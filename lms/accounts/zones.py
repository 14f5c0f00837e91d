"""The time zone each person reads and types times in: the one they chose on their account,
else their member state's, else the server's (UTC).

Times are stored in UTC; pages show them, and forms read them, in the zone the middleware
activates for the request (lms.accounts.middleware). A session typed as 08:00 by a coordinator
in Bogotá is 13:00 UTC, and its attendance opens at 08:00 in Bogotá.

The member states' zones are read once per process (34 rows a migration loads, never edited
by people), so activating a person's zone costs no query.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

# Where the people of the 34 member states live (and UTC): the choices a person has.
_REGIONS = ("America/", "Pacific/Honolulu", "Atlantic/Bermuda", "UTC")


@cache
def choices() -> list[tuple[str, str]]:
    """(zone, label) for the account form: the Americas' zones by name, UTC first."""
    zones = sorted(
        zone
        for zone in zoneinfo.available_timezones()
        if zone.startswith(_REGIONS) and zone != "UTC"
    )
    return [("UTC", "UTC")] + [(zone, zone.replace("_", " ")) for zone in zones]


@cache
def _known() -> frozenset[str]:
    return frozenset(zone for zone, _label in choices())


def is_known(zone: str) -> bool:
    return zone in _known()


_member_state_zones: dict[int, str] | None = None


def member_state_zone(member_state_id: int | None) -> str:
    """The zone of a member state (the server's when none or unknown): read once per process."""
    global _member_state_zones
    if member_state_id is None:
        return settings.TIME_ZONE
    if _member_state_zones is None or member_state_id not in _member_state_zones:
        from lms.accounts.models import MemberState

        # read again for one not seen (a member state made since: a test database's flush)
        _member_state_zones = dict(MemberState.objects.values_list("pk", "time_zone"))
    return _member_state_zones.get(member_state_id) or settings.TIME_ZONE


def zone_name(user: Any) -> str:
    """The name of the zone `user` reads times in."""
    chosen = getattr(user, "time_zone", "") or ""
    if chosen and is_known(chosen):
        return chosen
    return member_state_zone(getattr(user, "member_state_id", None))


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def activate_for(user: Any) -> None:
    """Activate `user`'s zone for the rest of the request (the server's for a visitor)."""
    if user is not None and user.is_authenticated:
        timezone.activate(_zone(zone_name(user)))
    else:
        timezone.deactivate()


def override_for(user: Any) -> timezone.override:
    """`with zones.override_for(person):` writes times in `person`'s zone (an email, a
    notification written for them outside their own request)."""
    return timezone.override(_zone(zone_name(user)))
