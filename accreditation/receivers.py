"""Receivers of other apps' signals (connected in AccreditationConfig.ready())."""

from __future__ import annotations

from typing import Any

from courses.models import Course, CourseVersion


def on_course_version_created(
    sender: Any,
    course: Course,
    version: CourseVersion,
    previous: CourseVersion | None = None,
    **kwargs: Any,
) -> None:
    """A new version of an accredited course is flagged for re-review."""
    from accreditation.services import flag_for_rereview

    flag_for_rereview(course=course, version=version, previous=previous)
