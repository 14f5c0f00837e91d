"""A donor's dashboard socket hears the figures move and nothing about the people: no names,
emails, badge numbers or ids at any depth, in a batch too. A DPS dashboard on the same batch
still hears who completed. And a dashboard whose viewer lost their role stops hearing (the lens
is looked at again, at most RECHECK_SECONDS after the last look)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from lms.dashboards import live
from lms.dashboards.consumers import DashboardConsumer
from tests.dashboards.conftest import enrol, finish, finish_together
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("require_postgres", "require_redis", "without_certificate_issuance"),
]


def _socket(user: Any) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboards/")
    socket.scope["user"] = user
    return socket


def _personal(officers: list[Any]) -> set[str]:
    """What identifies the officers: their names, emails, badge numbers and ids."""
    found: set[str] = set()
    for officer in officers:
        found |= {officer.full_name, officer.email}
        badge = getattr(officer, "badge_number", "") or ""
        if badge:
            found.add(badge)
    return found


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


async def _hear(socket: WebsocketCommunicator, until: Any) -> list[dict[str, Any]]:
    heard = [await socket.receive_json_from(timeout=10)]
    while not until(heard):
        heard.append(await socket.receive_json_from(timeout=10))
    return heard


def _events(heard: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        event
        for message in heard
        for event in (message["events"] if message["event"] == "batch" else [message])
    ]


def _completions(heard: list[dict[str, Any]]) -> int:
    return sum(event.get("counters", {}).get("completed", 0) for event in _events(heard))


def test_a_batch_reaches_a_donor_without_names_and_dps_with_them(
    donor_user: Any, dps_admin: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    done = officers[:3]

    def complete() -> None:
        finish_together([enrol(officer, network["virtual"]) for officer in done])

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        donor, dps = _socket(donor_user), _socket(dps_admin)
        assert (await donor.connect())[0]
        assert (await dps.connect())[0]
        await database_sync_to_async(complete)()
        heard_by_donor = await _hear(donor, lambda heard: _completions(heard) >= len(done))
        heard_by_dps = await _hear(dps, lambda heard: _completions(heard) >= len(done))
        await database_sync_to_async(live.flush)()
        while not await donor.receive_nothing(timeout=0.5):
            heard_by_donor.append(await donor.receive_json_from(timeout=10))
        await donor.disconnect()
        await dps.disconnect()
        return heard_by_donor, heard_by_dps

    heard_by_donor, heard_by_dps = async_to_sync(scenario)()
    assert any(message["event"] == "batch" for message in heard_by_donor)
    text = json.dumps(heard_by_donor, ensure_ascii=False)
    assert not [value for value in _personal(officers) if value in text]
    # only the figures: no field that could name or point at a person, at any depth
    assert _keys(heard_by_donor) <= {"event", "events", "counters", "completed", "enrolled"}
    assert {event["event"] for event in _events(heard_by_donor)} <= {"counters", "enrolment"}
    assert _completions(heard_by_donor) == len(done)
    # DPS, on the same batch, still reads who completed
    names = {event.get("name") for event in _events(heard_by_dps)}
    assert {officer.full_name for officer in done} <= names


def test_the_anonymous_payload_is_built_from_an_allow_list() -> None:
    """Whatever a publisher adds (here a user id, an email, a badge number, nested), a lens that
    names no one gets the kind and the counters only."""
    payload = {
        "event": "batch",
        "events": [
            {
                "event": "completion",
                "key": "completion-7",
                "name": "Learner Two Norte",
                "user_id": 42,
                "email": "two@norte.example",
                "counters": {"completed": 1, "who": "Learner Two Norte"},
                "extra": {"badge_number": "PN-123"},
            },
            {"event": "certificate", "key": "certificate-9", "counters": {"certificates": 1}},
            "not an event",
        ],
    }
    assert live.anonymous(payload) == {
        "event": "batch",
        "events": [
            {"event": "counters", "counters": {"completed": 1}},
            {"event": "certificate", "counters": {"certificates": 1}},
        ],
    }
    assert live.anonymous({"event": "completion", "name": "X", "counters": {"completed": 1}}) == {
        "event": "counters",
        "counters": {"completed": 1},
    }


def test_a_single_completion_reaches_the_donor_without_its_key_or_name(
    donor_user: Any, network: dict[str, Any], officers: list[Any]
) -> None:

    def complete() -> None:
        finish(enrol(officers[0], network["virtual"]))

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(donor_user)
        assert (await socket.connect())[0]
        await database_sync_to_async(complete)()
        heard = await _hear(socket, lambda heard: _completions(heard) >= 1)
        await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert heard[-1] == {"event": "counters", "counters": {"completed": 1}}


def test_a_coordinator_who_lost_the_role_stops_hearing(
    institution: Any,
    network: dict[str, Any],
    officers: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The socket looks at the viewer's lens again before delivering (here at once): a former
    coordinator's is closed with 4403, the code live.js stops reconnecting on. The role is
    changed here by a bulk update, which sends no signal (a role saved or deleted through the
    model closes the sockets at once instead: tests/accounts/test_socket_sessions.py)."""
    from lms.accounts.models import RoleAssignment
    from lms.accounts.principal import forget

    monkeypatch.setattr(DashboardConsumer, "RECHECK_SECONDS", 0, raising=False)
    former = UserFactory(institution=institution)
    role = RoleAssignmentFactory(user=former, role="coordinator", institution=institution)

    def complete() -> None:
        RoleAssignment.objects.filter(pk=role.pk).update(role="learner")
        forget(former.pk)  # as the bulk paths do
        finish(enrol(officers[0], network["virtual"]))

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(former)
        assert (await socket.connect())[0]
        await database_sync_to_async(complete)()
        outputs = [await socket.receive_output(timeout=10)]
        while outputs[-1]["type"] != "websocket.close":
            outputs.append(await socket.receive_output(timeout=10))
        return outputs

    outputs = async_to_sync(scenario)()
    assert outputs[-1] == {"type": "websocket.close", "code": 4403}
    assert not [output for output in outputs if officers[0].full_name in str(output)]
