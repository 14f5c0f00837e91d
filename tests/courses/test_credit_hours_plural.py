"""The course page says "1.0 credit hour" and "2.0 credit hours": the credit hours take the
plural their number needs, printed in the reader's notation as before ("1,5" in French)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.courses.factories import CourseFactory

pytestmark = pytest.mark.django_db


def _course_page(client: Client, hours: str, language: str = "en") -> str:
    course = CourseFactory(credit_hours=Decimal(hours))
    with translation.override(language):
        url = reverse("courses:course", args=[course.code])
        return client.get(url, headers={"accept-language": language}).content.decode()


@pytest.mark.parametrize(
    ("hours", "shown"),
    [
        ("1", "<p>1.0 credit hour"),
        ("2", "<p>2.0 credit hours"),
        ("1.5", "<p>1.5 credit hours"),
        ("0.5", "<p>0.5 credit hours"),
        ("0", "<p>0.0 credit hours"),
    ],
)
def test_credit_hours_take_the_plural_of_their_number(
    client: Client, hours: str, shown: str
) -> None:
    page = _course_page(client, hours)
    assert shown in page
    if shown.endswith("hour"):
        assert shown + "s" not in page


def test_credit_hours_keep_the_readers_decimal_comma(client: Client) -> None:
    page = _course_page(client, "1.5", language="fr")
    assert "<p>1,5 " in page
    assert "1.5" not in page
