"""The account page's key for the REST API: created and shown once, replaced, revoked; each person
acts on their own key only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lms.accounts import services
from tests.concurrency import at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/account/api-key/"


def _api(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/enrollments/").status_code


def test_a_key_is_created_shown_once_and_works(client: Client, learner: Any) -> None:
    client.force_login(learner)
    page = client.get("/accounts/account/")
    assert "Create a key" in page.content.decode()
    created = client.post(URL, {"action": "issue"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    key = Token.objects.get(user=learner).key
    assert key in created.content.decode()
    assert _api(key) == 200
    again = client.get("/accounts/account/").content.decode()
    assert key not in again
    assert "Revoke the key" in again


def test_a_new_key_replaces_the_old_one(client: Client, learner: Any) -> None:
    client.force_login(learner)
    client.post(URL, {"action": "issue"})
    old = Token.objects.get(user=learner).key
    client.post(URL, {"action": "issue"})
    new = Token.objects.get(user=learner).key
    assert new != old
    assert _api(old) == 401
    assert _api(new) == 200


def test_revoking_ends_the_key_and_only_ones_own(client: Client, learner: Any) -> None:
    other = UserFactory()
    others = Token.objects.create(user=other).key
    client.force_login(learner)
    client.post(URL, {"action": "issue"})
    key = Token.objects.get(user=learner).key
    response = client.post(URL, {"action": "revoke"}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/account/#api-key"
    assert "Your API key is revoked" in response.content.decode()
    assert not Token.objects.filter(user=learner).exists()
    assert _api(key) == 401
    assert _api(others) == 200


def test_an_unknown_action_is_refused_naming_it_in_the_persons_language(
    client: Client, learner: Any
) -> None:
    learner.preferred_language = "es"
    learner.save()
    client.force_login(learner)
    response = client.post(URL, {"action": "delete-everything"})
    assert response.status_code == 400
    assert "action:" in response.content.decode()
    assert "crear o revocar" in response.content.decode()
    assert not Token.objects.filter(user=learner).exists()


def test_only_a_signed_in_post_acts(client: Client, learner: Any) -> None:
    anonymous = client.post(URL, {"action": "issue"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert not Token.objects.exists()
    client.force_login(learner)
    assert client.get(URL).status_code == 405
    assert not Token.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_keys_asked_at_once_leave_one(require_postgres: None, learner: Any) -> None:
    # a few rounds: unlocked, the second create met the first's key in about one round of three
    for _round in range(6):
        keys, errors = at_once(lambda: services.issue_api_key(user=learner))
        assert errors == []
        assert len(keys) == 2
        remaining = list(Token.objects.filter(user=learner).values_list("key", flat=True))
        assert len(remaining) == 1
        assert remaining[0] in keys
