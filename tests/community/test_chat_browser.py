"""Two officers chatting live in Chromium, through Daphne and the Redis channel layer."""

from __future__ import annotations

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
            "document.getElementById('chat-presence').textContent.includes('Ana Souza')"
        )
        pages.append(page)
    ana_page, luis_page = pages
    luis_page.wait_for_function(
        "document.getElementById('chat-presence').textContent.includes('Luis Martínez')"
    )
    ana_page.wait_for_function(
        "document.getElementById('chat-presence').textContent.includes('Luis Martínez')"
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
