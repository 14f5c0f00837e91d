"""Two officers chatting live in Chromium, through Daphne and the Redis channel layer."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.community.factories import RunFactory, enrol
from tests.conftest import login_cookie
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_two_officers_chat_live(asgi_live_server: str, browser: Any) -> None:
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="pt")
    luis = UserFactory(full_name="Luis Martínez", preferred_language="es")
    enrol(ana, run)
    enrol(luis, run)
    chat_url = f"{asgi_live_server}/community/runs/{run.pk}/chat/"
    pages = []
    for user in (ana, luis):
        context = browser.new_context()
        context.add_cookies([login_cookie(user, asgi_live_server)])
        page = context.new_page()
        page.goto(chat_url)
        page.wait_for_function(
            "() => document.getElementById('chat-presence').textContent.includes('Ana Souza')"
        )
        pages.append(page)
    ana_page, luis_page = pages
    luis_page.wait_for_function(
        "() => document.getElementById('chat-presence').textContent.includes('Luis Martínez')"
    )
    ana_page.wait_for_function(
        "() => document.getElementById('chat-presence').textContent.includes('Luis Martínez')"
    )
    # who is online, in one sentence of each reader's language (the script fills the names in)
    presence = ana_page.locator("#chat-presence").text_content() or ""
    assert presence.startswith("Online agora: ")
    assert "%(names)s" not in presence
    assert (luis_page.locator("#chat-presence").text_content() or "").startswith("En línea ahora: ")
    ana_page.get_by_role("textbox", name="Mensagem").fill("Bom dia, colegas!")
    ana_page.keyboard.press("Enter")
    luis_page.locator("#chat-log li", has_text="Bom dia, colegas!").wait_for(timeout=10000)
    luis_page.get_by_role("textbox", name="Mensaje").fill("¡Buenos días, Ana!")
    luis_page.get_by_role("button", name="Enviar").click()
    ana_page.locator("#chat-log li", has_text="¡Buenos días, Ana!").wait_for(timeout=10000)
    assert ana_page.locator("#chat-log li").count() == 2
    assert luis_page.locator("#chat-log li").count() == 2


# Daphne as asgi_live_server starts it (`python -m daphne ...`), but with the chat's membership
# re-check made on every frame instead of at most every ChatConsumer.RECHECK_SECONDS (30 s): the
# interval is a class attribute that no setting or environment variable reaches, and Daphne runs
# in a process of its own, where the test's monkeypatch does not.
_DAPHNE_RECHECKING_EVERY_FRAME = """
import os
import sys

sys.path.insert(0, os.getcwd())
from daphne.cli import CommandLineInterface  # first: Daphne installs its Twisted reactor

import lms.asgi  # Django set up, as Daphne would, so that the consumer can be imported
from community.consumers import ChatConsumer

ChatConsumer.RECHECK_SECONDS = 0.0
if sys.argv[1:3] != ["-m", "daphne"]:
    raise SystemExit(f"not a Daphne command: {sys.argv[1:]}")
sys.argv = ["daphne", *sys.argv[3:]]
CommandLineInterface.entrypoint()
"""


@pytest.fixture
def rechecking_server(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    transactional_db: None,
    require_postgres: None,
    require_redis: str,
) -> str:
    """asgi_live_server, its Daphne started through a launcher that sets RECHECK_SECONDS to 0
    in the server process (the consumer's code is otherwise untouched)."""
    script = tmp_path / "daphne_rechecking.py"
    script.write_text(_DAPHNE_RECHECKING_EVERY_FRAME)
    launcher = tmp_path / "python"
    launcher.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(script))} "$@"\n'
    )
    launcher.chmod(0o755)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", str(launcher))  # read by asgi_live_server's Popen
        return request.getfixturevalue("asgi_live_server")


