"""WebSocket consumer of a person's live notifications (ws/notifications/)."""

from __future__ import annotations

import time
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from lms.accounts.notifications import user_group
from lms.sockets import SIGNED_OUT, SessionBound, refuse


class NotificationConsumer(SessionBound, AsyncJsonWebsocketConsumer):
    """Joins the signed-in person's group and forwards each new notification as JSON; closed
    (4401) when the session it was opened in signs out, or, before a notification is forwarded,
    once it has expired (checked at most every RECHECK_SECONDS: one session read)."""

    RECHECK_SECONDS = 30.0

    group: str = ""
    checked_at: float = 0.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await refuse(self, SIGNED_OUT)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_session()
        self.checked_at = time.monotonic()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_session()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def notification_message(self, event: dict[str, Any]) -> None:
        if time.monotonic() - self.checked_at >= self.RECHECK_SECONDS:
            if not await self.session_holds():
                await self.close(code=SIGNED_OUT)
                return
            self.checked_at = time.monotonic()
        await self.send_json({"type": "notification", "notification": event["notification"]})
