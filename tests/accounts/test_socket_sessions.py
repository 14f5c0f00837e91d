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
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from lms.accounts.models import User
from lms.accounts.notifications import notify
from lms.asgi import application
from lms.sockets import RECHECK, SIGNED_OUT, session_group
from tests.community.factories import RunFactory, enrol
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory
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


def _expire(client: Client) -> None:
    """The session expires as it does in the store: its row's date passes and the cache's copy
    is gone (Redis drops it at the same moment, its time to live being the session's)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from lms.accounts.sessions import SessionStore

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    cache.delete(SessionStore(session_key=key).cache_key)


def test_an_expired_sessions_notifications_socket_closes_before_delivering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lms.accounts.consumers import NotificationConsumer

    monkeypatch.setattr(NotificationConsumer, "RECHECK_SECONDS", 0)
    ana = UserFactory()
    browser = _session(ana)

    async def scenario() -> dict[str, Any]:
        bell = _socket(browser, "/ws/notifications/")
        assert (await bell.connect())[0]
        await sync_to_async(notify)(recipients=[ana], subject="Before", body="Heard.")
        before = await bell.receive_json_from(timeout=5)
        await sync_to_async(_expire)(browser)
        await sync_to_async(notify)(recipients=[ana], subject="After", body="Not heard.")
        after = await until_closed(bell)
        await bell.disconnect()
        return {"before": before, "after": after}

    result = async_to_sync(scenario)()
    assert result["before"]["notification"]["subject"] == "Before"
    assert result["after"][-1] == {"type": "websocket.close", "code": SIGNED_OUT}
    assert "Not heard" not in str(result["after"])


def test_an_expired_sessions_chat_closes_and_leaves_the_presence_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from community.consumers import ChatConsumer

    monkeypatch.setattr(ChatConsumer, "RECHECK_SECONDS", 0)
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza")
    luis = UserFactory(full_name="Luis Martínez")
    enrol(ana, run)
    enrol(luis, run)
    laptop, colleague = _session(ana), _session(luis)

    async def scenario() -> dict[str, Any]:
        chat = _socket(laptop, f"/ws/chat/{run.pk}/")
        luis_chat = _socket(colleague, f"/ws/chat/{run.pk}/")
        for socket in (chat, luis_chat):
            assert (await socket.connect())[0]
        await receive_type(chat, "history")
        presence = await receive_type(luis_chat, "presence")
        while set(presence["online"]) != {"Ana Souza", "Luis Martínez"}:
            presence = await receive_type(luis_chat, "presence")
        await sync_to_async(_expire)(laptop)
        await luis_chat.send_json_to({"type": "message", "body": "Expired?", "client_id": "x1"})
        closed = await until_closed(chat)
        await chat.disconnect()
        while "Ana Souza" in presence["online"]:
            presence = await receive_type(luis_chat, "presence")
        await luis_chat.disconnect()
        return {"closed": closed, "presence": presence}

    result = async_to_sync(scenario)()
    assert result["closed"][-1] == {"type": "websocket.close", "code": SIGNED_OUT}
    assert "Expired?" not in str(result["closed"])
    assert result["presence"]["online"] == ["Luis Martínez"]


def test_an_expired_sessions_dashboard_closes_before_the_next_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lms.dashboards import live
    from lms.dashboards.consumers import DashboardConsumer

    monkeypatch.setattr(DashboardConsumer, "RECHECK_SECONDS", 0)
    dps = UserFactory(is_staff=True)
    RoleAssignmentFactory(user=dps, role="dps_admin")
    browser = _session(dps)
    layer = get_channel_layer()

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(browser, "/ws/dashboards/")
        assert (await socket.connect())[0]
        event = {"type": "dashboard.event", "group": live.ALL_GROUP,
                 "payload": {"event": "counters", "counters": {"completed": 1}}}  # fmt: skip
        await layer.group_send(live.ALL_GROUP, event)
        heard = [await socket.receive_json_from(timeout=5)]
        await sync_to_async(_expire)(browser)
        await layer.group_send(live.ALL_GROUP, event)
        closed = await until_closed(socket)
        await socket.disconnect()
        return heard + closed

    outputs = async_to_sync(scenario)()
    assert outputs[0] == {"event": "counters", "counters": {"completed": 1}}
    assert outputs[1:] == [{"type": "websocket.close", "code": SIGNED_OUT}]


def test_a_role_taken_away_closes_the_dashboard_at_once_and_the_reconnect_is_refused() -> None:
    """No wait for the re-check (DashboardConsumer.RECHECK_SECONDS, 30 s): closed with 4000 when
    the role's deletion commits; the page comes back and its handshake reads the lens anew. A
    colleague's dashboard stays open."""
    dps, colleague = UserFactory(), UserFactory()
    role = RoleAssignmentFactory(user=dps, role="dps_admin")
    RoleAssignmentFactory(user=colleague, role="dps_admin")
    browser, other = _session(dps), _session(colleague)

    async def scenario() -> dict[str, Any]:
        mine, theirs = _socket(browser, "/ws/dashboards/"), _socket(other, "/ws/dashboards/")
        for socket in (mine, theirs):
            assert (await socket.connect())[0]
        await sync_to_async(role.delete)()
        closed = await until_closed(mine)
        await mine.disconnect()
        still_open = await theirs.receive_nothing(timeout=0.5)
        await theirs.disconnect()
        return {"closed": closed, "still_open": still_open}

    result = async_to_sync(scenario)()
    assert result["closed"] == [{"type": "websocket.close", "code": RECHECK}]
    assert result["still_open"]
    assert _fresh_socket_refused(browser, "/ws/dashboards/")[-1]["code"] == 4403


