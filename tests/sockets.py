"""Reading what a WebSocket consumer sends, in tests driven by channels' communicators."""

from __future__ import annotations

from typing import Any

from channels.testing import WebsocketCommunicator


async def receive_type(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    """The next message of `kind`, skipping presence updates and the like."""
    for _ in range(20):
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def until_closed(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Everything the socket sends until it is closed (a timeout if it never is)."""
    outputs = [await communicator.receive_output(timeout=5)]
    while outputs[-1]["type"] != "websocket.close":
        outputs.append(await communicator.receive_output(timeout=5))
    return outputs
