"""The demo data gives the demo coordinator requests to decide: two cadets have asked for a seat
in the on-site run; the roster shows them with Approve and Reject; a decision stays made however
often the demo is loaded again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from courses.demo import REQUESTS
from courses.models import Enrollment

pytestmark = pytest.mark.django_db


def test_the_demo_coordinator_has_requests_to_decide() -> None:
    from lms.accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    emails = [email for email, _name in REQUESTS]
    pending = Enrollment.objects.filter(user__email__in=emails, status=Enrollment.Status.PENDING)
    assert sorted(pending.values_list("run__code", flat=True)) == ["human-rights-bogota"] * 2
    assert not any(User.objects.get(email=email).has_usable_password() for email in emails)
    client = Client()
    client.force_login(User.objects.get(email="coordinator@demo.lms"))
    roster = "/courses/runs/human-rights-bogota/roster/"
    # the coordinator reads Spanish: the middleware activates it, for this test only
    with translation.override("en"):
        page = client.get(roster)
        assert page.status_code == 200
        assert page.content.count(b'value="approve"') == 2
        assert "2 solicitudes pendientes de aprobación" in page.content.decode()  # reads Spanish
        first = pending.order_by("pk").first()
        assert first is not None
        decided = client.post(
            f"/courses/runs/human-rights-bogota/enrolments/{first.pk}/decide/",
            {"decision": "reject"},
        )
        assert decided.status_code == 302
    call_command("seed_demo", stdout=io.StringIO())
    first.refresh_from_db()
    assert first.status == Enrollment.Status.REJECTED
    assert pending.count() == 1


def test_the_demo_runs_counters_agree_with_their_enrolments() -> None:
    """Every demo run's enrolled, waiting and completed counters are what its enrolments say
    (the certified past run's showed 0 beside a completed officer), however often it loads."""
    from django.db.models import Count, Q

    from courses.models import CourseRun

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    runs = CourseRun.objects.annotate(
        seated=Count("enrollments", filter=Q(enrollments__status__in=["active", "completed"])),
        waiting=Count("enrollments", filter=Q(enrollments__status="waitlisted")),
        done=Count("enrollments", filter=Q(enrollments__status="completed")),
    )
    assert runs.filter(code="demo-certified-past-run").exists()
    for run in runs:
        assert (run.active_count, run.waitlist_count, run.completed_count) == (
            run.seated,
            run.waiting,
            run.done,
        ), run.code
