"""The accreditation state machine: every status change is one function here, checks who may make
it and from which status, records a Transition (who, when) and notifies whoever must act next.

    draft ──submit──▶ submitted ──start_review / assign_reviewer──▶ in_review
      ▲                  │                                               │
      │                  └──────────── request_changes ◀─────────────────┤
      │                                    │                             │
      └─ (edit) ◀── changes_requested ─────┘ (resubmit = submit)         │
                                                                         ▼
                   approve ▶ approved · approve_with_conditions ▶ approved_conditions · reject ▶ rejected
    draft / submitted / changes_requested ──withdraw──▶ withdrawn

Illegal steps raise IllegalTransition (a 409 in the views), people without the right raise
PermissionDenied, bad input raises ValidationError naming the field.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accreditation.models import (
    AccreditationRequest,
    Comment,
    Condition,
    ExpiryWarning,
    RequestAttachment,
    ReviewerAssignment,
    Submission,
    Transition,
)
from accreditation.permissions import prepares_for, reviews, sent_to_university
from courses.models import Course, CourseVersion
from courses.services import freeze_version
from lms.accounts.models import Role, User

Status = AccreditationRequest.Status

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
EXPIRY_WARNING_DAYS = (60, 30)
DOSSIER_FIELDS = (
    "syllabus",
    "learning_outcomes",
    "framework",
    "framework_name",
    "level",
    "contact_hours",
    "self_study_hours",
    "delivery_mode",
    "assessment_methods",
    "passing_rules",
    "instructors",
)
ONE_PLACE = Decimal("0.1")
# Not decided yet: the owner may still withdraw.
WITHDRAWABLE_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.CHANGES_REQUESTED)
# Not decided yet: one such request per course version and university (the constraint
# accreditation_one_open_request).
OPEN_STATUSES = AccreditationRequest.OPEN_STATUSES
# The documents a dossier needs, by extension, with how each file begins (None: not checked).
# Never a program or a page a browser would run (exe, html, svg…).
_ZIP = (b"PK\x03\x04",)
ATTACHMENT_SIGNATURES: dict[str, tuple[bytes, ...] | None] = {
    "pdf": (b"%PDF-",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "docx": _ZIP,
    "odt": _ZIP,
    "xlsx": _ZIP,
    "ods": _ZIP,
    "txt": None,
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
ATTACHMENT_TYPES = tuple(sorted(ATTACHMENT_SIGNATURES))


class IllegalTransition(Exception):  # noqa: N818 - named for the domain
    """The request is not in a status from which this step may be taken."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


# Who is told ----------------------------------------------------------------------------------


def _validators(request: AccreditationRequest) -> list[User]:
    return list(
        User.objects.filter(
            roles__role=Role.VALIDATOR,
            roles__university_id=request.university_id,
        )
        .exclude(status=User.Status.SUSPENDED)
        .distinct()
    )


def _owner_side(request: AccreditationRequest) -> list[User]:
    """The person who prepared the request and the coordinators of the owner institution (and of
    the institutions above it)."""
    condition = Q(pk=request.created_by_id) if request.created_by_id else Q(pk__in=[])
    if request.owner_institution_id:
        path = request.owner_institution.path if request.owner_institution else ""
        ancestor_ids = [int(part) for part in path.split("/") if part] or [
            request.owner_institution_id
        ]
        condition |= Q(roles__role=Role.COORDINATOR, roles__institution_id__in=ancestor_ids)
    return list(User.objects.filter(condition).exclude(status=User.Status.SUSPENDED).distinct())


def _reviewers(request: AccreditationRequest) -> list[User]:
    return list(User.objects.filter(pk__in=request.reviewer_assignments.values("reviewer_id")))


def _course_title(request: AccreditationRequest) -> dict[str, str] | str:
    """The course's title in every language (each reader sees theirs), else its code."""
    course = request.course_version.course
    title = course.title if isinstance(course.title, dict) else {}
    return {code: text for code, text in title.items() if text} or course.code


def _notify(
    recipients: Iterable[User],
    request: AccreditationRequest,
    subject: Promise,
    body: Promise,
    actor: Any = None,
    **params: Any,
) -> None:
    """Tell people (not the one who acted) about a step, by email and on the site."""
    from lms.accounts.notifications import notify

    people = {user.pk: user for user in recipients if not actor or user.pk != actor.pk}
    if not people:
        return
    notify(
        recipients=list(people.values()),
        subject=subject,
        body=body,
        params={
            "course": _course_title(request),
            "version": request.course_version.number,
            "university": request.university.name,
        }
        | params,
        url=f"/accreditation/requests/{request.pk}/",
    )


