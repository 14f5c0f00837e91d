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
