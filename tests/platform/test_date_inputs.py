"""The browser's date pickers get their value in ISO form in every language (lms.widgets): a
`type="date"` field given "06/12/2026" shows empty, and the form sent back with its default
failed as "required" in Spanish, Portuguese and French."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from accreditation.forms import ApproveForm
from courses.forms import SessionForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["es", "en", "pt", "fr"])
def test_date_and_time_pickers_hold_iso_values_in_every_language(language: str) -> None:
    with translation.override(language):
        approve = str(ApproveForm(initial={"valid_from": dt.date(2026, 12, 6)})["valid_from"])
        session = SessionForm(initial={"starts_at": dt.datetime(2026, 12, 6, 9, 30)})[
            "starts_at"
        ].as_widget()
    assert 'type="date"' in approve
    assert 'value="2026-12-06"' in approve
    assert 'type="datetime-local"' in session
    assert 'value="2026-12-06T09:30"' in session
