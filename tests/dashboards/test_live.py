"""A completion reaches an open dashboard through the Redis channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from lms.dashboards.consumers import DashboardConsumer
from tests.dashboards.conftest import enrol, finish

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("require_postgres", "require_redis", "without_certificate_issuance"),
]


def _socket(user: Any) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboards/")
    socket.scope["user"] = user
    return socket


def test_a_completion_reaches_the_coordinators_dashboard(
    coordinator: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    def complete() -> None:
        finish(enrol(officers[0], network["virtual"]))

    async def scenario() -> dict[str, Any]:
        socket = _socket(coordinator)
        connected, _code = await socket.connect()
        assert connected
        await database_sync_to_async(complete)()
        message = await socket.receive_json_from(timeout=10)
        while message["event"] != "completion":
            message = await socket.receive_json_from(timeout=10)
        await socket.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["name"] == officers[0].full_name
    assert message["counters"] == {"completed": 1}


def test_a_learner_cannot_listen(learner: Any) -> None:
    async def scenario() -> tuple[bool, int | None]:
        connected, code = await _socket(learner).connect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4403)
