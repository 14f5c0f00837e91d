"""Reads of the accreditation app: the accreditation in force for a course version (the contract
certification relies on), the lists a person may see, and the validator's outcome aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Avg, BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from accreditation.models import AccreditationRequest, Comment, Transition
from courses.models import CourseRun, Enrollment
from lms.accounts.models import MemberState, Role, University, User
from lms.accounts.permissions import Scope

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
    """Requests a university's validators see: everything but the owner's unsubmitted drafts
    (and drafts withdrawn before they were ever submitted)."""
    return (
        AccreditationRequest.objects.filter(university_id__in=university_ids)
        .exclude(status=Status.DRAFT)
        .exclude(status=Status.WITHDRAWN, submission_count=0)
        .select_related("course_version__course", "owner_institution", "university")
        .order_by("-submitted_at", "-pk")
    )


def requests_for_owner(scope: Scope) -> QuerySet[AccreditationRequest]:
    """Requests of the courses owned by the institutions the person coordinates (all for DPS)."""
    return (
        AccreditationRequest.objects.filter(scope.institution_filter("owner_institution"))
        .select_related("course_version__course", "owner_institution", "university")
        .order_by("-created_at", "-pk")
    )


def rereview_flags(university_ids: frozenset[int] | set[int]) -> QuerySet[AccreditationRequest]:
    """Approvals of the university whose course has changed since."""
    return AccreditationRequest.objects.filter(
        university_id__in=university_ids,
        rereview_needed=True,
        status__in=AccreditationRequest.APPROVED_STATUSES,
    ).select_related("course_version__course")


def accredited_for_university(
    university_ids: frozenset[int] | set[int], on: date | None = None
) -> QuerySet[AccreditationRequest]:
    """The university's approvals, newest first; `is_expired` marks those whose validity ended
    before `on` (today by default)."""
    on = on or timezone.localdate()
    return (
        AccreditationRequest.objects.filter(
            university_id__in=university_ids, status__in=AccreditationRequest.APPROVED_STATUSES
        )
        .annotate(is_expired=ExpressionWrapper(Q(valid_until__lt=on), output_field=BooleanField()))
        .select_related("course_version__course", "owner_institution")
        .order_by("-decided_at", "-pk")
    )


def timeline(request: AccreditationRequest) -> QuerySet[Transition]:
    return request.transitions.select_related("actor").order_by("at", "pk")


def comments(request: AccreditationRequest) -> QuerySet[Comment]:
    return request.comments.select_related("author").order_by("created_at", "pk")


def validators_of(university_id: int) -> QuerySet[User]:
    return (
        User.objects.filter(roles__role=Role.VALIDATOR, roles__university_id=university_id)
        .distinct()
        .order_by("full_name")
    )


def network() -> QuerySet[University]:
    """The partner universities, the coordinating one first."""
    return University.objects.select_related("member_state").order_by("-is_coordinating", "name")


# Outcome aggregates -----------------------------------------------------------------------------

SCORE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0–49", 0, 50),
    ("50–69", 50, 70),
    ("70–89", 70, 90),
    ("90–100", 90, 101),
)
ENROLLED_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)


@dataclass(frozen=True)
class StateOutcomes:
    """Outcomes of one member state's learners in an accredited course version."""

    member_state_id: int | None
    member_state: str
    enrolled: int
    completed: int
    passed: int
    average_score: Decimal | None
    score_bands: tuple[int, ...]
    onsite_enrolled: int
    average_attendance: Decimal | None

    @property
    def pass_rate(self) -> Decimal | None:
        if not self.completed:
            return None
        return (Decimal(100) * self.passed / self.completed).quantize(Decimal("0.1"))


def outcomes_by_member_state(*, course_version_id: int) -> list[StateOutcomes]:
    """Enrolled, completed, pass rate, score distribution and on-site attendance per member state,
    in one GROUP BY over the enrolments' denormalised columns (no query per row)."""
    onsite = Q(run__mode__in=(CourseRun.Mode.ONSITE, CourseRun.Mode.BLENDED))
    bands = {
        f"band_{index}": Count("pk", filter=Q(score_pct__gte=low, score_pct__lt=high))
        for index, (_label, low, high) in enumerate(SCORE_BANDS)
    }
    grouped = (
        Enrollment.objects.filter(version_id=course_version_id, status__in=ENROLLED_STATUSES)
        .values("member_state_id")
        .annotate(
            enrolled=Count("pk"),
            completed=Count("pk", filter=Q(status=Enrollment.Status.COMPLETED)),
            passed=Count("pk", filter=Q(passed=True)),
            average_score=Avg("score_pct"),
            onsite_enrolled=Count("pk", filter=onsite),
            average_attendance=Avg("attendance_pct", filter=onsite),
            **bands,
        )
        .order_by("member_state_id")
    )
    rows = list(grouped)
    states = MemberState.objects.in_bulk(
        [row["member_state_id"] for row in rows if row["member_state_id"]]
    )
    result = []
    for row in rows:
        state = states.get(row["member_state_id"]) if row["member_state_id"] else None
        result.append(
            StateOutcomes(
                member_state_id=row["member_state_id"],
                member_state=state.name if state else "—",
                enrolled=row["enrolled"],
                completed=row["completed"],
                passed=row["passed"],
                average_score=_one_place(row["average_score"]),
                score_bands=tuple(row[f"band_{index}"] for index in range(len(SCORE_BANDS))),
                onsite_enrolled=row["onsite_enrolled"],
                average_attendance=_one_place(row["average_attendance"]),
            )
        )
    return sorted(result, key=lambda outcome: outcome.member_state)


def _one_place(value: object) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"))
