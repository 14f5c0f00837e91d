"""The dashboards' WebSocket: a page joins the groups of its viewer's lens and hears events."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied

from lms.dashboards import live
from lms.dashboards.selectors import lens_for
from lms.sockets import NOT_ALLOWED, SIGNED_OUT, SessionBound, refuse

# A coordinator of a large police with hundreds of units joins the groups of its top
# institutions only: events name every institution above the learner's, so nothing is lost.
MAX_GROUPS = 500


def listening(user: Any) -> tuple[list[str], bool]:
    """The groups a person's dashboard listens to (empty when they may not see dashboards), and
    whether it may hear people's names (a donor's hears the figures only)."""
    try:
        lens = lens_for(user)
    except PermissionDenied:
        return [], False
    return groups_of(lens), lens.named


def listening_now(user_id: int) -> tuple[list[str], bool]:
    """listening() for the person as the database has them now (a socket's user keeps the roles
    it had at connect): nothing for a suspended or deleted account."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return [], False
    return listening(user)


def groups_of(lens: Any) -> list[str]:
    """The groups of a lens."""
    if lens.is_dps:
        return [live.ALL_GROUP]
    institution_ids = lens.institution_ids or frozenset()
    runs = [live.run_group(pk) for pk in sorted(lens.run_ids or ())]
    courses = [live.course_group(pk) for pk in sorted(lens.course_ids or ())]
    if len(institution_ids) + len(runs) + len(courses) > MAX_GROUPS:
        institution_ids = _top_institutions(institution_ids)
    groups = [live.institution_group(pk) for pk in sorted(institution_ids)]
    return (groups + runs + courses)[:MAX_GROUPS]


def _top_institutions(institution_ids: frozenset[int]) -> frozenset[int]:
    """Those of the institutions with none of the others above them."""
    from lms.accounts.models import Institution

    return frozenset(
        pk
        for pk, path in Institution.objects.filter(pk__in=institution_ids).values_list("pk", "path")
        if not any(part.isdigit() and int(part) in institution_ids for part in path.split("/")[:-2])
    )


class DashboardConsumer(SessionBound, AsyncJsonWebsocketConsumer):
    """Pushes counter increments and completions to an open dashboard.

    The viewer's lens is read at connect and again before delivering, at most RECHECK_SECONDS
    after the last reading (one lens query per socket and window, none in between): a viewer who
    lost every dashboard role is disconnected with 4403 (live.js does not reconnect on it), one
    whose lens changed joins and leaves groups accordingly and hears only its new groups, with or
    without names as the new lens says. Signing out of the session closes it (4401), and so
    does that re-check once the session expired; a role given or taken away closes it at once
    for the page to reconnect (lms.sockets.recheck_person), and the handshake reads the lens
    anew."""

    RECHECK_SECONDS = 30.0

    groups_joined: list[str]
    named: bool = False
    checked_at: float = 0.0

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await refuse(self, SIGNED_OUT)
            return
        groups, self.named = await database_sync_to_async(listening)(user)
        if not groups:
            await refuse(self, NOT_ALLOWED)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        self.checked_at = time.monotonic()
        await self.join_session()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_session()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def dashboard_event(self, event: dict[str, Any]) -> None:
        if not await self._still_listens(event.get("group")):
            return
        payload = event["payload"]
        if not self.named:
            # the figures move; who completed (or anything else about a person, in a batch too)
            # is not a donor's to know: only the allow-listed fields reach them
            payload = live.anonymous(payload)
        await self.send_json(payload)

    async def _still_listens(self, group: str | None) -> bool:
        """Whether the viewer's lens (read again once RECHECK_SECONDS have passed) still holds
        `group`; a viewer left with none is disconnected (4403)."""
        if not self.groups_joined:
            return False
        if time.monotonic() - self.checked_at >= self.RECHECK_SECONDS:
            if not await self.session_holds():
                await self.close(code=SIGNED_OUT)
                return False
            user = self.scope["user"]
            groups, named = await database_sync_to_async(listening_now)(user.pk)
            self.checked_at = time.monotonic()
            for gone in set(self.groups_joined) - set(groups):
                await self.channel_layer.group_discard(gone, self.channel_name)
            for new in set(groups) - set(self.groups_joined):
                await self.channel_layer.group_add(new, self.channel_name)
            self.groups_joined, self.named = groups, named
            if not groups:
                await self.close(code=NOT_ALLOWED)
                return False
        # a message from before the groups were named (during a deploy) carries none
        return group is None or group in self.groups_joined
