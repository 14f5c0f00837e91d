"""The cohort chat looks again at whether its person still belongs to the run before it delivers
anything (a message, a hidden message, presence) or takes a step: at most RECHECK_SECONDS
after the last look (one query then, none in between). Whoever left the run (withdrawn, no
longer its instructor, suspended) is disconnected with 4403, the code of a refused connect,
and drops out of the others' presence list."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from community.consumers import ChatConsumer
from community.routing import websocket_urlpatterns
from courses.models import Enrollment, RunInstructor
from tests.community.factories import RunFactory, enrol, make_instructor
from tests.factories import UserFactory
from tests.sockets import receive_type, until_closed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

application = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def _redis_layer(require_redis: str) -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    cache.clear()


def _client(user: Any, run_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/{run_id}/")
    communicator.scope["user"] = user
    return communicator


def _withdraw(user: Any, run: Any) -> None:
    from courses import services

    services.withdraw(enrollment=Enrollment.objects.get(user=user, run=run), actor=user)


def _unassign(user: Any, run: Any) -> None:
    RunInstructor.objects.filter(user=user, run=run).delete()


def _suspend(user: Any, run: Any) -> None:
    type(user).objects.filter(pk=user.pk).update(status=type(user).Status.SUSPENDED)


@pytest.mark.parametrize("leave", ["withdrawn", "unassigned", "suspended"])
def test_who_left_the_run_stops_hearing_the_chat_and_its_presence(
    monkeypatch: pytest.MonkeyPatch, leave: str
) -> None:
    monkeypatch.setattr(ChatConsumer, "RECHECK_SECONDS", 0, raising=False)
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza")
    luis = UserFactory(full_name="Luis Martínez")
    enrol(luis, run)
    if leave == "unassigned":
        RunInstructor.objects.create(run=run, user=ana)
    else:
        enrol(ana, run)
    leaves = {"withdrawn": _withdraw, "unassigned": _unassign, "suspended": _suspend}[leave]

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        leaving, staying = _client(ana, run.pk), _client(luis, run.pk)
        assert (await leaving.connect())[0]
        assert (await staying.connect())[0]
        await receive_type(leaving, "history")
        await receive_type(staying, "history")
        presence = await receive_type(staying, "presence")
        while set(presence["online"]) != {"Ana Souza", "Luis Martínez"}:
            presence = await receive_type(staying, "presence")
        await database_sync_to_async(leaves)(ana, run)
        await staying.send_json_to({"type": "message", "body": "Plan for Friday", "client_id": "s"})
        # A withdrawal or a removal closes Ana's socket at once (community.receivers), so the
        # presence list without her may come before or after Luis's message: read both.
        message = None
        while message is None or "Ana Souza" in presence["online"]:
            frame = await staying.receive_json_from(timeout=5)
            if frame["type"] == "message":
                message = frame
            elif frame["type"] == "presence":
                presence = frame
        outputs = await until_closed(leaving)
        await staying.disconnect()
        return outputs, presence

    outputs, presence = async_to_sync(scenario)()
    assert outputs[-1] == {"type": "websocket.close", "code": 4403}
    assert not [output for output in outputs if "Plan for Friday" in str(output)]
    assert presence["online"] == ["Luis Martínez"]


def test_a_withdrawn_learner_can_no_longer_ping_themself_online(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ChatConsumer, "RECHECK_SECONDS", 0, raising=False)
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)

    async def scenario() -> list[dict[str, Any]]:
        socket = _client(ana, run.pk)
        assert (await socket.connect())[0]
        await receive_type(socket, "history")
        await database_sync_to_async(_withdraw)(ana, run)
        await socket.send_json_to({"type": "ping"})
        return await until_closed(socket)

    outputs = async_to_sync(scenario)()
    assert outputs[-1] == {"type": "websocket.close", "code": 4403}
    assert not [output for output in outputs if '"pong"' in str(output.get("text", ""))]
    from community.models import ChatPresence

    assert not ChatPresence.objects.filter(user=ana).exists()


def test_the_membership_is_looked_at_once_per_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within RECHECK_SECONDS the socket delivers without asking the database again."""
    run = RunFactory()
    ana, luis = UserFactory(), UserFactory()
    enrol(ana, run)
    instructor = make_instructor(run)
    enrol(luis, run)
    looks: list[int] = []
    original = ChatConsumer._still_member

    def counted(self: ChatConsumer) -> bool:
        looks.append(self.run_id)
        return original(self)

    monkeypatch.setattr(ChatConsumer, "_still_member", counted)

    async def scenario() -> None:
        socket, other = _client(ana, run.pk), _client(instructor, run.pk)
        assert (await socket.connect())[0]
        assert (await other.connect())[0]
        await receive_type(socket, "history")
        for index in range(3):
            await other.send_json_to(
                {"type": "message", "body": f"m{index}", "client_id": f"{index}"}
            )
            await receive_type(socket, "message")
        await socket.disconnect()
        await other.disconnect()

    async_to_sync(scenario)()
    assert looks == []
