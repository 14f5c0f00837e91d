"""Issuance: exactly one certificate per learner and run, whatever happens to the workers."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from certification import services
from certification.models import Certificate, CertificateEvent, CertificateTemplate
from certification.tasks import issue_course_certificate_task
from courses import signals as course_signals
from courses.models import Enrollment, Program, ProgramCourse
from tests.certification.factories import RunFactory, completed


@pytest.mark.django_db
def test_event_fired_twice_issues_one_certificate(enrollment: Any) -> None:
    first = issue_course_certificate_task.delay(enrollment.pk).get()
    second = issue_course_certificate_task.delay(enrollment.pk).get()
    assert first == second
    assert Certificate.objects.filter(user=enrollment.user, run=enrollment.run).count() == 1
    certificate = Certificate.objects.get()
    assert certificate.pdf.read().startswith(b"%PDF")
    assert len(certificate.code) == 12
    assert (
        CertificateEvent.objects.filter(
            certificate=certificate, action=CertificateEvent.Action.ISSUED
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_uncompleted_enrolment_gets_no_certificate(learner: Any, run: Any) -> None:
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    assert services.issue_course_certificate(enrollment_id=enrollment.pk) is None
    assert not Certificate.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_racing_workers_issue_one_certificate(require_postgres: None, enrollment: Any) -> None:
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(services.issue_course_certificate(enrollment_id=enrollment.pk).pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results[0] == results[1]
    assert Certificate.objects.count() == 1


def _die_after_rendering(enrollment_id: int) -> None:
    """In a forked worker: issue, but die (like a killed process) once the PDF is rendered,
    signed and stored, before the transaction commits."""
    connections.close_all()

    def killed(certificate: Any) -> None:
        os._exit(9)

    services._emit_earned = killed  # type: ignore[assignment]
    services.issue_course_certificate(enrollment_id=enrollment_id)
    os._exit(0)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_task_then_retried_issues_one(
    require_postgres: None, enrollment: Any
) -> None:
    connections.close_all()
    child = multiprocessing.get_context("fork").Process(
        target=_die_after_rendering, args=(enrollment.pk,)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 9
    assert not Certificate.objects.exists()  # nothing committed by the dead worker
    issue_course_certificate_task.delay(enrollment.pk).get()  # the redelivered message
    issue_course_certificate_task.delay(enrollment.pk).get()
    assert Certificate.objects.count() == 1


@pytest.mark.services
def test_completion_event_through_a_real_worker_issues_once(
    celery_worker: Any, require_postgres: None, learner: Any, institution: Any
) -> None:
    run = RunFactory(host_institution=institution)
    enrollment = completed(learner, run)
    course_signals.course_completed.send(sender=Enrollment, enrollment=enrollment)
    course_signals.course_completed.send(sender=Enrollment, enrollment=enrollment)
    deadline = time.monotonic() + 60
    while not Certificate.objects.filter(run=run).exists():
        assert time.monotonic() < deadline, "no certificate issued by the worker"
        time.sleep(0.1)
    # A third delivery, waited for, returns the certificate the first one issued.
    again = issue_course_certificate_task.delay(enrollment.pk).get(timeout=60)
    assert again == str(Certificate.objects.get(run=run).pk)
    assert Certificate.objects.filter(run=run, user=learner).count() == 1


@pytest.mark.django_db
def test_completions_made_together_are_issued_in_batches(
    institution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's released grades complete many courses at once: courses_completed queues one task
    per BULK_BATCH_SIZE enrolments (each issuing its batch in one transaction), not one each;
    a second delivery issues nothing more."""
    from certification import tasks
    from tests.factories import UserFactory

    monkeypatch.setattr(services, "BULK_BATCH_SIZE", 2)
    batches: list[list[int]] = []
    original = tasks.issue_course_certificates_task.delay

    def counted(enrollment_ids: list[int]) -> Any:
        batches.append(enrollment_ids)
        return original(enrollment_ids)

    monkeypatch.setattr(tasks.issue_course_certificates_task, "delay", counted)
    run = RunFactory(host_institution=institution)
    enrollments = [completed(UserFactory(institution=institution), run) for _ in range(5)]
    for _delivery in range(2):
        course_signals.courses_completed.send(sender=Enrollment, enrollments=enrollments)
    ids = sorted(enrollment.pk for enrollment in enrollments)
    assert batches == [ids[:2], ids[2:4], ids[4:]] * 2
    assert Certificate.objects.filter(run=run).count() == 5
    assert sorted(Certificate.objects.filter(run=run).values_list("user", flat=True)) == sorted(
        enrollment.user_id for enrollment in enrollments
    )


