"""Second QA round on the network's pages: attachment types, long unbroken text, and the chat's
"online now" line as one translatable sentence."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from community import services
from community.models import ChatMessage, Forum, PostAttachment, Thread
from tests.community.factories import RunFactory, enrol
from tests.conftest import login_cookie
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# 4. Attachment types --------------------------------------------------------------------------


def test_an_executable_attachment_is_refused_naming_the_file(
    client: Any, learner: Any, topic: Forum, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(learner)
    upload = SimpleUploadedFile("evil.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    response = client.post(
        f"/community/forums/{topic.slug}/",
        {"title": "Tool", "text": "Run this", "attachment": upload},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_attachment_error"' in page
    assert "“evil.exe” cannot be attached" in page
    assert not Thread.objects.filter(title="Tool").exists()
    assert not PostAttachment.objects.exists()


def test_a_reply_with_a_page_attached_is_refused_and_a_picture_accepted(
    client: Any, learner: Any, topic: Forum, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    thread = services.start_thread(forum=topic, author=learner, title="Maps", text="Share them")
    client.force_login(learner)
    page = SimpleUploadedFile("map.html", b"<script>alert(1)</script>", content_type="text/html")
    refused = client.post(f"/community/threads/{thread.pk}/", {"text": "Map", "attachment": page})
    assert refused.status_code == 400
    assert 'id="id_attachment_error"' in refused.content.decode()
    picture = SimpleUploadedFile("map.PNG", b"\x89PNG\r\n", content_type="image/png")
    accepted = client.post(
        f"/community/threads/{thread.pk}/", {"text": "Map", "attachment": picture}
    )
    assert accepted.status_code == 302
    assert list(PostAttachment.objects.values_list("name", flat=True)) == ["map.PNG"]


def test_the_attachment_field_offers_only_the_accepted_types(
    client: Any, learner: Any, topic: Forum
) -> None:
    client.force_login(learner)
    page = client.get(f"/community/forums/{topic.slug}/").content.decode()
    assert 'accept=".csv,.docx,' in page
    assert ".exe" not in page


# 5. Long unbroken text wraps ------------------------------------------------------------------

WIDTH = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.mark.browser
@pytest.mark.services
def test_long_unbroken_text_does_not_widen_the_page(asgi_live_server: str, browser: Any) -> None:
    run = RunFactory()
    ana = UserFactory(full_name="Ana Souza", preferred_language="pt")
    enrol(ana, run)
    ChatMessage.objects.create(run=run, author=ana, body="a" * 2000)
    thread = services.start_thread(
        forum=Forum.objects.create(
            kind=Forum.Kind.TOPIC, slug="long-words", title={"en": "Long words"}
        ),
        author=ana,
        title="Protocol",
        text="b" * 3000,
    )
    PostAttachment.objects.create(
        post=thread.posts.get(), file="community/attachments/x.pdf", name="c" * 196 + ".pdf"
    )
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    context.add_cookies([login_cookie(ana, asgi_live_server)])
    page = context.new_page()
    page.goto(f"{asgi_live_server}/community/runs/{run.pk}/chat/")
    page.wait_for_function(
        "() => document.getElementById('chat-presence').textContent.includes('Ana Souza')"
    )
    page.get_by_role("textbox", name="Mensagem").fill("d" * 2000)
    page.keyboard.press("Enter")
    page.locator("#chat-log li", has_text="d" * 50).wait_for(timeout=10000)
    assert page.evaluate(WIDTH), page.evaluate("document.documentElement.scrollWidth")
    page.goto(f"{asgi_live_server}/community/threads/{thread.pk}/")
    assert page.evaluate(WIDTH), page.evaluate("document.documentElement.scrollWidth")
    context.close()


# 6. "Online now" as one sentence --------------------------------------------------------------


def test_the_chat_page_hands_the_whole_online_sentence_to_its_script(
    client: Any, learner: Any
) -> None:
    run = RunFactory()
    enrol(learner, run)
    learner.preferred_language = "fr"
    learner.save(update_fields=["preferred_language"])
    client.force_login(learner)
    page = client.get(f"/community/runs/{run.pk}/chat/").content.decode()
    assert 'data-label-online="En ligne maintenant : %(names)s"' in page
