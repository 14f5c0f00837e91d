"""The contract certification relies on: accreditation_in_force(course_version_id, on)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accreditation.models import AccreditationRequest, Condition
from accreditation.selectors import AccreditationStatement, accreditation_in_force
from tests.accreditation.factories import CourseVersionFactory, RequestFactory

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def approved(**kwargs: object) -> AccreditationRequest:
    values: dict[str, object] = {
        "status": Status.APPROVED,
        "reference": "URPI-2026-00001",
        "credit_hours": Decimal("75.0"),
        "ects_credits": Decimal("3.0"),
        "ceu": Decimal("4.0"),
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2028, 12, 31),
        "decided_at": timezone.now(),
        "quality_assurance": "Reviewed by two faculty members",
    }
    values.update(kwargs)
    return RequestFactory(**values)


def test_in_force_returns_the_statement() -> None:
    request = approved()
    statement = accreditation_in_force(
        course_version_id=request.course_version_id, on=date(2027, 6, 1)
    )
    assert statement == AccreditationStatement(
        university_id=request.university_id,
        university_name=request.university.name,
        reference="URPI-2026-00001",
        credit_hours=Decimal("75.0"),
        ects_credits=Decimal("3.0"),
        ceu=Decimal("4.0"),
        level="EQF 5",
        valid_from=date(2026, 1, 1),
        valid_until=date(2028, 12, 31),
        conditions="",
        quality_assurance="Reviewed by two faculty members",
    )


def test_in_force_on_the_last_valid_day() -> None:
    request = approved()
    assert accreditation_in_force(
        course_version_id=request.course_version_id, on=date(2028, 12, 31)
    )


def test_expired_accreditation_is_not_in_force() -> None:
    request = approved()
    assert (
        accreditation_in_force(course_version_id=request.course_version_id, on=date(2029, 1, 1))
        is None
    )


def test_not_yet_valid_is_not_in_force() -> None:
    request = approved()
    assert (
        accreditation_in_force(course_version_id=request.course_version_id, on=date(2025, 12, 31))
        is None
    )


def test_no_accreditation_gives_none() -> None:
    version = CourseVersionFactory()
    assert accreditation_in_force(course_version_id=version.pk, on=date(2027, 1, 1)) is None


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.IN_REVIEW, Status.REJECTED])
def test_request_not_approved_is_not_in_force(status: str) -> None:
    request = approved(status=status)
    assert (
        accreditation_in_force(course_version_id=request.course_version_id, on=date(2027, 1, 1))
        is None
    )


def test_other_version_of_the_course_is_not_covered() -> None:
    request = approved()
    newer = CourseVersionFactory(course=request.course_version.course)
    assert accreditation_in_force(course_version_id=newer.pk, on=date(2027, 1, 1)) is None


def test_conditions_and_national_level_are_stated() -> None:
    request = approved(
        status=Status.APPROVED_WITH_CONDITIONS,
        framework=AccreditationRequest.Framework.NATIONAL,
        framework_name="MNC Colombia",
        level="6",
    )
    Condition.objects.create(request=request, text="Add a gender module", due_on=date(2026, 6, 30))
    statement = accreditation_in_force(
        course_version_id=request.course_version_id, on=date(2026, 3, 1)
    )
    assert statement is not None
    assert statement.level == "MNC Colombia 6"
    assert statement.conditions == "Add a gender module (2026-06-30)"
