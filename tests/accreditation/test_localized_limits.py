"""The approval's credit hours are refused below 0.5 with the limit written as the reader writes
numbers: "0,5" in French, Spanish and Portuguese, where Django's own message printed "0.5"."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from accreditation.forms import ApproveForm
from accreditation.models import AccreditationRequest
from tests.accreditation.conftest import client_for

DECISION = {"ects_hours_per_credit": "25", "valid_from": "2026-01-01", "validity_years": "3"}


@pytest.mark.parametrize(
    ("language", "limit"), [("fr", "0,5"), ("es", "0,5"), ("pt", "0,5"), ("en", "0.5")]
)
def test_the_minimum_credit_hours_read_in_the_readers_notation(language: str, limit: str) -> None:
    with translation.override(language):
        form = ApproveForm(data={"credit_hours": "0.2", **DECISION})
        assert not form.is_valid()
        (error,) = form.errors["credit_hours"]
        assert error.endswith(f" {limit}.")


def test_the_french_message_names_0_5_with_a_comma() -> None:
    with translation.override("fr"):
        form = ApproveForm(data={"credit_hours": "0.2", **DECISION})
        assert list(form.errors["credit_hours"]) == [
            "Assurez-vous que cette valeur est supérieure ou égale à 0,5."
        ]


@pytest.mark.django_db
def test_the_approval_page_refuses_with_the_french_limit(
    submitted: AccreditationRequest, validator: Any
) -> None:
    validator.preferred_language = "fr"
    validator.save(update_fields=["preferred_language"])
    with translation.override("fr"):
        response = client_for(validator).post(
            reverse("accreditation:act", args=[submitted.pk, "approve"]),
            {"credit_hours": "0.2", **DECISION},
        )
    assert response.status_code == 400
    page = response.content.decode()
    error = page[page.index('<div id="id_credit_hours_error">') :].split("</div>")[0]
    assert "supérieure ou égale à 0,5." in error
    assert 'min="0.5"' in page  # the browser's attribute keeps its point
    submitted.refresh_from_db()
    assert submitted.status == AccreditationRequest.Status.SUBMITTED
