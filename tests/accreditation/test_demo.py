"""The demo data: the demo course's version accredited by the demo university, idempotently."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accreditation import demo
from accreditation.models import AccreditationRequest
from accreditation.selectors import accreditation_in_force

pytestmark = pytest.mark.django_db


def test_demo_accredits_the_demo_course_once(
    version: Any, university: Any, coordinator: Any, validator: Any
) -> None:
    course = version.course
    course.current_version = version
    course.save(update_fields=["current_version"])
    context: dict[str, Any] = {
        "course": course,
        "university": university,
        "people": {"coordinator@demo.lms": coordinator, "validator@demo.lms": validator},
    }
    demo.seed(context)
    demo.seed(context)
    request = AccreditationRequest.objects.get()
    assert request.status == AccreditationRequest.Status.APPROVED
    assert context["accreditation"] == request
    assert request.transitions.count() == 4  # draft, submitted, in review, approved
    statement = accreditation_in_force(course_version_id=version.pk, on=timezone.localdate())
    assert statement is not None
    assert statement.university_name == university.name
