"""Refusing a WebSocket so that the page's script hears why, and closing the sockets of a
session when its person signs out."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

SIGNED_OUT = 4401
NOT_ALLOWED = 4403

logger = logging.getLogger(__name__)


async def refuse(consumer: AsyncWebsocketConsumer, code: int) -> None:
    """Refuse a connection with `code` (SIGNED_OUT, NOT_ALLOWED), which the browser's close
    event then carries: the pages' scripts stop reconnecting on these two codes.

    A consumer that closes before accepting is answered by Daphne with an HTTP 403 during the
    handshake, and the browser sees close code 1006 (an abnormal closure) instead of the code:
    the chat, the dashboards' live counters and the notifications kept reconnecting every few
    seconds, for ever, once their person was signed out or lost their access. Accepted first
    and closed at once, the socket carries nothing else."""
    await consumer.accept()
    await consumer.close(code=code)


def session_group(session_key: str) -> str:
    """The channel-layer group of the sockets opened in one session. The key is hashed: group
    names travel to Redis, and a session key is a credential."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


class SessionBound:
    """For a consumer whose socket belongs to its person's session: `join_session` (in
    `connect`, once the socket is allowed) puts it in the session's group, and signing out of
    that session (`end_session`) closes it with SIGNED_OUT. Without it an open socket kept
    delivering to a browser whose person had signed out (the chat, the dashboards' live
    figures, notifications) until the connection dropped or a re-check refused it.

    The consumer's own `disconnect` runs after the close, as for any close, and leaves its
    other groups; `leave_session` is for that `disconnect`."""

    session_group_name: str = ""
    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str

    async def join_session(self) -> None:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if key and self.channel_layer is not None:
            self.session_group_name = session_group(key)
            await self.channel_layer.group_add(self.session_group_name, self.channel_name)

    async def leave_session(self) -> None:
        if self.session_group_name:
            await self.channel_layer.group_discard(self.session_group_name, self.channel_name)
            self.session_group_name = ""

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The session signed out: close (its `disconnect` leaves the groups)."""
        await self.close(code=SIGNED_OUT)  # type: ignore[attr-defined]


def end_session(session_key: str | None) -> None:
    """Close every socket opened in the session `session_key` (called when it signs out). A
    channel layer that cannot be reached does not stop the sign-out: the sockets then close at
    their next re-check or drop, as before, and the failure is logged."""
    layer = get_channel_layer()
    if not session_key or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "session.ended"})
    except Exception:  # noqa: BLE001 - Redis down must not keep a person signed in
        logger.warning("could not close the sockets of a session that signed out", exc_info=True)


def _on_sign_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    end_session(getattr(session, "session_key", None))


def connect() -> None:
    """Close a session's sockets when it signs out (lms.accounts's ready)."""
    from django.contrib.auth.signals import user_logged_out

    user_logged_out.connect(_on_sign_out, dispatch_uid="lms.sockets.end_session")
