"""A signed-out visitor cannot learn from the sign-in page which email addresses have accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from lms.accounts import backends
from lms.accounts.models import User
from lms.accounts.services import invite_person
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
EMAILS = (
    "invited@example.org",
    "nobody@example.org",
    "known@example.org",
    "admin.made@example.org",
)


@pytest.fixture(autouse=True)
def _no_counted_failures() -> Iterator[None]:
    """Failures are counted in the cache, which outlives a test's database transaction."""
    for email in EMAILS:
        backends.clear_failures(email)
    yield
    for email in EMAILS:
        backends.clear_failures(email)


def sign_in(client: Any, email: str, password: str) -> str:
    return str(client.post(LOGIN, {"username": email, "password": password}).content.decode())


def errors_of(page: str) -> str:
    """The form's error text, without the page around it (the CSRF token differs each time)."""
    found = re.findall(r'role="alert"[^>]*>(.*?)</', page, flags=re.S)
    return " ".join(found) or page[page.find("<form") : page.find("</form>")]


def test_an_invited_account_with_a_wrong_password_looks_like_no_account(
    client: Any, institution: Any
) -> None:
    invite_person(email="invited@example.org", full_name="Invited", institution=institution)
    invited = sign_in(client, "invited@example.org", "anything-at-all")
    nobody = sign_in(client, "nobody@example.org", "anything-at-all")
    assert "not activated" not in invited
    assert "The email address or the password is not right." in invited
    assert errors_of(invited) == errors_of(nobody)


def test_an_invited_person_who_types_their_right_password_is_told_to_activate(
    client: Any,
) -> None:
    """An account added with a password but not activated (the admin's add form does this)."""
    UserFactory(email="admin.made@example.org", status=User.Status.INVITED)
    page = sign_in(client, "admin.made@example.org", TEST_PASSWORD)
    assert "not activated yet" in page
    assert "_auth_user_id" not in client.session


def test_the_sign_in_page_tells_everyone_how_to_activate(client: Any) -> None:
    page = client.get(LOGIN).content.decode()
    assert "invitation email" in page


@override_settings(LOCKOUT_THRESHOLD=3, LOCKOUT_MINUTES=15)
def test_an_unknown_email_locks_like_a_known_one(client: Any) -> None:
    UserFactory(email="known@example.org")
    pages: dict[str, list[str]] = {}
    for email in ("known@example.org", "nobody@example.org"):
        pages[email] = [errors_of(sign_in(client, email, "bad-password")) for _ in range(4)]
    known, nobody = pages["known@example.org"], pages["nobody@example.org"]
    assert all("not right" in page for page in known[:2] + nobody[:2])
    assert all("This account is locked" in page for page in known[2:] + nobody[2:])
    assert [re.sub(r"\d", "0", p) for p in known] == [re.sub(r"\d", "0", p) for p in nobody]
    # the right password does not open a locked account
    assert "locked" in sign_in(client, "known@example.org", TEST_PASSWORD)
    assert "_auth_user_id" not in client.session


@override_settings(LOCKOUT_THRESHOLD=2)
def test_failures_count_per_normalised_email(client: Any) -> None:
    sign_in(client, "Nobody@Example.org", "bad")
    assert "This account is locked" in sign_in(client, " nobody@example.ORG ", "bad")


@override_settings(LOCKOUT_THRESHOLD=3)
def test_a_right_password_clears_the_count(client: Any) -> None:
    UserFactory(email="known@example.org")
    for _ in range(2):
        sign_in(client, "known@example.org", "bad")
    sign_in(client, "known@example.org", TEST_PASSWORD)
    assert "_auth_user_id" in client.session
    client.logout()
    for _ in range(2):
        assert "not right" in sign_in(client, "known@example.org", "bad")


def test_counters_are_kept_under_a_hash_of_the_email(client: Any) -> None:
    sign_in(client, "nobody@example.org", "bad")
    key = backends.failure_key("nobody@example.org")
    assert "nobody" not in key
    assert "example" not in key
    assert cache.get(key) == 1
    assert backends.failure_key(" NOBODY@example.org") == key
