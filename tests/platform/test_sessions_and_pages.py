"""The session read that brings the signed-in person along (lms.accounts.sessions), and pages
assembled around parts built in Python (lms.chrome.render_page)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.safestring import mark_safe

from lms import chrome
from lms.accounts.models import User
from lms.accounts.sessions import HINT_COOKIE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def cache_round_trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the reads the default cache (the real one) is asked for."""
    cache, calls = caches["default"], Counter[str]()
    for name in ("get", "get_many"):
        original = getattr(cache, name)

        def counted(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(cache, name, counted)
    return calls


def test_a_signed_in_page_sets_the_hint_and_then_reads_session_and_person_together(
    client: Client, learner: Any, monkeypatch: pytest.MonkeyPatch, require_redis: str
) -> None:
    client.force_login(learner)
    first = client.get(reverse("courses:catalogue"))
    assert first.cookies[HINT_COOKIE].value == str(learner.pk)
    assert first.cookies[HINT_COOKIE]["httponly"]
    client.get(reverse("courses:catalogue"))  # the person and the page body are cached now
    calls = cache_round_trips(monkeypatch)
    response = client.get(reverse("courses:catalogue"))
    assert response.status_code == 200
    assert f">{learner.get_short_name()}</a>" in response.content.decode()
    # one read for session and person; the catalogue body is kept in process memory
    assert calls == Counter(get_many=1)


def test_a_forged_hint_never_signs_in_someone_else(client: Client, learner: Any) -> None:
    other = UserFactory(full_name="Zelda Other")
    client.force_login(other)
    client.get("/")  # other's entry is cached now
    client.logout()
    client.force_login(learner)
    client.cookies[HINT_COOKIE] = str(other.pk)
    response = client.get("/")
    content = response.content.decode()
    assert f">{learner.get_short_name()}</a>" in content
    assert "Zelda" not in content
    assert response.cookies[HINT_COOKIE].value == str(learner.pk)  # corrected
    client.cookies[HINT_COOKIE] = "not-a-number"
    assert client.get("/").status_code == 200


def test_signing_out_drops_the_hint(client: Client, learner: Any) -> None:
    client.force_login(learner)
    client.get("/")
    assert client.cookies[HINT_COOKIE].value == str(learner.pk)
    response = client.post(reverse("accounts:logout"))
    assert response.cookies[HINT_COOKIE].value == ""
    assert response.cookies[HINT_COOKIE]["max-age"] == 0


def test_with_the_hint_a_suspension_still_signs_out_on_the_next_request(
    client: Client, learner: Any
) -> None:
    client.force_login(learner)
    client.get("/")
    assert client.get(reverse("courses:my_learning")).status_code == 200
    learner.status = User.Status.SUSPENDED
    learner.save()
    response = client.get(reverse("courses:my_learning"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_anonymous_visitors_get_no_hint(client: Client) -> None:
    assert HINT_COOKIE not in client.get(reverse("courses:catalogue")).cookies
    assert HINT_COOKIE not in client.get("/healthz").cookies


# render_page ------------------------------------------------------------------------------


def _strip_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", html)


@pytest.mark.parametrize("signed_in", [False, True])
def test_render_page_gives_the_template_s_page(signed_in: bool, learner: Any) -> None:
    chrome.clear()
    factory = RequestFactory()

    def request() -> HttpRequest:
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.cache import SessionStore

        req = factory.get("/courses/", {"q": 'a"<b>'}, HTTP_ACCEPT_LANGUAGE="es")
        req.user = learner if signed_in else AnonymousUser()
        req.session = SessionStore()
        req._messages = FallbackStorage(req)  # type: ignore[attr-defined]
        return req

    parts = {
        "title": 'Título <con> "comillas"',
        "head": mark_safe('<link rel="stylesheet" href="/x.css">'),
        "content": mark_safe("<p>\ue000name\ue000 \ue000csrf\ue000 stays as written</p>"),
        "scripts": "<script>not safe</script>",
    }
    expected: HttpResponse = render(request(), chrome.PAGE_TEMPLATE, parts)
    for _ in range(2):  # the second one comes from the kept shell
        page = chrome.render_page(request(), **parts)
        assert _strip_tokens(page.content.decode()) == _strip_tokens(expected.content.decode())
    html = page.content.decode()
    assert "Título &lt;con&gt; &quot;comillas&quot;" in html
    assert "&lt;script&gt;not safe&lt;/script&gt;" in html
    # markers inside the parts are the parts' own text, never filled in
    assert "<p>\ue000name\ue000 \ue000csrf\ue000 stays as written</p>" in html
    assert html.count("\ue000") == 4
    assert 'value="/courses/?q=a%22%3Cb%3E"' in html


def test_render_page_shows_messages_through_the_template(client: Client, learner: Any) -> None:
    client.force_login(learner)
    saved = client.post(
        reverse("accounts:account"),
        {"full_name": "Ana Saved", "preferred_language": "en"},
    )
    assert saved.status_code == 302  # the message waits for the next page: the catalogue
    content = client.get(reverse("courses:catalogue")).content.decode()
    assert "Your account has been saved." in content
    assert "Ana</a>" in content
    assert "has been saved" not in client.get(reverse("courses:catalogue")).content.decode()