def _open_chat(
    browser: Any, server: str, user: Any, run: Any, init_script: str = ""
) -> tuple[Any, list[Any]]:
    """The chat page open for `user`, connected, and showing them online (the last frame their
    joining sends them); the list fills with every chat WebSocket the page opens from then on,
    the first included (the page's notifications socket aside)."""
    context = browser.new_context()
    if init_script:
        context.add_init_script(init_script)
    context.add_cookies([login_cookie(user, server)])
    page = context.new_page()
    sockets: list[Any] = []
    page.on("websocket", lambda socket: "/ws/chat/" in socket.url and sockets.append(socket))
    page.goto(f"{server}/community/runs/{run.pk}/chat/")
    page.wait_for_function(
        "name => document.getElementById('chat-status').textContent"
        " === document.getElementById('chat').dataset.labelConnected"
        " && document.getElementById('chat-presence').textContent.includes(name)",
        arg=user.full_name,
    )
    return page, sockets


def _assert_closed_for_good(page: Any, sockets: list[Any], language: str) -> None:
    """The page says, in the person's language, that the chat is closed to them; the form is
    disabled; and no new socket is opened (chat.js would retry after 0.5 s, 1 s, 2 s)."""
    from django.utils import translation

    english = "This chat is no longer open to you: reload the page."
    with translation.override(language):
        translated = translation.gettext(english)
    assert translated != english
    page.wait_for_function(
        "() => document.getElementById('chat-status').textContent"
        " === document.getElementById('chat').dataset.labelClosed",
        timeout=10000,
    )
    assert page.locator("#chat").get_attribute("data-label-closed") == translated
    assert page.locator("#chat-status").text_content() == translated
    assert page.evaluate("document.documentElement.lang") == language
    page.wait_for_timeout(3000)
    assert len(sockets) == 1
    assert sockets[0].is_closed()
    assert page.locator("#chat-status").text_content() == translated
    controls = page.locator("#chat-form").locator("input, textarea, button")
    assert controls.count() >= 3  # the CSRF token, the message and Send
    for index in range(controls.count()):
        assert controls.nth(index).is_disabled()


def test_a_withdrawn_learner_who_sends_is_told_the_chat_is_closed(
    rechecking_server: str, browser: Any
) -> None:
    """Ana withdraws while the chat is open; her next message is refused (4403), not posted,
    and her page stops for good instead of reconnecting."""
    from community.models import ChatMessage
    from courses import services
    from courses.models import Enrollment

    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="es")
    enrollment = enrol(ana, run)
    page, sockets = _open_chat(browser, rechecking_server, ana, run)
    services.withdraw(enrollment=enrollment, actor=ana)
    assert Enrollment.objects.get(pk=enrollment.pk).status == Enrollment.Status.WITHDRAWN
    page.get_by_role("textbox", name="Mensaje").fill("¿Sigo aquí?")
    page.get_by_role("button", name="Enviar").click()
    _assert_closed_for_good(page, sockets, "es")
    assert page.get_by_role("textbox", name="Mensaje").is_disabled()
    assert page.get_by_role("button", name="Enviar").is_disabled()
    assert not ChatMessage.objects.filter(run=run).exists()


def test_a_suspended_officer_is_closed_out_when_someone_joins(
    rechecking_server: str, browser: Any
) -> None:
    """Ana's account is suspended while she reads the chat; Luis joining (a presence frame
    delivered to her socket) is when the consumer notices: her page closes for good, and Luis
    no longer sees her online."""
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="fr")
    luis = UserFactory(full_name="Luis Martínez", preferred_language="es")
    enrol(ana, run)
    enrol(luis, run)
    ana_page, ana_sockets = _open_chat(browser, rechecking_server, ana, run)
    type(ana).objects.filter(pk=ana.pk).update(status=type(ana).Status.SUSPENDED)
    luis_page, _ = _open_chat(browser, rechecking_server, luis, run)
    _assert_closed_for_good(ana_page, ana_sockets, "fr")
    assert ana_page.get_by_role("textbox", name="Message").is_disabled()
    assert ana_page.get_by_role("button", name="Envoyer").is_disabled()
    luis_page.wait_for_function(
        "() => document.getElementById('chat-presence').textContent === 'En línea ahora: Luis Martínez'"
    )