# The state machine ----------------------------------------------------------------------------


def _lock(request: AccreditationRequest) -> AccreditationRequest:
    return (
        AccreditationRequest.objects.select_for_update(of=("self",))
        .select_related("university", "owner_institution", "course_version__course")
        .get(pk=request.pk)
    )


def _move(
    request: AccreditationRequest,
    *,
    allowed_from: Sequence[str],
    to: str,
    actor: Any,
    note: str = "",
) -> None:
    """Check the step is legal from the current status, then record it."""
    if request.status not in allowed_from:
        raise IllegalTransition(
            gettext("A request that is “%(status)s” cannot become “%(to)s”.")
            % {"status": request.get_status_display(), "to": Status(to).label}
        )
    Transition.objects.create(
        request=request,
        from_status=request.status,
        to_status=to,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
    )
    request.status = to


def _require_preparer(request: AccreditationRequest, actor: Any) -> None:
    if not prepares_for(actor, request.course_version.course):
        raise PermissionDenied(gettext("Only the course's owner institution may do this."))


def _require_reviewer(request: AccreditationRequest, actor: Any) -> None:
    if not reviews(actor, request):
        raise PermissionDenied(gettext("Only validators of the request's university may do this."))


def _clean_dossier(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(DOSSIER_FIELDS)
    if unknown:
        raise ValidationError({name: gettext("This field cannot be set here.") for name in unknown})
    cleaned = dict(data)
    for name in ("contact_hours", "self_study_hours"):
        if name in cleaned:
            try:
                value = Decimal(str(cleaned[name]))
            except ArithmeticError:
                raise ValidationError({name: gettext("Enter a number of hours.")}) from None
            if value < 0 or value > 10000:
                raise ValidationError({name: gettext("Enter between 0 and 10,000 hours.")})
            cleaned[name] = value.quantize(ONE_PLACE)
    return cleaned


def create_request(
    *, course_version: CourseVersion, university: Any, actor: Any, **dossier: Any
) -> AccreditationRequest:
    """A draft request for `course_version`, prefilled from the version and the course. While
    the version has a request to the university that is not decided yet, that one is returned
    unchanged instead (one open request per version and university, even for two creates at
    once: the constraint accreditation_one_open_request)."""
    course = course_version.course
    if not prepares_for(actor, course):
        raise PermissionDenied(gettext("Only the course's owner institution may do this."))
    values: dict[str, Any] = {
        "contact_hours": course_version.contact_hours,
        "self_study_hours": course_version.self_study_hours,
        "learning_outcomes": list(
            (course.learning_outcomes or {}).get(course.default_language, [])
            if isinstance(course.learning_outcomes, dict)
            else []
        ),
        "passing_rules": _default_passing_rules(course_version),
    }
    values.update(_clean_dossier(dossier))
    university_id = getattr(university, "pk", university)
    with transaction.atomic():
        existing = open_request(course_version_id=course_version.pk, university_id=university_id)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                request = AccreditationRequest.objects.create(
                    course_version=course_version,
                    university_id=university_id,
                    owner_institution_id=course.owner_institution_id,
                    created_by=actor,
                    **values,
                )
                Transition.objects.create(request=request, to_status=Status.DRAFT, actor=actor)
        except IntegrityError:
            # The same request created at the same moment (a form posted twice): the one that
            # committed first is the request.
            existing = open_request(
                course_version_id=course_version.pk, university_id=university_id
            )
            if existing is None:
                raise
            return existing
    return request


def open_request(*, course_version_id: int, university_id: int) -> AccreditationRequest | None:
    """The request of the course version to the university that is not decided yet, if any:
    there is at most one (a new request is made once it is decided or withdrawn)."""
    return (
        AccreditationRequest.objects.filter(
            course_version_id=course_version_id,
            university_id=university_id,
            status__in=OPEN_STATUSES,
        )
        .order_by("pk")
        .first()
    )


def _default_passing_rules(version: CourseVersion) -> str:
    rules = [gettext("Score of at least %(pct)s%%.") % {"pct": version.passing_score_pct}]
    if version.min_attendance_pct:
        rules.append(
            gettext("Attendance of at least %(pct)s%%.") % {"pct": version.min_attendance_pct}
        )
    return " ".join(rules)


def update_request(*, request: AccreditationRequest, actor: Any, **dossier: Any) -> None:
    """Edit the dossier of a draft or of a request sent back for changes; a submitted request is
    frozen and edits are refused."""
    with transaction.atomic():
        request = _lock(request)
        _require_preparer(request, actor)
        if not request.is_editable:
            raise IllegalTransition(
                gettext("This request was submitted and is frozen: it cannot be edited.")
            )
        for name, value in _clean_dossier(dossier).items():
            setattr(request, name, value)
        request.save()


def attachment_error(upload: UploadedFile) -> str:
    """Why `upload` cannot be attached to a dossier ("" if it can): too large, not one of the
    document types a dossier needs, or not what its extension says (by its first bytes)."""
    name = upload.name or ""
    if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
        return gettext("Each attachment must be 20 MB or smaller.")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in ATTACHMENT_SIGNATURES:
        return gettext(
            "“%(name)s” cannot be attached: attach a PDF, Word, OpenDocument, Excel or text "
            "document, or a PNG or JPEG picture."
        ) % {"name": name}
    signatures = ATTACHMENT_SIGNATURES[extension]
    if signatures is not None:
        position = upload.tell()
        upload.seek(0)
        head = upload.read(16)
        upload.seek(position)
        if not head.startswith(signatures):
            return gettext(
                "“%(name)s” is not a %(type)s file: its contents do not match its extension."
            ) % {"name": name, "type": extension.upper()}
    return ""


def add_attachment(
    *, request: AccreditationRequest, actor: Any, upload: UploadedFile
) -> RequestAttachment:
    """Attach a file to an editable request: one of the document types a dossier needs."""
    with transaction.atomic():
        request = _lock(request)
        _require_preparer(request, actor)
        if not request.is_editable:
            raise IllegalTransition(
                gettext("This request was submitted and is frozen: it cannot be edited.")
            )
        error = attachment_error(upload)
        if error:
            raise ValidationError({"file": error})
        return RequestAttachment.objects.create(
            request=request,
            file=upload,
            name=(upload.name or "file")[:200],
            size=upload.size or 0,
            uploaded_by=actor,
        )


def _check_complete(request: AccreditationRequest) -> None:
    errors: dict[str, str] = {}
    sessions = [
        session for module in request.syllabus or [] for session in module.get("sessions", [])
    ]
    if not sessions:
        errors["syllabus"] = gettext("Outline the syllabus down to each session.")
    if not request.learning_outcomes:
        errors["learning_outcomes"] = gettext("State at least one learning outcome.")
    if not request.level:
        errors["level"] = gettext("State the level of the learning outcomes.")
    if request.framework == AccreditationRequest.Framework.NATIONAL and not request.framework_name:
        errors["framework_name"] = gettext("Name the national framework.")
    if not request.contact_hours and not request.self_study_hours:
        errors["contact_hours"] = gettext("State the contact and self-study hours.")
    if not request.assessment_methods.strip():
        errors["assessment_methods"] = gettext("Describe the assessment methods.")
    if not request.passing_rules.strip():
        errors["passing_rules"] = gettext("State the passing rules.")
    if not request.instructors:
        errors["instructors"] = gettext("List the instructors and their qualifications.")
    if errors:
        raise ValidationError(errors)


def _snapshot(request: AccreditationRequest) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    for name in DOSSIER_FIELDS:
        value = getattr(request, name)
        snapshot[name] = str(value) if isinstance(value, Decimal) else value
    snapshot["attachments"] = [
        {"name": attachment.name, "file": attachment.file.name}
        for attachment in request.attachments.all()
    ]
    return snapshot


def submit_request(*, request: AccreditationRequest, actor: Any) -> AccreditationRequest:
    """Send a draft (or a request sent back for changes) to the university. The dossier is
    snapshotted as a new Submission and is frozen until the university asks for changes."""
    with transaction.atomic():
        request = _lock(request)
        _require_preparer(request, actor)
        resubmission = request.status == Status.CHANGES_REQUESTED
        _move(
            request,
            allowed_from=(Status.DRAFT, Status.CHANGES_REQUESTED),
            to=Status.SUBMITTED,
            actor=actor,
        )
        _check_complete(request)
        request.submission_count += 1
        request.submitted_at = timezone.now()
        request.save()
        Submission.objects.create(
            request=request,
            number=request.submission_count,
            snapshot=_snapshot(request),
            submitted_by=actor,
            submitted_at=request.submitted_at,
        )
        recipients = _validators(request) + _reviewers(request)
        if resubmission:
            subject = _("Accreditation request resubmitted: %(course)s")
            body = _(
                "The changes you asked for were made to %(course)s; the request waits for your "
                "review again."
            )
        else:
            subject = _("New accreditation request: %(course)s")
            body = _("%(course)s was submitted to %(university)s for accreditation.")
        _notify(recipients, request, subject, body, actor)
    return request


def withdraw_request(
    *, request: AccreditationRequest, actor: Any, reason: str = ""
) -> AccreditationRequest:
    """The owner withdraws a request that is not decided yet."""
    with transaction.atomic():
        request = _lock(request)
        _require_preparer(request, actor)
        previous = request.status
        _move(
            request,
            allowed_from=WITHDRAWABLE_STATUSES,
            to=Status.WITHDRAWN,
            actor=actor,
            note=reason,
        )
        request.save()
        if previous != Status.DRAFT:
            _notify(
                _validators(request),
                request,
                _("Accreditation request withdrawn: %(course)s"),
                _("The owner withdrew the accreditation request of %(course)s."),
                actor,
            )
    return request


def start_review(*, request: AccreditationRequest, actor: Any) -> AccreditationRequest:
    """A validator of the university takes up a submitted request."""
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        _move(request, allowed_from=(Status.SUBMITTED,), to=Status.IN_REVIEW, actor=actor)
        request.save()
    return request


def assign_reviewer(
    *, request: AccreditationRequest, reviewer: User, actor: Any
) -> ReviewerAssignment:
    """Assign a validator of the same university to review; a submitted request goes into
    review."""
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        if not reviews(reviewer, request):
            raise ValidationError(
                {"reviewer": gettext("The reviewer must be a validator of this university.")}
            )
        if request.status not in (Status.SUBMITTED, Status.IN_REVIEW):
            raise IllegalTransition(
                gettext("Reviewers can only be assigned to a request awaiting a decision.")
            )
        assignment, created = ReviewerAssignment.objects.get_or_create(
            request=request, reviewer=reviewer, defaults={"assigned_by": actor}
        )
        if request.status == Status.SUBMITTED:
            _move(request, allowed_from=(Status.SUBMITTED,), to=Status.IN_REVIEW, actor=actor)
            request.save()
        if created:
            _notify(
                [reviewer],
                request,
                _("You were asked to review %(course)s"),
                _("Please review the accreditation request of %(course)s for %(university)s."),
                actor,
            )
    return assignment


def add_comment(*, request: AccreditationRequest, actor: Any, body: str) -> Comment:
    """A message in the request's thread; the other side is told."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": gettext("Write a comment.")})
    with transaction.atomic():
        request = _lock(request)
        is_reviewer = reviews(actor, request)
        is_owner = prepares_for(actor, request.course_version.course)
        if not (is_reviewer and sent_to_university(request)) and not is_owner:
            raise PermissionDenied(gettext("You may not comment on this request."))
        comment = Comment.objects.create(request=request, author=actor, body=body[:10000])
        recipients = (
            _owner_side(request) if is_reviewer else (_reviewers(request) or _validators(request))
        )
        if request.status != Status.DRAFT:
            _notify(
                recipients,
                request,
                _("New comment on the accreditation of %(course)s"),
                _("%(name)s wrote: %(excerpt)s"),
                actor,
                name=getattr(actor, "full_name", ""),
                excerpt=body[:300],
            )
    return comment


def request_changes(
    *, request: AccreditationRequest, actor: Any, reason: str
) -> AccreditationRequest:
    """Send the request back to its owner, who edits and resubmits it."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say which changes are needed.")})
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        _move(
            request,
            allowed_from=(Status.SUBMITTED, Status.IN_REVIEW),
            to=Status.CHANGES_REQUESTED,
            actor=actor,
            note=reason,
        )
        request.save()
        _notify(
            _owner_side(request),
            request,
            _("Changes requested for %(course)s"),
            _("%(university)s asks for changes before deciding: %(reason)s"),
            actor,
            reason=reason,
        )
    return request


