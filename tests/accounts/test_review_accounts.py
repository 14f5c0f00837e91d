"""Review round: defects found in the accounts app, each proven by a test."""

from __future__ import annotations

import io
from typing import Any

import pytest

from lms.accounts import services
from lms.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HEADER = "full_name,email,badge_number,unit,language\n"


def run_import(institution: Any, text: str) -> services.ImportResult:
    rows = services.read_officer_file(io.BytesIO(text.encode()), "officers.csv")
    return services.import_officers(institution=institution, rows=rows)


@pytest.mark.parametrize("order", ["badge_row_first", "email_row_first"])
def test_two_lines_matching_one_person_are_an_error_not_a_lost_officer(
    institution: Any, order: str
) -> None:
    """The officer ana@ holds badge B-1; the file gives her B-2 and a new officer B-1. One line
    matches her by email, the other by badge: both would update her and the new officer would
    never be created, with no error and "1 unchanged" reported."""
    UserFactory(email="ana@example.org", institution=institution, badge_number="B-1")
    lines = ["Nuevo Oficial,new@example.org,B-1,,\n", "Ana,ana@example.org,B-2,,\n"]
    if order == "email_row_first":
        lines.reverse()
    result = run_import(institution, HEADER + "".join(lines))
    new_line = 2 if order == "badge_row_first" else 3
    assert [(error.line, error.field) for error in result.errors] == [(new_line, "badge_number")]
    assert not User.objects.filter(email="new@example.org").exists()
    assert User.objects.get(email="ana@example.org").badge_number == "B-1"


def test_a_person_created_with_a_password_is_active_not_invited() -> None:
    with_password = User.objects.create_user("with.password@example.org", "a-long-pass-2026")
    invited = User.objects.create_user("invited@example.org")
    assert with_password.status == User.Status.ACTIVE
    assert invited.status == User.Status.INVITED
    assert (
        User.objects.create_user(
            "suspended@example.org", "a-long-pass-2026", status=User.Status.SUSPENDED
        ).status
        == User.Status.SUSPENDED
    )
