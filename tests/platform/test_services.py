"""The real services: a Celery worker consuming from Redis, and a WebSocket round trip through
the Redis channel layer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import mail
from django.utils.translation import gettext_lazy as _

from lms.accounts.models import Notification, User
from lms.accounts.notifications import notify
from lms.accounts.routing import websocket_urlpatterns
from lms.accounts.services import invite_person
from tests.factories import InstitutionFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def wait_for(condition: Any, seconds: float = 30) -> None:
    """Poll `condition` until it is true (a worker runs on its own thread)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_invitation_email_is_sent_by_a_real_worker_on_redis(
    celery_worker: Any, require_postgres: None
) -> None:
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    institution = InstitutionFactory()
    user = invite_person(
        email="worker@example.org",
        full_name="Worker Test",
        institution=institution,
        preferred_language="fr",
    )
    wait_for(lambda: any(message.to == [user.email] for message in mail.outbox))
    message = next(message for message in mail.outbox if message.to == [user.email])
    assert message.subject == "Votre invitation au Réseau de formation policière"
    assert "/accounts/activate/" in message.body
    user.refresh_from_db()
    assert user.status == User.Status.INVITED


def test_notification_reaches_the_websocket_through_the_redis_layer(
    require_redis: str,
) -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    user = UserFactory(preferred_language="pt")
    other = UserFactory()
    application = URLRouter(websocket_urlpatterns)

    def send() -> None:
        notify(
            recipients=[user],
            subject=_("This field is required."),
            body="Corpo %(n)s",
            params={"n": 7},
            url="/accounts/notifications/",
        )

    async def scenario() -> tuple[dict[str, Any], bool]:
        mine = WebsocketCommunicator(application, "/ws/notifications/")
        mine.scope["user"] = user
        theirs = WebsocketCommunicator(application, "/ws/notifications/")
        theirs.scope["user"] = other
        assert (await mine.connect())[0]
        assert (await theirs.connect())[0]
        await database_sync_to_async(send)()
        received = await mine.receive_json_from(timeout=10)
        other_got_nothing = await theirs.receive_nothing(timeout=0.5)
        await mine.disconnect()
        await theirs.disconnect()
        return received, other_got_nothing

    received, other_got_nothing = async_to_sync(scenario)()
    assert received["type"] == "notification"
    assert received["notification"]["subject"] == "Este campo é obrigatório."
    assert received["notification"]["body"] == "Corpo 7"
    assert received["notification"]["id"] == Notification.objects.get(user=user).pk
    assert other_got_nothing


def test_anonymous_websocket_is_refused(require_redis: str) -> None:
    from django.contrib.auth.models import AnonymousUser

    async def scenario() -> bool:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/notifications/")
        communicator.scope["user"] = AnonymousUser()
        await communicator.connect()
        closed = await communicator.receive_output()
        await communicator.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}


def test_many_sockets_connecting_at_once_all_join_through_the_redis_layer(
    require_redis: str,
) -> None:
    """Dashboards opened together (a morning briefing): more simultaneous group joins than
    redis-py's default asyncio pool of 100 connections, which refuses instead of waiting."""
    import asyncio

    user = UserFactory()
    application = URLRouter(websocket_urlpatterns)

    async def scenario() -> tuple[int, int]:
        sockets = []
        for _number in range(160):
            socket = WebsocketCommunicator(application, "/ws/notifications/")
            socket.scope["user"] = user
            sockets.append(socket)
        results = await asyncio.gather(*(socket.connect(timeout=30) for socket in sockets))
        await asyncio.gather(*(socket.disconnect() for socket in sockets))
        return sum(1 for ok, _code in results if ok), len(sockets)

    connected, total = async_to_sync(scenario)()
    assert connected == total


def test_the_channel_layer_reads_longer_than_its_blocking_pops(require_redis: str) -> None:
    """channels_redis waits for messages with BZPOPMIN for brpop_timeout seconds; a socket
    timeout no longer than that makes an idle consumer's read race the server's empty answer."""
    from channels.layers import get_channel_layer

    async def pool_settings() -> tuple[Any, int, int]:
        layer: Any = get_channel_layer()
        pool = layer.connection(0).connection_pool
        # what a connection of the pool uses (the library's default when the settings say none)
        timeout = pool.make_connection().socket_timeout
        return timeout, pool.max_connections, layer.brpop_timeout

    socket_timeout, max_connections, brpop_timeout = async_to_sync(pool_settings)()
    assert socket_timeout > brpop_timeout
    assert max_connections >= 1000
