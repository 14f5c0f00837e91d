"""Sign in and out, lock-out, invitation and activation, password reset, account page, admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from lms.accounts.backends import clear_failures
from lms.accounts.models import User
from lms.accounts.services import invite_person
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _no_counted_failures() -> Iterator[None]:
    """Failed sign-ins are counted in the cache, which outlives a test's transaction."""
    for email in ("ana@example.org", "new@example.org"):
        clear_failures(email)
    yield
    for email in ("ana@example.org", "new@example.org"):
        clear_failures(email)


def sign_in(client: Any, email: str, password: str) -> Any:
    return client.post(LOGIN, {"username": email, "password": password})


def test_sign_in_with_email_in_any_case_and_sign_out(client: Any) -> None:
    user = UserFactory(email="ana@example.org")
    response = sign_in(client, "ANA@Example.org", TEST_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused_with_a_message(client: Any) -> None:
    UserFactory(email="ana@example.org")
    response = sign_in(client, "ana@example.org", "wrong-password")
    assert response.status_code == 200
    assert "The email address or the password is not right." in response.content.decode()


@override_settings(LOCKOUT_THRESHOLD=3, LOCKOUT_MINUTES=15)
def test_account_locks_after_repeated_failures_even_with_the_right_password(client: Any) -> None:
    user = UserFactory(email="ana@example.org")
    for _attempt in range(2):
        assert "not right" in sign_in(client, user.email, "bad-password").content.decode()
    response = sign_in(client, user.email, "bad-password")
    assert "This account is locked after too many failed sign-ins" in response.content.decode()
    response = sign_in(client, user.email, TEST_PASSWORD)
    assert "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.locked_until is not None


def test_lock_out_message_in_spanish(client: Any) -> None:
    user = UserFactory(email="ana@example.org")
    with override_settings(LOCKOUT_THRESHOLD=1):
        response = client.post(
            LOGIN,
            {"username": user.email, "password": "bad"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert "Esta cuenta está bloqueada" in response.content.decode()


def test_suspended_person_cannot_sign_in(client: Any) -> None:
    user = UserFactory(status=User.Status.SUSPENDED)
    sign_in(client, user.email, TEST_PASSWORD)
    assert "_auth_user_id" not in client.session


def test_invited_person_without_a_password_gets_the_generic_message(
    client: Any, institution: Any
) -> None:
    """Telling them "not activated" for any password told strangers the address is invited;
    the sign-in page says to everyone how to activate (tests/accounts/test_signin_probing.py)."""
    invite_person(email="new@example.org", full_name="New Officer", institution=institution)
    response = sign_in(client, "new@example.org", "anything-at-all")
    assert "not activated yet" not in response.content.decode()
    assert "The email address or the password is not right." in response.content.decode()


def _link_from(message: Any) -> str:
    match = re.search(r"http://[^/\s]+(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_invitation_link_activates_once_and_signs_in(
    client: Any, institution: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user = invite_person(
            email="new@example.org",
            full_name="Nueva Oficial",
            institution=institution,
            preferred_language="es",
        )
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.org"]
    assert "Nueva Oficial" in message.body
    assert "Abra este enlace" in message.body  # written in the person's language
    link = _link_from(message)
    page = client.get(link)
    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()
    password = "a-long-new-password-42"
    response = client.post(link, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.status == User.Status.ACTIVE
    assert user.activated_at is not None
    assert user.check_password(password)
    assert client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    assert client.get(link).status_code == 400  # one time only


def test_activation_with_a_forged_token_is_refused(client: Any, institution: Any) -> None:
    user = invite_person(email="new@example.org", full_name="New", institution=institution)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    assert client.get(reverse("accounts:activate", args=[uid, "forged-token"])).status_code == 400
    assert client.get(reverse("accounts:activate", args=["zz", "x-y"])).status_code == 400


def test_activation_refuses_a_weak_password(client: Any, institution: Any) -> None:
    user = invite_person(email="new@example.org", full_name="New", institution=institution)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("accounts:activate", args=[uid, default_token_generator.make_token(user)])
    response = client.post(link, {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.status == User.Status.INVITED


def test_password_reset_by_email_link(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    user = UserFactory(email="ana@example.org", preferred_language="pt")
    # the email is queued once the request's transaction commits (the same work whatever the
    # address: tests/accounts/test_review_accounts2.py)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "Ana@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "Abra este link" in mail.outbox[0].body
    link = _link_from(mail.outbox[0])
    response = client.get(link, follow=True)
    password = "another-long-password-7"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(password)


def test_password_reset_for_unknown_address_sends_nothing_and_says_the_same(client: Any) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_for_an_invited_person_resends_the_invitation(
    client: Any, institution: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invite_person(email="new@example.org", full_name="New", institution=institution)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": "new@example.org"})
    assert len(mail.outbox) == 1
    assert "/accounts/activate/" in mail.outbox[0].body


def test_account_page_changes_name_and_language(client: Any) -> None:
    user = UserFactory(preferred_language="en")
    client.force_login(user)
    response = client.post(
        reverse("accounts:account"), {"full_name": "Ana Souza", "preferred_language": "pt"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.preferred_language) == ("Ana Souza", "pt")
    page = client.get(reverse("accounts:account")).content.decode()
    assert 'lang="pt"' in page
    assert "Sua conta" in page


def test_account_page_rejects_a_blank_name(client: Any) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:account"), {"full_name": "", "preferred_language": "en"}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_password_change_needs_the_old_password(client: Any) -> None:
    user = UserFactory()
    client.force_login(user)
    url = reverse("accounts:password_change")
    new = "brand-new-password-31"
    response = client.post(
        url, {"old_password": "wrong", "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 200
    response = client.post(
        url, {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_dps_staff_use_the_admin_and_others_do_not(
    client: Any, dps_admin: Any, coordinator: Any
) -> None:
    client.force_login(dps_admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/accounts/institution/add/").status_code == 200
    client.force_login(coordinator)
    assert client.get("/admin/").status_code == 302
    coordinator.is_staff = True
    coordinator.save()
    client.force_login(coordinator)
    assert client.get("/admin/accounts/user/").status_code == 403


def test_dps_staff_add_a_person_in_the_admin(client: Any, dps_admin: Any) -> None:
    client.force_login(dps_admin)
    assert client.get("/admin/accounts/user/add/").status_code == 200
    password = "long-enough-pass-77"
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Person@Example.org",
            "full_name": "New Person",
            "password1": password,
            "password2": password,
            "usable_password": "true",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="new.person@example.org").check_password(password)
