"""What certification does when courses tell it something (connected in CertificationConfig)."""

from __future__ import annotations

from typing import Any

from courses.models import Enrollment


def on_course_completed(sender: Any, enrollment: Enrollment, **kwargs: Any) -> None:
    """Queue the certificate (courses sends this after its transaction committed)."""
    from certification.tasks import issue_course_certificate_task

    issue_course_certificate_task.delay(enrollment.pk)