@dataclass(frozen=True)
class ConditionInput:
    """A condition of an approval; `line` is where it was typed (0: its position in the list)."""

    text: str
    due_on: date
    line: int = 0


def credit_equivalents(
    *, credit_hours: Decimal, contact_hours: Decimal, hours_per_credit: int
) -> tuple[Decimal, Decimal]:
    """(ECTS credits, CEU): total workload hours / 25..30 per ECTS, contact hours / 10 per CEU."""
    ects = (credit_hours / Decimal(hours_per_credit)).quantize(ONE_PLACE, ROUND_HALF_UP)
    ceu = (contact_hours / Decimal(10)).quantize(ONE_PLACE, ROUND_HALF_UP)
    return ects, ceu


def add_years(day: date, years: int) -> date:
    """`day` `years` later (29 February becomes 28 February in a year without one). The year must
    stay within the calendar's (up to 9999): _decide refuses a start whose end would not."""
    year = day.year + years
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return day.replace(year=year, day=28)
    return day.replace(year=year)


def _condition_errors(
    conditions: Sequence[ConditionInput], valid_from: date, valid_until: date | None
) -> list[str]:
    """One message per faulty condition, naming its line: each is described and falls due
    within the accreditation, since a condition due after it ends could never be checked."""
    messages: list[str] = []
    for position, condition in enumerate(conditions, start=1):
        line = condition.line or position
        if not condition.text.strip():
            messages.append(gettext("Describe each condition."))
        elif condition.due_on <= valid_from:
            messages.append(
                gettext("Line %(line)s: the due date must be after the accreditation starts.")
                % {"line": line}
            )
        elif valid_until is not None and condition.due_on > valid_until:
            messages.append(
                gettext(
                    "Line %(line)s: the condition falls due after the accreditation ends "
                    "(%(until)s)."
                )
                % {"line": line, "until": date_format(valid_until, "DATE_FORMAT")}
            )
    return messages


