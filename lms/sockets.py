"""Refusing a WebSocket so that the page's script hears why."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

SIGNED_OUT = 4401
NOT_ALLOWED = 4403


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
