"""A coordinator's "everyone matching" of thousands of officers runs as a background job that
the page follows, instead of one request that would outlast the server's timeout.

From LMS_ENROL_IN_BACKGROUND_FROM officers (2,000 by default; lowered here) the click queues a
job; a Celery worker enrols the officers in batches; the job's page shows a progress bar and the
counts, and answers its script with JSON. A refusal ends the job failed, with the reason in the
coordinator's language, and it can be tried again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from courses import services
from courses.models import CourseRun, Enrollment, EnrolmentJob, Program, ProgramCourse
from lms.dashboards.models import RunTotal
from tests.courses.factories import RunFactory
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _academy(institution: Any, officers: int, prefix: str = "Agente") -> list[Any]:
    return [
        UserFactory(institution=institution, full_name=f"{prefix} {n:03}") for n in range(officers)
    ]


def _click(client: Client, run: CourseRun, query: str) -> Any:
    url = reverse("courses:enrol_officers", args=[run.code])
    return client.post(url, {"everyone_matching": "1", "q": query})


@override_settings(LMS_ENROL_IN_BACKGROUND_FROM=10)
def test_a_large_click_becomes_a_job_the_page_follows(coordinator: Any, institution: Any) -> None:
    run = RunFactory(host_institution=institution, capacity=20, self_enrolment=False)
    _academy(institution, 25)
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(coordinator)
    response = _click(client, run, "Agente")
    job = EnrolmentJob.objects.get(run=run)
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:enrolment_job", args=[run.code, job.pk])
    # Celery runs eagerly in the tests: the job ran when the click's transaction committed.
    job.refresh_from_db()
    assert (job.state, job.total, job.enrolled, job.waitlisted, job.already) == (
        "done", 25, 20, 5, 0,
    )  # fmt: skip
    assert Enrollment.objects.filter(run=run).count() == 25
    assert RunTotal.objects.get(run_id=run.pk).enrolled == 20
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="job-progress" max="25" value="25">100%</progress>' in html
    assert "Terminado" in html
    assert "Inscripción masiva" in html
    assert "courses/enrolment_job" in html  # the script that refreshes it
    data = client.get(response["Location"], HTTP_ACCEPT="application/json").json()
    assert data == {
        "state": "done", "label": "Terminado", "total": 25, "done": 25, "enrolled": 20,
        "waitlisted": 5, "already": 0, "percent": 100, "error": "",
    }  # fmt: skip


@override_settings(LMS_ENROL_IN_BACKGROUND_FROM=10)
def test_below_the_threshold_the_click_enrols_at_once(coordinator: Any, institution: Any) -> None:
    run = RunFactory(host_institution=institution, self_enrolment=False)
    _academy(institution, 9)
    client = Client()
    client.force_login(coordinator)
    response = _click(client, run, "Agente")
    assert response["Location"] == reverse("courses:roster", args=[run.code])
    assert not EnrolmentJob.objects.exists()
    assert Enrollment.objects.filter(run=run).count() == 9


def test_the_job_works_in_batches_and_again_counts_those_already_there(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory(host_institution=institution)
    _academy(institution, 7)
    job = EnrolmentJob.objects.create(run=run, requested_by=coordinator, query="Agente")
    job = services.run_enrolment_job(job_id=job.pk, batch_size=3)
    assert (job.state, job.total, job.enrolled, job.already) == ("done", 7, 7, 0)
    # Run again (a retry, a redelivered message): the same officers, all already there.
    again = services.run_enrolment_job(job_id=job.pk, batch_size=3)
    assert (again.state, again.total, again.enrolled, again.already) == ("done", 7, 0, 7)
    assert Enrollment.objects.filter(run=run).count() == 7


def test_a_refusal_fails_the_job_in_the_coordinators_language(
    coordinator: Any, institution: Any
) -> None:
    first, second = RunFactory(), RunFactory(host_institution=institution)
    program = Program.objects.create(code="police-management", ordered=True)
    ProgramCourse.objects.create(program=program, course=first.course, position=1)
    ProgramCourse.objects.create(program=program, course=second.course, position=2)
    _academy(institution, 3)
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    job = services.start_enrolment_job(run=second, actor=coordinator, query="Agente")
    job = services.run_enrolment_job(job_id=job.pk)
    assert job.state == "failed"
    assert job.error.startswith("Agente 000 debe completar primero el curso")
    assert not Enrollment.objects.filter(run=second).exists()
    client = Client()
    client.force_login(coordinator)
    html = client.get(reverse("courses:enrolment_job", args=[second.code, job.pk])).content
    assert b'id="job-again" hidden' not in html  # "Try again" is offered


def test_only_those_who_manage_the_run_see_its_jobs(
    coordinator: Any, institution: Any, other_institution: Any, learner: Any
) -> None:
    run = RunFactory(host_institution=institution)
    job = services.start_enrolment_job(run=run, actor=coordinator, query="nobody")
    url = reverse("courses:enrolment_job", args=[run.code, job.pk])
    stranger = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=stranger, role="coordinator", institution=other_institution)
    client = Client()
    for person in (stranger, learner):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert client.get(url, HTTP_ACCEPT="application/json").status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(coordinator)
    other_run = RunFactory(host_institution=institution)
    assert (
        client.get(reverse("courses:enrolment_job", args=[other_run.code, job.pk])).status_code
        == 404
    )
    with pytest.raises(services.PermissionDenied):
        services.start_enrolment_job(run=run, actor=stranger, query="")


@override_settings(LMS_ENROL_IN_BACKGROUND_FROM=5)
def test_a_real_worker_runs_the_job(celery_worker: Any, coordinator: Any, institution: Any) -> None:
    run = RunFactory(host_institution=institution, self_enrolment=False)
    _academy(institution, 12)
    client = Client()
    client.force_login(coordinator)
    location = _click(client, run, "Agente")["Location"]
    deadline = time.monotonic() + 30
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = client.get(location, HTTP_ACCEPT="application/json").json()
        if data["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert (data["state"], data["enrolled"], data["total"]) == ("done", 12, 12)
