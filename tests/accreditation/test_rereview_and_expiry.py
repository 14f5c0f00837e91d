"""Version pinning of accredited content, re-review of a changed course, expiry and its
warnings."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accreditation import services
from accreditation.models import AccreditationRequest, ExpiryWarning
from accreditation.selectors import accreditation_in_force
from courses.models import CourseRun, Enrollment
from courses.services import editable_version
from lms.accounts.models import Notification
from lms.celery import app
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def test_editing_an_accredited_course_makes_a_new_version_and_learners_keep_theirs(
    accredited: AccreditationRequest,
    coordinator: Any,
    validator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    accredited_version = accredited.course_version
    run = CourseRun.objects.create(
        course=accredited_version.course, version=accredited_version, code="hr-2026-1"
    )
    learner = UserFactory()
    enrollment = Enrollment.objects.create(user=learner, run=run, version=accredited_version)
    with django_capture_on_commit_callbacks(execute=True):
        new_version = editable_version(course=accredited_version.course, actor=coordinator)
    assert new_version.pk != accredited_version.pk
    enrollment.refresh_from_db()
    assert enrollment.version_id == accredited_version.pk
    today = timezone.localdate()
    assert accreditation_in_force(course_version_id=accredited_version.pk, on=today) is not None
    assert accreditation_in_force(course_version_id=new_version.pk, on=today) is None
    accredited.refresh_from_db()
    assert accredited.rereview_needed
    draft = AccreditationRequest.objects.get(course_version=new_version)
    assert draft.status == Status.DRAFT
    assert draft.rereview_of == accredited
    assert draft.syllabus == accredited.syllabus
    assert Notification.objects.filter(user=coordinator, subject__contains="re-review").exists()
    assert Notification.objects.filter(user=validator, subject__contains="re-review").exists()


def test_rereview_flag_is_shown_to_owner_and_validator(
    accredited: AccreditationRequest,
    coordinator: Any,
    validator: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        editable_version(course=accredited.course_version.course, actor=coordinator)
    client.force_login(validator)
    assert "Re-review needed" in client.get("/accreditation/portal/").content.decode()
    client.force_login(coordinator)
    page = client.get(f"/accreditation/requests/{accredited.pk}/").content.decode()
    assert "a re-review is needed" in page


def test_rereview_is_flagged_once(accredited: AccreditationRequest, coordinator: Any) -> None:
    version = accredited.course_version
    new = services.flag_for_rereview(course=version.course, version=version, previous=None)
    assert new == []  # the approved version itself is not re-reviewed
    from tests.accreditation.factories import CourseVersionFactory

    newer = CourseVersionFactory(course=version.course)
    assert (
        len(services.flag_for_rereview(course=version.course, version=newer, previous=version)) == 1
    )
    assert services.flag_for_rereview(course=version.course, version=newer, previous=version) == []


def test_approving_the_rereview_clears_the_flag(
    accredited: AccreditationRequest,
    coordinator: Any,
    validator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        new_version = editable_version(course=accredited.course_version.course, actor=coordinator)
    draft = AccreditationRequest.objects.get(course_version=new_version)
    draft = services.submit_request(request=draft, actor=coordinator)
    services.approve(request=draft, actor=validator, credit_hours=Decimal("75"))
    accredited.refresh_from_db()
    assert not accredited.rereview_needed
    today = timezone.localdate()
    assert accreditation_in_force(course_version_id=new_version.pk, on=today) is not None


def test_expired_accreditation_stops_being_in_force(accredited: AccreditationRequest) -> None:
    assert accredited.valid_until is not None
    after = accredited.valid_until + timedelta(days=1)
    assert accreditation_in_force(course_version_id=accredited.course_version_id, on=after) is None


def test_owner_is_warned_60_and_30_days_ahead_once_each(
    accredited: AccreditationRequest,
    coordinator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    until = accredited.valid_until
    assert until is not None
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.warn_expiring(today=until - timedelta(days=90)) == 0
        assert services.warn_expiring(today=until - timedelta(days=60)) == 1
        assert services.warn_expiring(today=until - timedelta(days=59)) == 0
        assert services.warn_expiring(today=until - timedelta(days=30)) == 1
        assert services.warn_expiring(today=until - timedelta(days=10)) == 0
    assert sorted(
        ExpiryWarning.objects.filter(request=accredited).values_list("days_before", flat=True)
    ) == [30, 60]
    assert [message.to for message in mail.outbox] == [[coordinator.email]] * 2
    assert "expires" in mail.outbox[0].subject


def test_late_first_run_sends_one_warning(accredited: AccreditationRequest) -> None:
    assert accredited.valid_until is not None
    assert services.warn_expiring(today=accredited.valid_until - timedelta(days=20)) == 1
    assert services.warn_expiring(today=accredited.valid_until - timedelta(days=19)) == 0


def test_expiry_warnings_are_scheduled_daily() -> None:
    entry = app.conf.beat_schedule["accreditation-expiry-warnings"]
    assert entry["task"] == "accreditation.tasks.warn_expiring_accreditations"
    assert entry["schedule"] == 24 * 3600.0


@pytest.mark.services
def test_warning_task_runs_on_a_real_worker(
    celery_worker: Any, version: Any, university: Any, coordinator: Any, validator: Any
) -> None:
    from accreditation.tasks import warn_expiring_accreditations
    from tests.accreditation.conftest import DOSSIER

    request = services.create_request(
        course_version=version, university=university, actor=coordinator, **DOSSIER
    )
    services.submit_request(request=request, actor=coordinator)
    # Valid for one year from a start chosen so that it expires within 30 days.
    services.approve(
        request=request,
        actor=validator,
        credit_hours=Decimal("40"),
        validity_years=1,
        valid_from=date.today() - timedelta(days=350),
    )
    assert warn_expiring_accreditations.delay().get(timeout=20) == 1
    assert ExpiryWarning.objects.filter(request=request, days_before=30).exists()
