"""The roster's Approve and Reject buttons: a coordinator decides the pending requests of an
on-site run of their institution; nobody else can; a decision missing or unknown is refused in
the reader's language and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import CourseRun, Enrollment
from tests.courses.factories import RunFactory, assign_instructor
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(institution: Any) -> CourseRun:
    return RunFactory(mode=CourseRun.Mode.ONSITE, requires_approval=True, capacity=1,
                      host_institution=institution)  # fmt: skip


def _request(run: CourseRun, institution: Any, name: str = "Ana Quispe") -> Enrollment:
    officer = UserFactory(institution=institution, full_name=name)
    enrollment = services.enrol(user=officer, run=run, actor=officer)
    assert enrollment.status == Enrollment.Status.PENDING
    return enrollment


def _decide(client: Client, enrollment: Enrollment, decision: str | None, **extra: Any) -> Any:
    url = reverse("courses:decide_enrolment", args=[enrollment.run.code, enrollment.pk])
    data = {} if decision is None else {"decision": decision}
    return client.post(url, data, **extra)


def _status(enrollment: Enrollment) -> str:
    enrollment.refresh_from_db()
    return enrollment.status


def test_the_coordinator_approves_then_the_full_run_waitlists(
    client: Client, coordinator: Any, institution: Any, run: CourseRun
) -> None:
    first, second = _request(run, institution), _request(run, institution, "Luis Pérez")
    client.force_login(coordinator)
    response = _decide(client, first, "approve", follow=True)
    assert response.status_code == 200
    assert _status(first) == Enrollment.Status.ACTIVE
    assert "The request of Ana Quispe is approved: Enrolled." in response.content.decode()
    # One seat: the second approval goes to the waiting list, and says so.
    response = _decide(client, second, "approve", follow=True)
    assert _status(second) == Enrollment.Status.WAITLISTED
    assert (
        "The request of Luis Pérez is approved: On the waiting list." in response.content.decode()
    )
    run.refresh_from_db()
    assert (run.active_count, run.waitlist_count) == (1, 1)


def test_the_coordinator_rejects_and_a_second_decision_changes_nothing(
    client: Client, coordinator: Any, institution: Any, run: CourseRun
) -> None:
    enrollment = _request(run, institution)
    client.force_login(coordinator)
    response = _decide(client, enrollment, "reject")
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:roster", args=[run.code])
    assert _status(enrollment) == Enrollment.Status.REJECTED
    response = _decide(client, enrollment, "approve", follow=True)
    assert _status(enrollment) == Enrollment.Status.REJECTED
    assert "was already decided" in response.content.decode()
    assert list(enrollment.events.values_list("to_status", flat=True)) == ["pending", "rejected"]


@pytest.mark.parametrize("decision", [None, "", "maybe"])
def test_a_missing_or_unknown_decision_is_refused_naming_the_field(
    client: Client, coordinator: Any, institution: Any, run: CourseRun, decision: str | None
) -> None:
    enrollment = _request(run, institution)
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    client.force_login(coordinator)
    response = _decide(client, enrollment, decision, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert "Decisión: elija Aprobar o Rechazar." in response.content.decode()
    assert _status(enrollment) == Enrollment.Status.PENDING


def test_only_those_who_manage_the_run_decide(
    client: Client, institution: Any, other_institution: Any, run: CourseRun
) -> None:
    enrollment = _request(run, institution)
    teacher = UserFactory(institution=institution)
    RoleAssignmentFactory(user=teacher, role="instructor", institution=institution)
    assign_instructor(run, teacher)
    elsewhere = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=elsewhere, role="coordinator", institution=other_institution)
    officer = UserFactory(institution=institution)
    for person in (teacher, elsewhere, officer, enrollment.user):
        client.force_login(person)
        assert _decide(client, enrollment, "approve").status_code == 403
    client.logout()
    assert _decide(client, enrollment, "approve").status_code == 302  # to sign in
    assert _status(enrollment) == Enrollment.Status.PENDING


def test_a_request_of_another_run_is_not_found(
    client: Client, coordinator: Any, institution: Any, run: CourseRun
) -> None:
    other_run = RunFactory(mode=CourseRun.Mode.ONSITE, requires_approval=True,
                           host_institution=institution)  # fmt: skip
    enrollment = _request(other_run, institution)
    client.force_login(coordinator)
    url = reverse("courses:decide_enrolment", args=[run.code, enrollment.pk])
    assert client.post(url, {"decision": "approve"}).status_code == 404
    assert (
        client.get(
            reverse("courses:decide_enrolment", args=[other_run.code, enrollment.pk])
        ).status_code
        == 405
    )
    assert _status(enrollment) == Enrollment.Status.PENDING


def test_the_coordinator_decides_from_the_institutions_enrolments_and_comes_back(
    client: Client, coordinator: Any, institution: Any, run: CourseRun
) -> None:
    first, second = _request(run, institution), _request(run, institution, "Luis Pérez")
    client.force_login(coordinator)
    page_url = reverse("courses:institution_enrollments") + "?status=pending"
    page = client.get(page_url).content.decode()
    decide = reverse("courses:decide_enrolment", args=[run.code, first.pk])
    assert f'<form method="post" action="{decide}">' in page
    assert 'aria-label="Approve the request of Ana Quispe"' in page
    assert 'name="next" value="/courses/enrolments/?status=pending"' in page
    response = client.post(decide, {"decision": "approve", "next": page_url})
    assert (response.status_code, response["Location"]) == (302, page_url)
    assert _status(first) == Enrollment.Status.ACTIVE
    page = client.get(response["Location"]).content.decode()
    assert "The request of Ana Quispe is approved: Enrolled." in page
    pending = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Ana Quispe" not in pending  # decided: no longer listed under the filter
    assert "Luis Pérez" in pending
    # A next that leaves the site is not followed: back to the roster.
    response = client.post(
        reverse("courses:decide_enrolment", args=[run.code, second.pk]),
        {"decision": "reject", "next": "https://evil.example.org/"},
    )
    assert response["Location"] == reverse("courses:roster", args=[run.code])
    assert _status(second) == Enrollment.Status.REJECTED


def test_a_coordinator_who_does_not_manage_the_run_sees_no_decision(
    client: Client, institution: Any, other_institution: Any
) -> None:
    """The officers' own coordinator lists their requests, but the run belongs to another
    institution: only its host's coordinators decide (courses.manage_run), here as on the
    roster."""
    elsewhere = RunFactory(mode=CourseRun.Mode.ONSITE, requires_approval=True,
                           host_institution=other_institution)  # fmt: skip
    enrollment = _request(elsewhere, institution)
    own = UserFactory(institution=institution)
    RoleAssignmentFactory(user=own, role="coordinator", institution=institution)
    client.force_login(own)
    page = client.get(reverse("courses:institution_enrollments")).content.decode()
    assert "Ana Quispe" in page
    assert "decide/" not in page
    assert _decide(client, enrollment, "approve").status_code == 403
    assert _status(enrollment) == Enrollment.Status.PENDING


def test_the_decisions_cost_no_query_per_row(
    client: Client, coordinator: Any, institution: Any, run: CourseRun
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _request(run, institution)
    client.force_login(coordinator)
    url = reverse("courses:institution_enrollments")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(5):
        _request(run, institution, f"Officer {i}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert page.count('value="approve"') == 6
    assert len(many.captured_queries) == len(few.captured_queries)
