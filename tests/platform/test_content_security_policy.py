"""Every page is sent with the site's Content-Security-Policy: scripts from the site only, no
inline script, nothing may frame it; uploaded files keep their own sandboxing policy. In Chromium
the policy blocks an inline script and lets the site's own run (the browser tests' fixture also
fails any test whose pages break the policy)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from lms.security import POLICY

pytestmark = pytest.mark.django_db


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_pages_and_api_answers_carry_the_policy(client: Client, learner: Any) -> None:
    client.force_login(learner)
    for url in ("/", "/courses/", "/accounts/account/", "/api/v1/courses/", "/nothing-here/"):
        response = client.get(url)
        assert response["Content-Security-Policy"] == POLICY, url
    directives = _directives(POLICY)
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in POLICY


def test_the_api_documentation_has_no_inline_script(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts
    assert all("src=" in tag for tag in scripts), scripts


@pytest.mark.browser
def test_chromium_blocks_an_inline_script_and_runs_the_sites_own(browser: Any) -> None:
    # a page of its own context, outside the fixture's watch: this test means to break the
    # policy, and checks Chromium's report of it itself
    page = browser.new_page()
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text))
    html = '<!doctype html><title>t</title><script>window.inline = 1</script><script src="/own.js"></script>'
    page.route(
        "http://lms.test/probe",
        lambda route: route.fulfill(
            body=html, content_type="text/html", headers={"Content-Security-Policy": POLICY}
        ),
    )
    page.route(
        "http://lms.test/own.js",
        lambda route: route.fulfill(body="window.own = 1", content_type="text/javascript"),
    )
    page.goto("http://lms.test/probe")
    assert page.evaluate("window.own") == 1
    assert page.evaluate("window.inline") is None
    page.context.close()
    assert any("Content Security Policy" in text for text in seen)
