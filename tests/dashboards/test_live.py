"""A completion reaches an open dashboard through the Redis channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from lms.dashboards.consumers import DashboardConsumer
from tests.dashboards.conftest import enrol, finish, finish_together

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


def test_completions_made_together_reach_the_dashboard_as_one_batch(
    coordinator: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    """A run's released grades complete many courses at once: each group hears them in one
    message (live.BATCH at most), not one message per completion."""
    from lms.dashboards import live

    def complete() -> None:
        finish_together([enrol(officer, network["virtual"]) for officer in officers])

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(coordinator)
        connected, _code = await socket.connect()
        assert connected
        await database_sync_to_async(complete)()
        heard = []
        while not any(message["event"] == "batch" for message in heard):
            heard.append(await socket.receive_json_from(timeout=10))
        await database_sync_to_async(live.flush)()
        while not await socket.receive_nothing(timeout=0.5):
            heard.append(await socket.receive_json_from(timeout=10))
        await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert not [message for message in heard if message["event"] == "completion"]
    events = [
        event for message in heard if message["event"] == "batch" for event in message["events"]
    ]
    # The coordinator's institution holds two of the four officers; each of its groups (the
    # institution, the run, the course) sends the batch: the page tells them apart by key.
    names = {event["name"] for event in events}
    assert names == {officer.full_name for officer in officers[:2]}
    assert {event["counters"]["completed"] for event in events} == {1}
    assert len({event["key"] for event in events}) == 2


def test_a_learner_cannot_listen(learner: Any) -> None:
    async def scenario() -> Any:
        socket = _socket(learner)
        await socket.connect()
        closed = await socket.receive_output()
        await socket.disconnect()
        return closed

    # the code live.js stops reconnecting on, carried by the close that follows the accept
    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db
def test_a_completion_read_with_its_institution_is_announced_without_a_query(
    network: dict[str, Any], officers: list[Any]
) -> None:
    """A run's completions written together are announced one by one after the commit: each
    read its institution's path in a query of its own, unless the enrolment came with it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from courses.models import Enrollment
    from lms.dashboards import receivers

    made = enrol(officers[0], network["virtual"])
    related = ("run__course", "user")
    bare = Enrollment.objects.select_related(*related).get(pk=made.pk)
    loaded = Enrollment.objects.select_related(*related, "institution").get(pk=made.pk)
    with CaptureQueriesContext(connection) as without:
        receivers.on_course_completed(sender=Enrollment, enrollment=bare)
    with CaptureQueriesContext(connection) as with_it:
        receivers.on_course_completed(sender=Enrollment, enrollment=loaded)
    assert (len(without), len(with_it)) == (1, 0)
    assert receivers._path_of(loaded) == receivers._path_of(bare) == officers[0].institution.path


def test_a_donors_dashboard_hears_the_figures_move_but_not_who(
    donor_user: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    """A completion in a program the donor funds moves their counters; the officer's name is
    not sent to them (nor is it an event that lists a person)."""

    def complete() -> None:
        finish(enrol(officers[0], network["virtual"]))

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(donor_user)
        connected, _code = await socket.connect()
        assert connected
        await database_sync_to_async(complete)()
        heard = [await socket.receive_json_from(timeout=10)]
        while heard[-1].get("counters") != {"completed": 1}:
            heard.append(await socket.receive_json_from(timeout=10))
        await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert heard[-1]["event"] == "counters"
    assert all("name" not in message for message in heard)
    assert all(officers[0].full_name not in str(message) for message in heard)
