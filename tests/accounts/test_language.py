"""Language selection: the person's preference, then the browser; the switcher saves it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from lms.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def test_anonymous_visitor_gets_the_browsers_language(client: Any) -> None:
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9,en;q=0.5")
    content = page.content.decode()
    assert page["Content-Language"] == "pt"
    assert '<html lang="pt">' in content
    assert "Esqueceu sua senha?" in content


def test_preference_beats_the_browser(client: Any) -> None:
    user = UserFactory(preferred_language="es")
    client.force_login(user)
    page = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="fr")
    content = page.content.decode()
    assert '<html lang="es">' in content
    assert "Su cuenta" in content
    assert "Notificaciones" in content


def test_switcher_saves_the_preference_of_a_signed_in_person(client: Any) -> None:
    user = UserFactory(preferred_language="en")
    client.force_login(user)
    response = client.post(
        reverse("accounts:set_language"), {"language": "pt", "next": "/accounts/account/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/account/"
    assert User.objects.get(pk=user.pk).preferred_language == "pt"
    assert "Sua conta" in client.get("/accounts/account/").content.decode()


def test_switcher_sets_a_cookie_for_an_anonymous_visitor(client: Any) -> None:
    client.post(reverse("accounts:set_language"), {"language": "es", "next": LOGIN})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert "¿Olvidó su contraseña?" in client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_switcher_ignores_unknown_languages_and_foreign_redirects(client: Any) -> None:
    user = UserFactory(preferred_language="fr")
    client.force_login(user)
    response = client.post(
        reverse("accounts:set_language"), {"language": "de", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert User.objects.get(pk=user.pk).preferred_language == "fr"


def test_french_page_and_localised_dates(client: Any) -> None:
    user = UserFactory(preferred_language="fr")
    from lms.accounts.models import Notification
    from lms.accounts.notifications import notify

    notify(recipients=[user], subject="Objet", body="")
    Notification.objects.filter(user=user).update(
        created_at=datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    )
    client.force_login(user)
    content = client.get(reverse("accounts:notifications")).content.decode()
    assert '<html lang="fr">' in content
    assert "Tout marquer comme lu" in content
    assert "5 mars 2026" in content


def test_navigation_is_role_aware(client: Any, coordinator: Any, learner: Any) -> None:
    client.force_login(coordinator)
    assert reverse("accounts:import_officers") in client.get("/accounts/account/").content.decode()
    client.force_login(learner)
    assert (
        reverse("accounts:import_officers") not in client.get("/accounts/account/").content.decode()
    )


def test_the_dashboards_link_is_shown_only_to_those_the_dashboards_admit(
    client: Any, learner: Any, coordinator: Any, validator: Any, instructor: Any
) -> None:
    from tests.factories import DonorFactory, RoleAssignmentFactory, UserFactory

    donor = UserFactory()
    RoleAssignmentFactory(user=donor, role="donor", donor=DonorFactory())
    link = f'href="{reverse("dashboards:home")}"'
    for person in (coordinator, validator, instructor, donor):
        client.force_login(person)
        assert link in client.get(reverse("courses:catalogue")).content.decode(), person
    client.force_login(learner)
    assert link not in client.get(reverse("courses:catalogue")).content.decode()
    assert client.get(reverse("dashboards:home")).status_code == 403