# Keeps the page's sockets and their close codes within reach of the test.
_KEEP_SOCKETS = """
window.__sockets = []; window.__codes = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new Native(url, protocols);
  window.__sockets.push(socket);
  socket.addEventListener("close", (event) => window.__codes.push(event.code));
  return socket;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


def test_a_signed_out_officer_whose_socket_drops_is_refused_and_told_so(
    asgi_live_server: str, browser: Any
) -> None:
    """Ana is signed out (her session ended elsewhere) and her socket drops (a network hiccup);
    chat.js reconnects, the server refuses the socket with 4403, and the page says the chat is
    closed to her instead of reconnecting for ever (a refusal before the socket was accepted
    reached the browser as 1006, which chat.js took for a drop)."""
    from django.contrib.sessions.models import Session
    from django.utils import translation

    from lms.accounts.sessions import SessionStore

    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="es")
    enrol(ana, run)
    page, sockets = _open_chat(browser, asgi_live_server, ana, run, _KEEP_SOCKETS)
    for key in Session.objects.values_list("session_key", flat=True):
        SessionStore(session_key=key).delete()  # from the cache too (cached_db)
    page.evaluate(
        "window.__sockets.filter(s => s.url.includes('/ws/chat/')).forEach(s => s.close())"
    )
    page.wait_for_function(
        "() => document.getElementById('chat-status').textContent"
        " === document.getElementById('chat').dataset.labelClosed",
        timeout=10000,
    )
    page.wait_for_timeout(3000)
    assert len(sockets) == 2  # the one dropped and the one refused, no third
    assert page.evaluate("window.__codes").count(4403) == 1
    with translation.override("es"):
        closed = translation.gettext("This chat is no longer open to you: reload the page.")
    assert page.locator("#chat-status").text_content() == closed
    assert page.get_by_role("textbox", name="Mensaje").is_disabled()


def test_signing_out_in_another_tab_closes_the_chat_at_once(
    asgi_live_server: str, browser: Any
) -> None:
    """Ana reads the chat in one tab and signs out in another (the same browser, the same
    session): the server closes the chat's and the notifications' sockets with 4401 at once,
    and the chat's tab says so in her language and stops, without waiting for a drop or a
    re-check (before, it went on showing Luis's messages to a signed-out browser)."""
    from community.models import ChatMessage

    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="pt")
    luis = UserFactory(full_name="Luis Martínez", preferred_language="es")
    enrol(ana, run)
    enrol(luis, run)
    page, sockets = _open_chat(browser, asgi_live_server, ana, run, _KEEP_SOCKETS)
    luis_page, _ = _open_chat(browser, asgi_live_server, luis, run)
    other_tab = page.context.new_page()
    other_tab.goto(f"{asgi_live_server}/courses/")
    with other_tab.expect_navigation():
        other_tab.get_by_role("button", name="Sair").click()
    page.wait_for_function("() => window.__codes.filter(code => code === 4401).length === 2")
    _assert_closed_for_good(page, sockets, "pt")
    luis_page.get_by_role("textbox", name="Mensaje").fill("¿Alguien?")
    luis_page.get_by_role("button", name="Enviar").click()
    luis_page.wait_for_function(
        "() => document.getElementById('chat-log').textContent.includes('¿Alguien?')"
    )
    page.wait_for_timeout(500)
    assert "¿Alguien?" not in (page.locator("#chat-log").text_content() or "")
    assert ChatMessage.objects.filter(run=run, body="¿Alguien?").exists()
    luis_page.wait_for_function(
        "() => document.getElementById('chat-presence').textContent === 'En línea ahora: Luis Martínez'"
    )