def test_a_moved_institution_closes_the_dashboards_of_the_coordinators_it_concerns() -> None:
    """A unit moved from one institution to another: the dashboards of the coordinators of its
    old parent (who lose its learners), of its new parent (who gain them) and of the unit itself
    are closed with 4000 at once (their lens is read anew on reconnecting; before, the old
    parent's coordinator heard the unit's learners until the 30 s re-check). The coordinators of
    an institution the move does not touch and of the root above both places keep theirs open,
    and so does an officer of the unit."""
    from lms.dashboards.selectors import lens_for

    root, elsewhere = InstitutionFactory(), InstitutionFactory()
    old_parent = InstitutionFactory(parent=root, member_state=root.member_state)
    new_parent = InstitutionFactory(parent=root, member_state=root.member_state)
    unit = InstitutionFactory(parent=old_parent, member_state=root.member_state)
    people = {}
    for name, place in (("old", old_parent), ("new", new_parent), ("unit", unit),
                        ("root", root), ("elsewhere", elsewhere)):  # fmt: skip
        people[name] = UserFactory(institution=place)
        RoleAssignmentFactory(user=people[name], role="coordinator", institution=place)
    assert unit.pk in lens_for(people["old"]).institution_ids
    officer = UserFactory(institution=unit)
    RoleAssignmentFactory(user=officer, role="learner", institution=unit)
    browsers = {name: _session(person) for name, person in people.items()}

    def move() -> None:
        unit.parent = new_parent
        unit.save()

    async def scenario() -> dict[str, Any]:
        sockets = {name: _socket(browser, "/ws/dashboards/") for name, browser in browsers.items()}
        for socket in sockets.values():
            assert (await socket.connect())[0]
        bell = _socket(_session(officer), "/ws/notifications/")
        assert (await bell.connect())[0]
        await sync_to_async(move)()
        result: dict[str, Any] = {}
        for name in ("old", "new", "unit"):
            result[name] = await until_closed(sockets[name])
            await sockets[name].disconnect()
        for name in ("elsewhere", "root"):
            result[name] = await sockets[name].receive_nothing(timeout=0.5)
            await sockets[name].disconnect()
        result["officer"] = await bell.receive_nothing(timeout=0.2)
        await bell.disconnect()
        return result

    result = async_to_sync(scenario)()
    for name in ("old", "new", "unit"):
        assert result[name] == [{"type": "websocket.close", "code": RECHECK}], name
    assert result["elsewhere"]
    assert result["root"]  # above both places: its dashboard holds the unit before and after
    assert result["officer"]  # an officer's own sockets do not follow the tree
    assert unit.pk not in lens_for(User.objects.get(pk=people["old"].pk)).institution_ids
    assert unit.pk in lens_for(User.objects.get(pk=people["new"].pk)).institution_ids


