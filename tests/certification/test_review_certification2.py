"""Review of certification and accreditation (helper h2, second round): program certificates over
revoked course certificates, resuming bulk jobs that are not failed, the failed job's message,
and expired accreditations on the validator portal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accreditation.models import AccreditationRequest
from certification import services
from certification.models import BulkIssuance, Certificate
from courses.models import Program, ProgramCourse
from tests.accreditation.factories import RequestFactory, course_for
from tests.certification.factories import RunFactory, completed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
State = BulkIssuance.State


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Jobs stay as they are: nothing picks them up (tasks would otherwise run eagerly)."""
    queued: list[str] = []
    monkeypatch.setattr(services, "_queue_bulk", lambda job_id: queued.append(str(job_id)))
    return queued


def test_a_revoked_course_certificate_does_not_count_toward_the_program(
    learner: Any, institution: Any, dps_admin: Any
) -> None:
    program = Program.objects.create(
        code="police-management", title={"en": "Police management"}, owner_institution=institution
    )
    runs = [RunFactory(host_institution=institution) for _ in range(2)]
    for position, run in enumerate(runs):
        ProgramCourse.objects.create(program=program, course=run.course, position=position)
    first = services.issue_course_certificate(enrollment_id=completed(learner, runs[0]).pk)
    assert first is not None
    services.revoke_certificate(certificate=first, actor=dps_admin, reason="Exam fraud")
    services.issue_course_certificate(enrollment_id=completed(learner, runs[1]).pk)
    assert services.issue_program_certificate(user_id=learner.pk, program_id=program.pk) is None
    assert not Certificate.objects.filter(kind=Certificate.Kind.PROGRAM).exists()


@pytest.mark.parametrize("state", [State.QUEUED, State.RUNNING, State.DONE])
def test_only_a_failed_job_can_be_resumed(
    run: Any,
    coordinator: Any,
    no_worker: list[str],
    django_capture_on_commit_callbacks: Any,
    state: str,
) -> None:
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=state)
    client = _client(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/certificates/bulk/{job.pk}/resume")
    assert response.status_code == 409
    assert no_worker == []
    job.refresh_from_db()
    assert job.state == state


def test_refusing_to_resume_names_why_in_english(
    run: Any, coordinator: Any, no_worker: list[str]
) -> None:
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=State.RUNNING)
    response = _client(coordinator).post(
        f"/certificates/bulk/{job.pk}/resume", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 409
    assert "Only a failed job can be resumed." in response.content.decode()


def test_a_failed_job_can_still_be_resumed(
    run: Any, coordinator: Any, no_worker: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=State.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(coordinator).post(f"/certificates/bulk/{job.pk}/resume")
    assert response.status_code == 302
    assert no_worker == [str(job.pk)]


def test_a_failed_job_shows_a_human_message_not_the_exception(
    run: Any, coordinator: Any, institution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrollment = completed(UserFactory(institution=institution), run)
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=State.RUNNING)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("psycopg.OperationalError: connection to 10.0.0.7 refused")

    monkeypatch.setattr(services, "issue_course_certificates", broken)
    with pytest.raises(RuntimeError):
        services.issue_bulk_batch(job_id=job.pk, enrollment_ids=[enrollment.pk])
    job.refresh_from_db()
    assert job.state == State.FAILED
    page = _client(coordinator).get(f"/certificates/bulk/{job.pk}").content.decode()
    assert "10.0.0.7" not in page
    assert "Some certificates could not be issued." in page
    assert "10.0.0.7" not in str(services.job_message(job))


def test_expired_accreditations_are_marked_on_the_portal(
    validator: Any, university: Any, institution: Any
) -> None:
    today = timezone.localdate()
    expired = RequestFactory(
        course_version=course_for(institution),
        university=university,
        status=AccreditationRequest.Status.APPROVED,
        reference="UNI-OLD-1",
        valid_from=today - timedelta(days=800),
        valid_until=today - timedelta(days=1),
        decided_at=timezone.now() - timedelta(days=800),
    )
    current = RequestFactory(
        course_version=course_for(institution),
        university=university,
        status=AccreditationRequest.Status.APPROVED,
        reference="UNI-NEW-1",
        valid_from=today - timedelta(days=10),
        valid_until=today + timedelta(days=365),
        decided_at=timezone.now(),
    )
    page = _client(validator).get("/accreditation/portal/").content.decode()
    accredited = page.split('id="decisions"', 1)[1].split("</table>", 1)[0]
    rows = {
        reference: next(row for row in accredited.split("</tr>") if reference in row)
        for reference in (expired.reference, current.reference)
    }
    assert "Expired" in rows[expired.reference]
    assert "Expired" not in rows[current.reference]
