"""Review round 2: defects found in the accounts app, each proven by a test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from lms.accounts.services import invite_person
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_password_reset_is_emailed_from_the_queue_not_during_the_request(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The reset email of an active account was sent over SMTP during the request, while an
    invited address queues its invitation and an unknown one sends nothing: how long the
    request took told whether the address has an account."""
    user = UserFactory(email="ana@example.org", preferred_language="pt")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("accounts:password_reset"), {"email": "Ana@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []
    assert len(queued) == 1
    queued[0]()  # the queued task runs (eagerly in the tests)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert "Abra este link" in message.body
    link = re.search(r"http://testserver(/accounts/password-reset/\S+)", message.body)
    assert link, message.body
    response = client.get(link.group(1), follow=True)
    password = "another-long-password-7"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.parametrize("email", ["ana@example.org", "new@example.org", "nobody@example.org"])
def test_a_password_reset_request_does_the_same_work_whatever_the_address(
    client: Any, institution: Any, django_capture_on_commit_callbacks: Any, email: str
) -> None:
    UserFactory(email="ana@example.org")
    invite_person(email="new@example.org", full_name="New", institution=institution)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("accounts:password_reset"), {"email": email})
    assert response.status_code == 302
    assert mail.outbox == []
    assert len(queued) == 1
    queued[0]()
    assert len(mail.outbox) == (0 if email == "nobody@example.org" else 1)