def _overlapping_approval(
    request: AccreditationRequest, valid_from: date, valid_until: date
) -> AccreditationRequest | None:
    """Another approval of the same course version by the same university whose validity
    overlaps valid_from..valid_until (locked, so it cannot change until the decision commits):
    two accreditations of one version by one university are never in force at once."""
    return (
        AccreditationRequest.objects.select_for_update()
        .filter(
            course_version_id=request.course_version_id,
            university_id=request.university_id,
            status__in=AccreditationRequest.APPROVED_STATUSES,
            valid_from__lte=valid_until,
            valid_until__gte=valid_from,
        )
        .exclude(pk=request.pk)
        .order_by("-valid_until", "-pk")
        .first()
    )


def _decide(
    request: AccreditationRequest,
    *,
    actor: Any,
    credit_hours: Decimal,
    hours_per_credit: int,
    valid_from: date,
    validity_years: int,
    quality_assurance: str,
    conditions: Sequence[ConditionInput],
) -> AccreditationRequest:
    errors: dict[str, str | list[str]] = {}
    if credit_hours is None or credit_hours <= 0:
        errors["credit_hours"] = gettext("Enter the credit hours.")
    if not 25 <= int(hours_per_credit) <= 30:
        errors["ects_hours_per_credit"] = gettext(
            "An ECTS credit is 25 to 30 hours of total workload."
        )
    valid_until: date | None = None
    if not 1 <= int(validity_years) <= 10:
        errors["validity_years"] = gettext("The validity is 1 to 10 years.")
    elif valid_from.year + int(validity_years) > MAXYEAR:
        errors["valid_from"] = gettext(
            "An accreditation from this date would end after the year 9999: choose an earlier "
            "start."
        )
    else:
        valid_until = add_years(valid_from, int(validity_years)) - timedelta(days=1)
        if valid_until < timezone.localdate():
            errors["valid_from"] = gettext(
                "An accreditation from this date would already have ended: choose a later start."
            )
        else:
            in_force = _overlapping_approval(request, valid_from, valid_until)
            if in_force is not None:
                errors["valid_from"] = gettext(
                    "Accreditation %(reference)s of this course version by this university is "
                    "in force until %(until)s: start the new one after that day."
                ) % {
                    "reference": in_force.reference,
                    "until": date_format(in_force.valid_until or valid_from, "DATE_FORMAT"),
                }
    condition_errors = _condition_errors(conditions, valid_from, valid_until)
    if condition_errors:
        errors["conditions"] = condition_errors
    if errors:
        raise ValidationError(errors)
    to = Status.APPROVED_WITH_CONDITIONS if conditions else Status.APPROVED
    _move(request, allowed_from=(Status.SUBMITTED, Status.IN_REVIEW), to=to, actor=actor)
    ects, ceu = credit_equivalents(
        credit_hours=credit_hours,
        contact_hours=request.contact_hours,
        hours_per_credit=hours_per_credit,
    )
    now = timezone.now()
    request.credit_hours = credit_hours.quantize(ONE_PLACE)
    request.ects_hours_per_credit = hours_per_credit
    request.ects_credits = ects
    request.ceu = ceu
    request.valid_from = valid_from
    request.valid_until = valid_until
    request.quality_assurance = quality_assurance
    request.decided_by = actor
    request.decided_at = now
    prefix = (request.university.short_name or f"U{request.university_id}").upper()
    request.reference = f"{prefix}-{valid_from.year}-{request.pk:05d}"
    request.save()
    Condition.objects.bulk_create(
        [
            Condition(request=request, text=condition.text.strip(), due_on=condition.due_on)
            for condition in conditions
        ]
    )
    # Learners enrolled in this version keep it: any later edit makes a new version.
    freeze_version(version=request.course_version)
    if request.rereview_of_id:
        # The changed course is accredited again: the earlier approval no longer waits on it.
        AccreditationRequest.objects.filter(pk=request.rereview_of_id).update(rereview_needed=False)
    _notify(
        _owner_side(request),
        request,
        _("%(course)s, version %(version)s, is accredited by %(university)s"),
        _("Reference %(reference)s, %(hours)s credit hours, valid until %(until)s."),
        actor,
        reference=request.reference,
        hours=request.credit_hours,
        until=request.valid_until,
    )
    return request