def test_a_withdrawal_or_an_instructor_removed_closes_their_chat_at_once() -> None:
    """Without waiting for the chat's re-check (30 s): the withdrawn learner and the instructor
    taken off the run are closed with 4403 and leave the presence list; the others stay."""
    from courses.models import RunInstructor
    from courses.services import withdraw

    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza")
    luis = UserFactory(full_name="Luis Martínez")
    teacher = UserFactory(full_name="Marta Díaz")
    ana_enrolment = enrol(ana, run)
    enrol(luis, run)
    RunInstructor.objects.create(run=run, user=teacher)
    sessions = {"ana": _session(ana), "luis": _session(luis), "teacher": _session(teacher)}

    async def scenario() -> dict[str, Any]:
        chats = {name: _socket(client, f"/ws/chat/{run.pk}/") for name, client in sessions.items()}
        for socket in chats.values():
            assert (await socket.connect())[0]
            await receive_type(socket, "history")
        presence = await receive_type(chats["luis"], "presence")
        while len(presence["online"]) < 3:
            presence = await receive_type(chats["luis"], "presence")
        await sync_to_async(withdraw)(enrollment=ana_enrolment, actor=ana, reason="moved")
        ana_closed = await until_closed(chats["ana"])
        await sync_to_async(RunInstructor.objects.filter(run=run, user=teacher).delete)()
        teacher_closed = await until_closed(chats["teacher"])
        for name in ("ana", "teacher"):
            await chats[name].disconnect()
        while len(presence["online"]) > 1:
            presence = await receive_type(chats["luis"], "presence")
        await chats["luis"].disconnect()
        return {"ana": ana_closed, "teacher": teacher_closed, "presence": presence}

    result = async_to_sync(scenario)()
    assert result["ana"][-1] == {"type": "websocket.close", "code": 4403}
    assert result["teacher"][-1] == {"type": "websocket.close", "code": 4403}
    assert result["presence"]["online"] == ["Luis Martínez"]


def test_a_session_holds_while_it_names_the_person_with_their_password() -> None:
    """What the sockets' re-checks ask of the session store: the session of a signed-in person
    holds; not once their password changes (even with no socket closed then, Redis being
    down), nor once it has expired, nor for someone else."""
    from lms.sockets import _session_names

    ana, luis = UserFactory(), UserFactory()
    laptop, phone = _session(ana), _session(ana)
    key = laptop.cookies[settings.SESSION_COOKIE_NAME].value
    phone_key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    assert _session_names(key, ana.pk)
    assert not _session_names(key, luis.pk)
    _expire(laptop)
    assert not _session_names(key, ana.pk)
    assert _session_names(phone_key, ana.pk)
    ana.set_password("another-pass-2026!")
    ana.save()
    assert not _session_names(phone_key, ana.pk)


def test_a_session_made_under_a_key_being_rotated_out_still_holds(settings: Any) -> None:
    """As Django's own check of a session (django.contrib.auth.get_user): a new SECRET_KEY with
    the old one in SECRET_KEY_FALLBACKS keeps people signed in, and their sockets open."""
    from lms.sockets import _session_names

    ana = UserFactory()
    key = _session(ana).cookies[settings.SESSION_COOKIE_NAME].value
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdef"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert _session_names(key, ana.pk)
    settings.SECRET_KEY_FALLBACKS = []
    assert not _session_names(key, ana.pk)
