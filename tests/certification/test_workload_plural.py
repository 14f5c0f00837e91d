"""The certificate's workload says "1.0 hour" and "2.0 hours": the HTML the PDF is laid out from
gives the accredited hours the plural their number needs, in the certificate's number notation as
before ("1,5" in French)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from certification.rendering import Face, Sheet, certificate_html


def _workload(hours: str, language: str = "en") -> str:
    sheet = Sheet(
        faces=[Face(language=language, title="Human rights in policing")],
        kind="course",
        credit_hours=Decimal(hours),
        issued_on=date(2026, 3, 2),
        expires_on=None,
        issuing_institution="National Police Academy",
        university_name="University of the Police Network",
        accreditation={"credit_hours": Decimal(hours), "reference": "URPI-2026-00042"},
    )
    html = certificate_html(sheet, holder=None)
    with translation.override(language):
        label = escape(gettext("Workload"))
    found = re.search(rf"<th>{re.escape(label)}</th><td>([^<]*)</td>", html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("hours", "shown"),
    [("1", "1.0 hour"), ("2", "2.0 hours"), ("1.5", "1.5 hours"), ("0.5", "0.5 hours")],
)
def test_the_workload_takes_the_plural_of_its_hours(hours: str, shown: str) -> None:
    assert _workload(hours) == shown


def test_the_workload_keeps_the_certificates_decimal_comma() -> None:
    assert _workload("1.5", language="fr").startswith("1,5 ")
