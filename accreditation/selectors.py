"""Reads of the accreditation app: the accreditation in force for a course version (the contract
certification relies on), the lists a person may see, and the validator's outcome aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from accreditation.models import AccreditationRequest

Status = AccreditationRequest.Status


@dataclass(frozen=True)
class AccreditationStatement:
    """What a certificate states about its course's accreditation."""

    university_id: int
    university_name: str
    reference: str
    credit_hours: Decimal
    ects_credits: Decimal | None
    ceu: Decimal | None
    level: str
    valid_from: date
    valid_until: date
    conditions: str
    quality_assurance: str


def in_force_filter(on: date) -> Q:
    """Approved requests whose validity period covers `on`."""
    return Q(
        status__in=AccreditationRequest.APPROVED_STATUSES,
        valid_from__lte=on,
        valid_until__gte=on,
    )


def accreditation_in_force(*, course_version_id: int, on: date) -> AccreditationStatement | None:
    """The accreditation of the course version in force on `on`, or None.

    An expired accreditation (valid_until before `on`) is not returned, so it stops appearing on
    new certificates. With several in force, the one approved last wins.
    """
    request = (
        AccreditationRequest.objects.filter(
            in_force_filter(on), course_version_id=course_version_id
        )
        .select_related("university")
        .prefetch_related("conditions")
        .order_by("-decided_at", "-pk")
        .first()
    )
    if request is None or request.valid_from is None or request.valid_until is None:
        return None
    conditions = "; ".join(
        f"{condition.text} ({condition.due_on.isoformat()})"
        for condition in request.conditions.all()
    )
    return AccreditationStatement(
        university_id=request.university_id,
        university_name=request.university.name,
        reference=request.reference,
        credit_hours=request.credit_hours or Decimal("0"),
        ects_credits=request.ects_credits,
        ceu=request.ceu,
        level=request.level_label,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        conditions=conditions,
        quality_assurance=request.quality_assurance,
    )


def requests_for_university(
    university_ids: frozenset[int] | set[int],
) -> QuerySet[AccreditationRequest]:
    """Requests a university's validators see: everything but the owner's unsubmitted drafts."""
    return (
        AccreditationRequest.objects.filter(university_id__in=university_ids)
        .exclude(status=Status.DRAFT)
        .select_related("course_version__course", "owner_institution", "university")
        .order_by("-submitted_at", "-pk")
    )
