"""The demo donor funds the demo program, so that their dashboard (programs they fund) shows
its enrolments instead of nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_the_demo_donors_dashboard_shows_the_program_they_fund() -> None:
    from courses.models import Program
    from lms.accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    program = Program.objects.get(code="police-management")
    assert list(program.donors.values_list("name", flat=True)) == ["Fund for Citizen Security"]
    client = Client()
    client.force_login(User.objects.get(email="donor@demo.lms"))
    with translation.override("en"):
        page = client.get("/dashboards/")
    assert page.status_code == 200
    assert "Nothing recorded yet" not in page.text


def test_an_officers_page_lists_their_program_certificate_too(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The demo learner holds a course certificate and the program's: the officer page listed
    only the first (a program certificate belongs to no one enrolment), the dashboard counted
    both."""
    from certification.models import Certificate
    from lms.accounts.models import User

    with django_capture_on_commit_callbacks(execute=True):  # the program certificate's task
        call_command("seed_demo", stdout=io.StringIO())
    learner = User.objects.get(email="learner@demo.lms")
    held = set(Certificate.objects.filter(user=learner).values_list("code", "kind"))
    assert {kind for _code, kind in held} == {"course", "program"}
    client = Client()
    client.force_login(User.objects.get(email="dps@demo.lms"))
    with translation.override("en"):
        page = client.get(f"/dashboards/officers/{learner.pk}/")
    assert page.status_code == 200
    for code, _kind in held:
        assert code in page.text