@pytest.mark.django_db
def test_program_certificate_when_all_courses_complete(learner: Any, institution: Any) -> None:
    program = Program.objects.create(
        code="police-management", title={"en": "Police management"}, owner_institution=institution
    )
    runs = [RunFactory(host_institution=institution) for _ in range(2)]
    for position, run in enumerate(runs):
        ProgramCourse.objects.create(program=program, course=run.course, position=position)
    services.issue_course_certificate(enrollment_id=completed(learner, runs[0]).pk)
    assert services.issue_program_certificate(user_id=learner.pk, program_id=program.pk) is None
    services.issue_course_certificate(enrollment_id=completed(learner, runs[1]).pk)
    issued = services.issue_program_certificate(user_id=learner.pk, program_id=program.pk)
    again = services.issue_program_certificate(user_id=learner.pk, program_id=program.pk)
    program_certificates = Certificate.objects.filter(kind=Certificate.Kind.PROGRAM)
    assert program_certificates.count() == 1
    assert issued == again == program_certificates.get()
    assert again.credit_hours == runs[0].course.credit_hours + runs[1].course.credit_hours


@pytest.mark.django_db
def test_refresher_course_renews_an_expiring_certificate(
    learner: Any, run: Any, institution: Any
) -> None:
    refresher = RunFactory(host_institution=institution)
    CertificateTemplate.objects.create(
        course=run.course, validity_years=2, refresher_course=refresher.course
    )
    original = services.issue_course_certificate(enrollment_id=completed(learner, run).pk)
    assert original is not None
    assert original.expires_on is not None
    renewed = services.issue_course_certificate(enrollment_id=completed(learner, refresher).pk)
    assert renewed is not None
    assert renewed.renewal_of == original
    assert renewed.course == run.course
    assert renewed.expires_on is not None
    assert CertificateEvent.objects.filter(
        certificate=original, action=CertificateEvent.Action.RENEWED
    ).exists()


@pytest.mark.django_db
def test_reminder_sent_once_before_expiry(certificate: Certificate, mailoutbox: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    Certificate.objects.filter(pk=certificate.pk).update(
        expires_on=timezone.localdate() + timedelta(days=10)
    )
    assert services.send_expiry_reminders() == 1
    assert services.send_expiry_reminders() == 0
    assert len(mailoutbox) == 1
    assert certificate.user.email in mailoutbox[0].to


@pytest.mark.django_db
def test_issuing_records_one_earned_statement(enrollment: Any) -> None:
    from lms.xapi.models import Statement

    services.issue_course_certificate(enrollment_id=enrollment.pk)
    services.issue_course_certificate(enrollment_id=enrollment.pk)
    certificate = Certificate.objects.get()
    statements = Statement.objects.filter(verb_id__endswith="earned")
    assert statements.count() == 1
    assert str(certificate.pk) in statements.get().activity_id


def test_missing_harfbuzz_subset_is_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    from certification.apps import check_harfbuzz_subset

    assert check_harfbuzz_subset() == []  # installed on this machine and in CI
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    (warning,) = check_harfbuzz_subset()
    assert warning.id == "certification.W001"


@pytest.mark.django_db
def test_a_code_drawn_twice_is_drawn_again(
    certificate: Certificate, learner: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verification code already taken (drawn by another worker meanwhile) loses the insert
    to the unique constraint; that certificate draws again and is issued once, its first PDF
    file removed."""
    from certification import codes
    from tests.factories import UserFactory

    fresh = iter([certificate.code, "7K3MQ9TX2B8R"])
    monkeypatch.setattr(codes, "new_code", lambda: next(fresh))
    other = completed(UserFactory(institution=learner.institution), run)
    issued = services.issue_course_certificate(enrollment_id=other.pk)
    assert issued is not None
    assert issued.code == "7K3MQ9TX2B8R"
    assert Certificate.objects.filter(run=run).count() == 2
    assert issued.pdf.read().startswith(b"%PDF")
    stored = list((Path(settings.MEDIA_ROOT) / "certification" / "pdf").rglob("*.pdf"))
    assert sorted(path.name for path in stored) == sorted(
        f"{row.pk}.pdf" for row in Certificate.objects.filter(run=run)
    )
