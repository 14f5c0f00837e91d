"""The notification service: stored, emailed and listed in each recipient's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from lms.accounts.models import Notification
from lms.accounts.notifications import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# A string of Django's own catalogue, so the test does not depend on ours.
SUBJECT = _("This field is required.")


def test_notify_stores_and_emails_in_each_recipients_language(
    django_capture_on_commit_callbacks: Any,
) -> None:
    spanish = UserFactory(preferred_language="es")
    english = UserFactory(preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[spanish, english],
            subject=SUBJECT,
            body=_("Welcome, %(name)s."),
            params={"name": "Ana"},
            url="/accounts/account/",
        )
    by_user = {n.user_id: n for n in Notification.objects.all()}
    assert by_user[english.pk].subject == "This field is required."
    assert by_user[spanish.pk].subject == "Este campo es requerido."
    assert by_user[english.pk].read_at is None
    assert len(mail.outbox) == 2
    sent = {message.to[0]: message for message in mail.outbox}
    assert sent[spanish.email].subject == "Este campo es requerido."
    assert "/accounts/account/" in sent[english.email].body


def test_notify_sends_nothing_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(recipients=[user], subject=SUBJECT, body="")
    # the emails and live pushes wait for the commit (besides the principal-cache forget)
    assert [callback.__name__ for callback in callbacks].count("after_commit") == 1
    assert mail.outbox == []


def test_notifications_page_lists_only_own_and_marks_read(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    user = UserFactory()
    other = UserFactory()
    notify(recipients=[user], subject="Mine %(n)s", body="b", params={"n": 1})
    notify(recipients=[other], subject="Someone else's", body="b")
    for number in range(25):
        notify(recipients=[user], subject=f"Batch {number}", body="")
    client.force_login(user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("accounts:notifications"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Someone else" not in content
    assert "Page 1 of 2" in content
    mine = Notification.objects.get(subject="Mine 1")
    response = client.post(reverse("accounts:notification_read", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    theirs = Notification.objects.get(user=other)
    response = client.post(reverse("accounts:notification_read", args=[theirs.pk]))
    assert response.status_code == 404
    client.post(reverse("accounts:notifications_read_all"))
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other, read_at__isnull=True).exists()


def test_header_shows_unread_count(client: Any) -> None:
    user = UserFactory()
    notify(recipients=[user], subject="One", body="")
    notify(recipients=[user], subject="Two", body="")
    client.force_login(user)
    content = client.get(reverse("accounts:account")).content.decode()
    assert 'id="notification-count"' in content
    assert ">2<" in content.replace('<span class="visually-hidden">: </span>', ">").split(
        'id="notification-count"'
    )[1][:200].replace(" ", "")


def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    response = client.get(reverse("accounts:notifications"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


ACCREDITED = _("Reference %(reference)s, %(hours)s credit hours, valid until %(until)s.")


def test_the_site_shows_a_notification_in_the_language_its_reader_reads_now(client: Any) -> None:
    """Sent while the person read Spanish (so emailed in Spanish), shown in English once they
    switched; numbers and dates written as each language writes them."""
    import datetime
    from decimal import Decimal

    person = UserFactory(preferred_language="es")
    notify(
        recipients=[person],
        subject=SUBJECT,
        body=ACCREDITED,
        params={
            "reference": "URPI-2026-00001",
            "hours": Decimal("12.0"),
            "until": datetime.date(2029, 11, 5),
        },
    )
    stored = Notification.objects.get(user=person)
    assert stored.subject == "Este campo es requerido."
    assert stored.body == (
        "Referencia URPI-2026-00001, 12 horas crédito, válida hasta 5 de noviembre de 2029."
    )
    client.force_login(person)
    spanish = client.get(reverse("accounts:notifications")).content.decode()
    assert "válida hasta 5 de noviembre de 2029" in spanish

    person.preferred_language = "en"
    person.save(update_fields=["preferred_language"])
    english = client.get(reverse("accounts:notifications")).content.decode()
    assert "This field is required." in english
    assert "Reference URPI-2026-00001, 12 credit hours, valid until Nov. 5, 2029." in english
    assert "Referencia" not in english
    person.preferred_language = "fr"
    person.save(update_fields=["preferred_language"])
    notify(
        recipients=[person],
        subject="x",
        body=ACCREDITED,
        params={"reference": "R", "hours": Decimal("12.50"), "until": datetime.date(2029, 1, 2)},
    )
    french = client.get(reverse("accounts:notifications")).content.decode()
    assert "12,5" in french
    assert "2 janvier 2029" in french


def test_a_notification_whose_source_no_longer_fits_shows_the_text_as_sent(client: Any) -> None:
    person = UserFactory(preferred_language="en")
    notify(recipients=[person], subject="Welcome, %(name)s.", body="", params={"name": "Ana"})
    stored = Notification.objects.get(user=person)
    assert stored.shown_subject() == "Welcome, Ana."
    stored.message["subject"] = "Welcome, %(person)s."  # a parameter renamed by a later release
    stored.save(update_fields=["message"])
    stored.refresh_from_db()
    assert stored.shown_subject() == "Welcome, Ana."
    stored.message["params"] = {}
    stored.save(update_fields=["message"])
    stored.refresh_from_db()
    assert stored.shown_subject() == "Welcome, Ana."
    # notifications stored before sources were kept have none: shown as sent
    Notification.objects.filter(pk=stored.pk).update(message={})
    stored.refresh_from_db()
    assert stored.shown_subject() == "Welcome, Ana."


@pytest.mark.parametrize(
    ("url", "followed"),
    [
        ("/accounts/account/", True),
        ("//elsewhere.example/phish", False),
        ("/\\elsewhere.example/phish", False),
        ("https://elsewhere.example/", False),
    ],
)
def test_following_a_notification_goes_only_to_a_page_of_this_site(
    client: Any, url: str, followed: bool
) -> None:
    user = UserFactory()
    notify(recipients=[user], subject="One", body="", url=url)
    client.force_login(user)
    notification = Notification.objects.get(user=user)
    response = client.post(
        reverse("accounts:notification_read", args=[notification.pk]), {"follow": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == (url if followed else reverse("accounts:notifications"))
