"""Signing out closes the sockets opened in that session (lms.sockets.SessionBound): the chat,
the notifications and the dashboards' live figures, with 4401, on which the pages' scripts stop
reconnecting. Before, an open socket went on delivering to a signed-out browser until the
connection dropped or a membership re-check refused it. The person's other sessions keep theirs.

A new password (changed or reset), a suspension or a deleted account closes every socket of the
person with 4000 instead: the page reconnects, and the handshake checks its session again. The
session that changed the password holds and gets its socket back; the others are refused.

Through the real stack: the session cookie of a real sign-in, the ASGI application with its
origin check and AuthMiddlewareStack, the sign-out view and Redis's channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from lms.accounts.notifications import notify
from lms.asgi import application
from lms.sockets import RECHECK, SIGNED_OUT, session_group
from tests.community.factories import RunFactory, enrol
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.sockets import receive_type, until_closed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture(autouse=True)
def _redis_layer(require_redis: str) -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    cache.clear()


def _session(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _socket(client: Client, path: str) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return WebsocketCommunicator(
        application,
        path,
        headers=[(b"cookie", cookie.encode()), (b"origin", b"http://testserver")],
    )


def test_signing_out_closes_that_sessions_sockets_and_no_others() -> None:
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza")
    luis = UserFactory(full_name="Luis Martínez")
    enrol(ana, run)
    enrol(luis, run)
    laptop, phone, colleague = _session(ana), _session(ana), _session(luis)

    async def scenario() -> dict[str, Any]:
        chat = _socket(laptop, f"/ws/chat/{run.pk}/")
        bell = _socket(laptop, "/ws/notifications/")
        phone_bell = _socket(phone, "/ws/notifications/")
        luis_chat = _socket(colleague, f"/ws/chat/{run.pk}/")
        for socket in (chat, bell, phone_bell, luis_chat):
            assert (await socket.connect())[0]
        await receive_type(chat, "history")
        await receive_type(luis_chat, "history")
        presence = await receive_type(luis_chat, "presence")
        while set(presence["online"]) != {"Ana Souza", "Luis Martínez"}:
            presence = await receive_type(luis_chat, "presence")

        signed_out = await sync_to_async(laptop.post)("/accounts/logout/")
        closed = {"chat": await until_closed(chat), "bell": await until_closed(bell)}
        for socket in (chat, bell):
            await socket.disconnect()  # what the server then tells the application, as Daphne does
        while "Ana Souza" in presence["online"]:
            presence = await receive_type(luis_chat, "presence")

        # the phone's session is still signed in: its socket hears the next notification
        await sync_to_async(notify)(recipients=[ana], subject="Grade released", body="See it.")
        pushed = await phone_bell.receive_json_from(timeout=5)
        await luis_chat.send_json_to({"type": "message", "body": "Friday", "client_id": "l1"})
        heard = await receive_type(luis_chat, "message")
        for socket in (phone_bell, luis_chat):
            await socket.disconnect()
        return {
            "status": signed_out.status_code,
            "closed": closed,
            "presence": presence,
            "pushed": pushed,
            "heard": heard,
        }

    result = async_to_sync(scenario)()
    assert result["status"] == 302
    for name in ("chat", "bell"):
        assert result["closed"][name][-1] == {"type": "websocket.close", "code": SIGNED_OUT}
    assert result["presence"]["online"] == ["Luis Martínez"]
    assert result["pushed"]["type"] == "notification"
    assert result["heard"]["message"]["body"] == "Friday"


def test_signing_out_closes_the_dashboards_live_socket() -> None:
    dps = UserFactory(is_staff=True)
    RoleAssignmentFactory(user=dps, role="dps_admin")
    browser = _session(dps)

    async def scenario() -> list[dict[str, Any]]:
        live = _socket(browser, "/ws/dashboards/")
        assert (await live.connect())[0]
        await sync_to_async(browser.post)("/accounts/logout/")
        outputs = await until_closed(live)
        await live.disconnect()
        return outputs

    assert async_to_sync(scenario)()[-1] == {"type": "websocket.close", "code": SIGNED_OUT}


def test_a_socket_of_a_signed_out_session_is_refused_when_it_comes_back() -> None:
    ana = UserFactory()
    browser = _session(ana)
    cookie_holder = Client()
    cookie_holder.cookies = browser.cookies  # the browser keeps the old cookie

    async def scenario() -> list[dict[str, Any]]:
        await sync_to_async(browser.post)("/accounts/logout/")
        again = _socket(cookie_holder, "/ws/notifications/")
        assert (await again.connect())[0]  # accepted, then closed with the reason
        outputs = await until_closed(again)
        await again.disconnect()
        return outputs

    assert async_to_sync(scenario)()[-1] == {"type": "websocket.close", "code": SIGNED_OUT}


def test_sign_out_goes_through_when_the_channel_layer_cannot_be_reached(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down must not keep anyone signed in: the sign-out happens, the failure is logged."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},  # the discard port: nothing listens
        }
    }
    channel_layers.backends.clear()
    ana = UserFactory()
    browser = _session(ana)
    response = browser.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session
    assert "could not close the sockets of a session that signed out" in caplog.text


def test_the_session_group_hides_the_session_key() -> None:
    key = "abcdefghijklmnopqrstuvwxyz012345"
    group = session_group(key)
    assert key not in group
    assert group == session_group(key) != session_group(key + "6")
    assert len(group) < 100
    assert group.replace(".", "").isalnum()


def _fresh_socket_refused(client: Client, path: str) -> Any:
    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(client, path)
        assert (await socket.connect())[0]
        outputs = await until_closed(socket)
        await socket.disconnect()
        return outputs

    return async_to_sync(scenario)()


def test_a_new_password_closes_every_socket_and_only_the_changing_session_reconnects() -> None:
    ana = UserFactory()
    ana.set_password("old-pass-2026!")
    ana.save()
    laptop, phone = _session(ana), _session(ana)

    async def scenario() -> dict[str, Any]:
        sockets = {
            "laptop": _socket(laptop, "/ws/notifications/"),
            "phone": _socket(phone, "/ws/notifications/"),
        }
        for socket in sockets.values():
            assert (await socket.connect())[0]
        changed = await sync_to_async(laptop.post)(
            "/accounts/account/password/",
            {
                "old_password": "old-pass-2026!",
                "new_password1": "a-New-pass-2026!",
                "new_password2": "a-New-pass-2026!",
            },
        )
        closed = {name: await until_closed(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return {"status": changed.status_code, "closed": closed}

    result = async_to_sync(scenario)()
    assert result["status"] == 302
    for name in ("laptop", "phone"):
        assert result["closed"][name][-1] == {"type": "websocket.close", "code": RECHECK}

    # the pages reconnect: the laptop's session holds (under its new key), the phone's does not
    async def reconnect_laptop() -> None:
        socket = _socket(laptop, "/ws/notifications/")
        assert (await socket.connect())[0]
        await sync_to_async(notify)(recipients=[ana], subject="Still here", body="Yes.")
        assert (await socket.receive_json_from(timeout=5))["type"] == "notification"
        await socket.disconnect()

    async_to_sync(reconnect_laptop)()
    refused = _fresh_socket_refused(phone, "/ws/notifications/")
    assert refused[-1] == {"type": "websocket.close", "code": SIGNED_OUT}


def test_a_suspension_closes_the_persons_sockets_and_the_reconnect_is_refused() -> None:
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)
    browser = _session(ana)

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        chat = _socket(browser, f"/ws/chat/{run.pk}/")
        bell = _socket(browser, "/ws/notifications/")
        for socket in (chat, bell):
            assert (await socket.connect())[0]
        await receive_type(chat, "history")

        def suspend() -> None:
            ana.status = ana.Status.SUSPENDED  # as the admin's form saves it
            ana.save()

        await sync_to_async(suspend)()
        closed = {"chat": await until_closed(chat), "bell": await until_closed(bell)}
        for socket in (chat, bell):
            await socket.disconnect()
        return closed

    closed = async_to_sync(scenario)()
    for name in ("chat", "bell"):
        assert closed[name][-1] == {"type": "websocket.close", "code": RECHECK}
    assert _fresh_socket_refused(browser, "/ws/notifications/")[-1]["code"] == SIGNED_OUT
    assert _fresh_socket_refused(browser, f"/ws/chat/{run.pk}/")[-1]["code"] == 4403


def test_other_changes_to_the_person_leave_their_sockets_open() -> None:
    """A new name, a language, a sign-in elsewhere (last_login): nothing that ends a session."""
    ana = UserFactory()
    browser = _session(ana)

    async def scenario() -> dict[str, Any]:
        bell = _socket(browser, "/ws/notifications/")
        assert (await bell.connect())[0]

        def edit() -> None:
            ana.full_name = "Ana Souza Lima"
            ana.preferred_language = "pt"
            ana.save()
            _session(ana)  # another sign-in saves last_login

        await sync_to_async(edit)()
        await sync_to_async(notify)(recipients=[ana], subject="Hello", body="Still open.")
        heard = await bell.receive_json_from(timeout=5)
        await bell.disconnect()
        return heard

    assert async_to_sync(scenario)()["type"] == "notification"
