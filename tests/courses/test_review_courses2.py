"""Review round 2: defects found in the courses app, each proven by a test."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import Enrollment, RunInstructor
from tests.courses.factories import RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def taught(institution: Any) -> dict[str, Any]:
    """An open run hosted by `institution`, its lead instructor and its assistant (officers of
    `institution`), and an officer who only learns."""
    run = RunFactory(host_institution=institution)
    lead = UserFactory(institution=institution, full_name="Lea Lead")
    assistant = UserFactory(institution=institution, full_name="Asa Assistant")
    RunInstructor.objects.create(run=run, user=lead, role=RunInstructor.Role.LEAD)
    RunInstructor.objects.create(run=run, user=assistant, role=RunInstructor.Role.ASSISTANT)
    officer = UserFactory(institution=institution, full_name="Olga Officer")
    return {"run": run, "lead": lead, "assistant": assistant, "officer": officer}


@pytest.mark.parametrize("who", ["lead", "assistant"])
def test_an_instructor_of_the_run_cannot_enrol_themself_in_it(
    client: Client, taught: dict[str, Any], who: str
) -> None:
    """A lead or assistant instructor enrolled themself as a learner of the run they teach, and
    could then mark their own attendance and complete the course."""
    run, person = taught["run"], taught[who]
    with pytest.raises(services.EnrolmentError, match="You teach this run") as refused:
        services.enrol(user=person, run=run, actor=person)
    assert refused.value.code == "teaching"
    client.force_login(person)
    response = client.post(reverse("courses:enrol", args=[run.code]), follow=True)
    assert "you cannot enrol in it as a learner" in response.text
    assert not Enrollment.objects.filter(run=run, user=person).exists()


@pytest.mark.parametrize("who", ["lead", "assistant"])
def test_a_coordinator_cannot_enrol_an_instructor_of_the_run_in_it(
    taught: dict[str, Any], coordinator: Any, who: str
) -> None:
    run, person = taught["run"], taught[who]
    name = person.full_name
    with pytest.raises(services.EnrolmentError, match=f"{name} teaches this run"):
        services.enrol(user=person, run=run, actor=coordinator)
    with pytest.raises(services.EnrolmentError, match=f"{name} teaches this run"):
        services.enrol_many(users=[taught["officer"], person], run=run, actor=coordinator)
    assert not Enrollment.objects.filter(run=run).exists()


def test_the_api_refuses_to_enrol_an_instructor_of_the_run(
    client: Client, taught: dict[str, Any], coordinator: Any
) -> None:
    run, lead = taught["run"], taught["lead"]
    client.force_login(coordinator)
    response = client.post(
        "/api/v1/enrollments/",
        {"run": run.code, "user": lead.email},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "Lea Lead teaches this run" in str(response.json())
    assert not Enrollment.objects.filter(run=run, user=lead).exists()


def test_enrolling_everyone_matching_leaves_out_the_runs_instructors(
    client: Client, taught: dict[str, Any], coordinator: Any
) -> None:
    """The coordinator's "enrol everyone matching" enrolled the run's own instructors too."""
    run = taught["run"]
    client.force_login(coordinator)
    url = reverse("courses:enrol_officers", args=[run.code])
    page = client.get(url).text
    assert "Olga Officer" in page
    assert "Lea Lead" not in page
    assert "Asa Assistant" not in page
    response = client.post(url, {"everyone_matching": "1", "q": ""})
    assert response.status_code == 302
    enrolled = set(Enrollment.objects.filter(run=run).values_list("user_id", flat=True))
    assert taught["officer"].pk in enrolled
    assert taught["lead"].pk not in enrolled
    assert taught["assistant"].pk not in enrolled


def test_approving_the_request_of_someone_who_now_teaches_the_run_is_refused(
    client: Client, institution: Any, coordinator: Any
) -> None:
    """An officer asked to join an on-site run, was then made its assistant, and the approval
    of their old request enrolled them as a learner of the run they teach."""
    run = RunFactory(host_institution=institution, requires_approval=True)
    officer = UserFactory(institution=institution, full_name="Pia Pending")
    pending = services.enrol(user=officer, run=run, actor=officer)
    assert pending.status == Enrollment.Status.PENDING
    # made its assistant before assign_instructor refused a learner of the run (older data)
    RunInstructor.objects.create(run=run, user=officer, role=RunInstructor.Role.ASSISTANT)
    client.force_login(coordinator)
    url = reverse("courses:decide_enrolment", args=[run.code, pending.pk])
    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 400
    assert "Pia Pending teaches this run" in response.text
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING
    with pytest.raises(services.EnrolmentError, match="Pia Pending teaches this run"):
        services.approve_enrolment(enrollment=pending, actor=coordinator)
    # Rejecting it stays possible.
    assert client.post(url, {"decision": "reject"}).status_code == 302
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.REJECTED


def test_a_learner_of_the_run_is_not_made_one_of_its_instructors(
    client: Client, coordinator: Any, institution: Any
) -> None:
    """The other way round: a coordinator assigning as instructor someone enrolled in the run
    is told to withdraw the enrolment first, naming the field; once withdrawn, they may teach."""
    from tests.factories import RoleAssignmentFactory

    run = RunFactory(host_institution=institution)
    officer = UserFactory(institution=institution, full_name="Ana Learner")
    RoleAssignmentFactory(user=officer, role="instructor", institution=institution)
    enrollment = Enrollment.objects.create(user=officer, run=run, version=run.version)
    client.force_login(coordinator)
    url = reverse("courses:author_run", args=[run.code])
    data = {"instructor-user": str(officer.pk), "instructor-role": "assistant"}
    refused = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    errors = refused.context["instructor_form"].errors
    assert set(errors) == {"user"}
    assert "Ana Learner is enrolled in this run as a learner" in errors["user"][0]
    assert not RunInstructor.objects.filter(run=run, user=officer).exists()
    services.withdraw(enrollment=enrollment, actor=officer)
    assert client.post(url, data).status_code == 302
    assert RunInstructor.objects.get(run=run, user=officer).role == "assistant"
