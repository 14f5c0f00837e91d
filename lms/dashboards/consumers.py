"""The dashboards' WebSocket: a page joins the groups of its viewer's lens and hears events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied

from lms.dashboards import live
from lms.dashboards.selectors import lens_for

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


def groups_of(lens: Any) -> list[str]:
    """The groups of a lens."""
    if lens.is_dps:
        return [live.ALL_GROUP]
    groups = [live.institution_group(pk) for pk in sorted(lens.institution_ids or ())]
    groups += [live.run_group(pk) for pk in sorted(lens.run_ids or ())]
    groups += [live.course_group(pk) for pk in sorted(lens.course_ids or ())]
    return groups[:MAX_GROUPS]


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Pushes counter increments and completions to an open dashboard."""

    groups_joined: list[str]
    named: bool = False

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        groups, self.named = await database_sync_to_async(listening)(user)
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def dashboard_event(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        if not self.named and "name" in payload:
            # the figures move; who completed is not a donor's to know
            payload = {key: value for key, value in payload.items() if key != "name"}
            if payload.get("event") == "completion":
                payload["event"] = "counters"
        await self.send_json(payload)
