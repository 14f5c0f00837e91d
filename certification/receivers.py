"""What certification does when courses tell it something (connected in CertificationConfig)."""

from __future__ import annotations

from typing import Any

from courses.models import Enrollment


def on_course_completed(sender: Any, enrollment: Enrollment, **kwargs: Any) -> None:
    """Queue the certificate (courses sends this after its transaction committed)."""
    from certification.tasks import issue_course_certificate_task

    issue_course_certificate_task.delay(enrollment.pk)


def on_courses_completed(sender: Any, enrollments: list[Enrollment], **kwargs: Any) -> None:
    """Many completions at once (a run's released grades): one task per batch of
    BULK_BATCH_SIZE, each issuing its batch in one transaction, instead of a message each."""
    from certification.services import BULK_BATCH_SIZE
    from certification.tasks import issue_course_certificates_task

    ids = sorted(enrollment.pk for enrollment in enrollments)
    for start in range(0, len(ids), BULK_BATCH_SIZE):
        issue_course_certificates_task.delay(ids[start : start + BULK_BATCH_SIZE])