def approve(
    *,
    request: AccreditationRequest,
    actor: Any,
    credit_hours: Decimal,
    hours_per_credit: int = 25,
    valid_from: date | None = None,
    validity_years: int = 3,
    quality_assurance: str = "",
) -> AccreditationRequest:
    """Accredit the course version: credits, equivalences and a validity period."""
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        return _decide(
            request,
            actor=actor,
            credit_hours=credit_hours,
            hours_per_credit=hours_per_credit,
            valid_from=valid_from or timezone.localdate(),
            validity_years=validity_years,
            quality_assurance=quality_assurance,
            conditions=(),
        )


def approve_with_conditions(
    *,
    request: AccreditationRequest,
    actor: Any,
    credit_hours: Decimal,
    conditions: Sequence[ConditionInput],
    hours_per_credit: int = 25,
    valid_from: date | None = None,
    validity_years: int = 3,
    quality_assurance: str = "",
) -> AccreditationRequest:
    """Accredit subject to conditions, each due by a date."""
    if not conditions:
        raise ValidationError({"conditions": gettext("State at least one condition.")})
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        return _decide(
            request,
            actor=actor,
            credit_hours=credit_hours,
            hours_per_credit=hours_per_credit,
            valid_from=valid_from or timezone.localdate(),
            validity_years=validity_years,
            quality_assurance=quality_assurance,
            conditions=conditions,
        )


