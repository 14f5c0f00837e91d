"""The base layout: landmarks, skip link, language switcher and role-aware navigation."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_home_has_landmarks_a_skip_link_and_a_labelled_switcher(client: Any) -> None:
    content = client.get("/").content.decode()
    for fragment in (
        '<html lang="en">',
        'class="skip-link" href="#main"',
        'role="banner"',
        '<nav aria-label="Main navigation"',
        '<main id="main"',
        'role="contentinfo"',
        '<label for="lang-select"',
        "/verify/",
    ):
        assert fragment in content, fragment
    assert "notifications.js" not in content  # no script for anonymous visitors


def test_home_of_a_coordinator_links_the_import(client: Any, coordinator: Any) -> None:
    client.force_login(coordinator)
    content = client.get("/").content.decode()
    assert content.count('href="/accounts/import/"') == 2  # navigation and card
    assert 'href="/admin/"' not in content


def test_dps_staff_see_the_administration_link(client: Any, dps_admin: Any) -> None:
    client.force_login(dps_admin)
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_not_found_page_in_the_browsers_language(client: Any) -> None:
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert "La página que solicitó no existe." in response.content.decode()


def test_forbidden_page_is_explained(client: Any, learner: Any) -> None:
    client.force_login(learner)
    response = client.get("/accounts/import/")
    assert response.status_code == 403
    assert "Your role does not give you access to this page." in response.content.decode()


def test_static_files_are_served_by_the_app(client: Any) -> None:
    response = client.get("/static/lms/lms.css")
    assert response.status_code == 200
    assert b"focus-visible" in b"".join(response.streaming_content)