def reject(*, request: AccreditationRequest, actor: Any, reason: str) -> AccreditationRequest:
    """Refuse accreditation, with the reasons."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give the reasons for the rejection.")})
    with transaction.atomic():
        request = _lock(request)
        _require_reviewer(request, actor)
        _move(
            request,
            allowed_from=(Status.SUBMITTED, Status.IN_REVIEW),
            to=Status.REJECTED,
            actor=actor,
            note=reason,
        )
        request.decision_reason = reason
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save()
        _notify(
            _owner_side(request),
            request,
            _("Accreditation of %(course)s was not granted"),
            _("%(university)s rejected the request: %(reason)s"),
            actor,
            reason=reason,
        )
    return request


def fulfil_condition(*, condition: Condition, actor: Any) -> Condition:
    """A validator records that a condition of an approval was met."""
    with transaction.atomic():
        request = _lock(condition.request)
        _require_reviewer(request, actor)
        condition = Condition.objects.select_for_update().get(pk=condition.pk)
        if condition.fulfilled_at is None:
            condition.fulfilled_at = timezone.now()
            condition.fulfilled_by = actor
            condition.save(update_fields=["fulfilled_at", "fulfilled_by"])
    return condition


# Re-review and expiry -------------------------------------------------------------------------


def flag_for_rereview(
    *, course: Course, version: CourseVersion, previous: CourseVersion | None
) -> list[AccreditationRequest]:
    """A new version of an accredited course needs a new review: flag each approval of the
    previous versions and open a draft for the new version, copied from the approved dossier.
    Learners already enrolled keep the accredited version. Idempotent."""
    drafts: list[AccreditationRequest] = []
    with transaction.atomic():
        approvals = list(
            AccreditationRequest.objects.select_for_update(of=("self",))
            .filter(
                course_version__course=course,
                status__in=AccreditationRequest.APPROVED_STATUSES,
                valid_until__gte=timezone.localdate(),
            )
            .exclude(course_version=version)
            .select_related("university", "owner_institution", "course_version__course")
        )
        for approval in approvals:
            if AccreditationRequest.objects.filter(
                rereview_of=approval, course_version=version
            ).exists():
                continue
            approval.rereview_needed = True
            approval.save(update_fields=["rereview_needed", "updated_at"])
            draft = _rereview_draft(approval, version)
            if draft is None:
                continue
            # The note is shown to readers of every language: the approval's reference alone
            # (the page says "Re-review of accreditation …" in the reader's language).
            Transition.objects.create(
                request=draft, to_status=Status.DRAFT, note=approval.reference
            )
            drafts.append(draft)
            subject = _("%(course)s changed: its accreditation needs a re-review")
            body = _(
                "A new version of an accredited course was made. A draft request for it is "
                "ready for the owner to complete and submit to %(university)s."
            )
            owners = _owner_side(approval)
            _notify(owners, draft, subject, body)
            # The validators may not open the draft until it is submitted: their notice links
            # to the approval, whose page says that a re-review is needed.
            owner_ids = {user.pk for user in owners}
            _notify(
                [user for user in _validators(approval) if user.pk not in owner_ids],
                approval,
                subject,
                body,
            )
    return drafts


def _rereview_draft(
    approval: AccreditationRequest, version: CourseVersion
) -> AccreditationRequest | None:
    """A draft for `version` copied from `approval`; None when the version already has a request
    to the university not decided yet (one per version and university), which then becomes the
    re-review of `approval` unless it is another's."""
    try:
        with transaction.atomic():
            return AccreditationRequest.objects.create(
                course_version=version,
                university_id=approval.university_id,
                owner_institution_id=approval.owner_institution_id,
                created_by_id=approval.created_by_id,
                rereview_of=approval,
                **{name: getattr(approval, name) for name in DOSSIER_FIELDS},
            )
    except IntegrityError:
        existing = open_request(course_version_id=version.pk, university_id=approval.university_id)
        if existing is None:
            raise
    AccreditationRequest.objects.filter(pk=existing.pk, rereview_of__isnull=True).update(
        rereview_of=approval
    )
    return None


def warn_expiring(*, today: date | None = None) -> int:
    """Warn owners of accreditations that expire within 60 and 30 days (each warning once).
    Returns the number of warnings sent."""
    today = today or timezone.localdate()
    sent = 0
    # Nearest threshold first, so that a late first run sends one warning, not two.
    for days in sorted(EXPIRY_WARNING_DAYS):
        due = AccreditationRequest.objects.filter(
            status__in=AccreditationRequest.APPROVED_STATUSES,
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=days),
        ).exclude(expiry_warnings__days_before__lte=days)
        for request in due.select_related(
            "university", "owner_institution", "course_version__course"
        ):
            with transaction.atomic():
                _warning, created = ExpiryWarning.objects.get_or_create(
                    request=request, days_before=days
                )
                if not created:
                    continue
                _notify(
                    _owner_side(request),
                    request,
                    _("The accreditation of %(course)s expires on %(until)s"),
                    _(
                        "Accreditation %(reference)s by %(university)s expires on %(until)s. "
                        "Certificates issued after that date will not state it: submit a new "
                        "request in time."
                    ),
                    reference=request.reference,
                    until=request.valid_until or "",
                )
                sent += 1
    return sent
