"""Every step of the state machine, who and when it records, and every refusal."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accreditation import services
from accreditation.models import AccreditationRequest, Transition
from accreditation.services import ConditionInput, IllegalTransition
from lms.accounts.models import Notification
from tests.accreditation.conftest import DOSSIER

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def steps(request: AccreditationRequest) -> list[tuple[str, str, int | None]]:
    return list(
        Transition.objects.filter(request=request).values_list(
            "from_status", "to_status", "actor_id"
        )
    )


def test_coordinator_creates_a_draft_prefilled_from_the_version(
    version: Any, university: Any, coordinator: Any
) -> None:
    request = services.create_request(
        course_version=version, university=university, actor=coordinator
    )
    assert request.status == Status.DRAFT
    assert request.contact_hours == Decimal("40.0")
    assert request.self_study_hours == Decimal("35.0")
    assert request.owner_institution_id == version.course.owner_institution_id
    assert steps(request) == [("", "draft", coordinator.pk)]


def test_draft_can_be_edited(draft: AccreditationRequest, coordinator: Any) -> None:
    services.update_request(request=draft, actor=coordinator, level="6", contact_hours="42")
    draft.refresh_from_db()
    assert draft.level == "6"
    assert draft.contact_hours == Decimal("42.0")


def test_submit_records_a_submission_and_tells_the_validators(
    draft: AccreditationRequest, coordinator: Any, validator: Any, other_validator: Any
) -> None:
    with _commit():
        services.submit_request(request=draft, actor=coordinator)
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.submission_count == 1
    assert draft.submissions.get().snapshot["level"] == "5"
    assert steps(draft)[-1] == ("draft", "submitted", coordinator.pk)
    assert Notification.objects.filter(user=validator).count() == 1
    assert not Notification.objects.filter(user=other_validator).exists()
    assert [message.to for message in mail.outbox] == [[validator.email]]


def test_incomplete_request_cannot_be_submitted(
    version: Any, university: Any, coordinator: Any
) -> None:
    request = services.create_request(
        course_version=version, university=university, actor=coordinator
    )
    with pytest.raises(ValidationError) as error:
        services.submit_request(request=request, actor=coordinator)
    assert {"syllabus", "level", "assessment_methods", "instructors"} <= set(
        error.value.message_dict
    )
    request.refresh_from_db()
    assert request.status == Status.DRAFT
    assert len(steps(request)) == 1


def test_submitted_request_is_frozen(submitted: AccreditationRequest, coordinator: Any) -> None:
    with pytest.raises(IllegalTransition, match="frozen"):
        services.update_request(request=submitted, actor=coordinator, level="7")
    submitted.refresh_from_db()
    assert submitted.level == "5"


def test_validator_starts_review(submitted: AccreditationRequest, validator: Any) -> None:
    services.start_review(request=submitted, actor=validator)
    assert steps(submitted)[-1] == ("submitted", "in_review", validator.pk)


def test_assigning_a_reviewer_starts_review_and_tells_them(
    submitted: AccreditationRequest, validator: Any, second_validator: Any
) -> None:
    with _commit():
        services.assign_reviewer(request=submitted, reviewer=second_validator, actor=validator)
    submitted.refresh_from_db()
    assert submitted.status == Status.IN_REVIEW
    assert list(submitted.reviewers.all()) == [second_validator]
    assert Notification.objects.filter(user=second_validator, url__contains=str(submitted.pk))


def test_reviewer_must_belong_to_the_university(
    submitted: AccreditationRequest, validator: Any, other_validator: Any
) -> None:
    with pytest.raises(ValidationError) as error:
        services.assign_reviewer(request=submitted, reviewer=other_validator, actor=validator)
    assert "reviewer" in error.value.message_dict


def test_request_changes_then_resubmit_keeps_each_submission(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    services.start_review(request=submitted, actor=validator)
    with _commit():
        services.request_changes(request=submitted, actor=validator, reason="Add the session hours")
    assert Notification.objects.filter(user=coordinator, subject__contains="Changes").exists()
    services.update_request(request=submitted, actor=coordinator, level="6")
    services.submit_request(request=submitted, actor=coordinator)
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    assert [s.snapshot["level"] for s in submitted.submissions.order_by("number")] == ["5", "6"]
    assert [(a, b) for a, b, _ in steps(submitted)] == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "changes_requested"),
        ("changes_requested", "submitted"),
    ]


def test_approve_sets_credits_validity_reference_and_freezes_the_version(
    submitted: AccreditationRequest, validator: Any, coordinator: Any
) -> None:
    with _commit():
        services.approve(
            request=submitted,
            actor=validator,
            credit_hours=Decimal("75"),
            hours_per_credit=25,
            valid_from=date(2026, 1, 1),
            validity_years=3,
        )
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED
    assert submitted.ects_credits == Decimal("3.0")
    assert submitted.ceu == Decimal("4.0")  # 40 contact hours / 10
    assert submitted.valid_until == date(2028, 12, 31)
    assert submitted.reference.endswith(f"-2026-{submitted.pk:05d}")
    assert submitted.decided_by == validator
    assert submitted.course_version.is_frozen
    assert steps(submitted)[-1] == ("submitted", "approved", validator.pk)
    assert Notification.objects.filter(user=coordinator, subject__contains="accredited").exists()


def test_ects_divisor_of_30(submitted: AccreditationRequest, validator: Any) -> None:
    services.approve(
        request=submitted, actor=validator, credit_hours=Decimal("75"), hours_per_credit=30
    )
    submitted.refresh_from_db()
    assert submitted.ects_credits == Decimal("2.5")


@pytest.mark.parametrize("divisor", [24, 31])
def test_ects_divisor_outside_25_to_30_is_refused(
    submitted: AccreditationRequest, validator: Any, divisor: int
) -> None:
    with pytest.raises(ValidationError) as error:
        services.approve(
            request=submitted, actor=validator, credit_hours=Decimal("75"), hours_per_credit=divisor
        )
    assert "ects_hours_per_credit" in error.value.message_dict
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


def test_approve_with_conditions(submitted: AccreditationRequest, validator: Any) -> None:
    due = timezone.localdate() + timedelta(days=90)
    services.approve_with_conditions(
        request=submitted,
        actor=validator,
        credit_hours=Decimal("75"),
        conditions=[ConditionInput(text="Add a module on gender-based violence", due_on=due)],
    )
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED_WITH_CONDITIONS
    condition = submitted.conditions.get()
    assert condition.due_on == due
    services.fulfil_condition(condition=condition, actor=validator)
    condition.refresh_from_db()
    assert condition.fulfilled_by == validator


def test_approve_with_conditions_needs_a_condition(
    submitted: AccreditationRequest, validator: Any
) -> None:
    with pytest.raises(ValidationError):
        services.approve_with_conditions(
            request=submitted, actor=validator, credit_hours=Decimal("75"), conditions=[]
        )


def test_reject_with_reasons(
    submitted: AccreditationRequest, validator: Any, coordinator: Any
) -> None:
    with pytest.raises(ValidationError):
        services.reject(request=submitted, actor=validator, reason=" ")
    with _commit():
        services.reject(request=submitted, actor=validator, reason="Outcomes are not assessed")
    assert Notification.objects.filter(
        user=coordinator, body__contains="Outcomes are not assessed"
    ).exists()
    submitted.refresh_from_db()
    assert submitted.status == Status.REJECTED
    assert submitted.decision_reason == "Outcomes are not assessed"
    assert steps(submitted)[-1] == ("submitted", "rejected", validator.pk)


def test_withdraw(submitted: AccreditationRequest, coordinator: Any) -> None:
    services.withdraw_request(request=submitted, actor=coordinator)
    assert steps(submitted)[-1] == ("submitted", "withdrawn", coordinator.pk)


def test_comments_from_both_sides_notify_the_other(
    submitted: AccreditationRequest, validator: Any, coordinator: Any
) -> None:
    with _commit():
        services.add_comment(request=submitted, actor=validator, body="Which textbook?")
        services.add_comment(request=submitted, actor=coordinator, body="The UN handbook.")
    assert list(submitted.comments.values_list("body", flat=True)) == [
        "Which textbook?",
        "The UN handbook.",
    ]
    assert Notification.objects.filter(user=coordinator, body__contains="textbook").exists()
    assert Notification.objects.filter(user=validator, body__contains="UN handbook").exists()


# Illegal transitions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "kwargs"),
    [
        ("start_review", {}),
        ("request_changes", {"reason": "x"}),
        ("approve", {"credit_hours": Decimal("10")}),
        ("reject", {"reason": "x"}),
    ],
)
def test_draft_cannot_be_reviewed(
    draft: AccreditationRequest, validator: Any, step: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(IllegalTransition):
        getattr(services, step)(request=draft, actor=validator, **kwargs)


def test_approved_request_cannot_be_rejected_or_resubmitted(
    submitted: AccreditationRequest, validator: Any, coordinator: Any
) -> None:
    services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    with pytest.raises(IllegalTransition):
        services.reject(request=submitted, actor=validator, reason="Changed my mind")
    with pytest.raises(IllegalTransition):
        services.submit_request(request=submitted, actor=coordinator)
    with pytest.raises(IllegalTransition):
        services.update_request(request=submitted, actor=coordinator, level="7")
    with pytest.raises(IllegalTransition):
        services.withdraw_request(request=submitted, actor=coordinator)


def test_submitted_request_cannot_be_submitted_twice(
    submitted: AccreditationRequest, coordinator: Any
) -> None:
    with pytest.raises(IllegalTransition):
        services.submit_request(request=submitted, actor=coordinator)


def test_rejected_request_cannot_be_approved(
    submitted: AccreditationRequest, validator: Any
) -> None:
    services.reject(request=submitted, actor=validator, reason="No")
    with pytest.raises(IllegalTransition):
        services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))


# Refusals by person ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "kwargs"),
    [
        ("start_review", {}),
        ("request_changes", {"reason": "x"}),
        ("approve", {"credit_hours": Decimal("10")}),
        ("reject", {"reason": "x"}),
    ],
)
@pytest.mark.parametrize("who", ["other_validator", "coordinator", "learner", "dps_admin"])
def test_only_validators_of_the_university_decide(
    request: pytest.FixtureRequest,
    submitted: AccreditationRequest,
    who: str,
    step: str,
    kwargs: dict[str, Any],
) -> None:
    person = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        getattr(services, step)(request=submitted, actor=person, **kwargs)
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


@pytest.mark.parametrize("who", ["other_coordinator", "validator", "learner"])
def test_only_the_owner_prepares_and_submits(
    request: pytest.FixtureRequest,
    draft: AccreditationRequest,
    version: Any,
    university: Any,
    who: str,
) -> None:
    person = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.create_request(course_version=version, university=university, actor=person)
    with pytest.raises(PermissionDenied):
        services.update_request(request=draft, actor=person, level="9")
    with pytest.raises(PermissionDenied):
        services.submit_request(request=draft, actor=person)


def test_dps_may_prepare_for_any_owner(version: Any, university: Any, dps_admin: Any) -> None:
    request = services.create_request(
        course_version=version, university=university, actor=dps_admin, **DOSSIER
    )
    request = services.submit_request(request=request, actor=dps_admin)
    assert request.status == Status.SUBMITTED


def test_validator_of_another_university_cannot_comment(
    submitted: AccreditationRequest, other_validator: Any
) -> None:
    with pytest.raises(PermissionDenied):
        services.add_comment(request=submitted, actor=other_validator, body="Hello")


# Helpers --------------------------------------------------------------------------------------


class _commit:  # noqa: N801 - used as a context manager, reads like one
    """Run on_commit callbacks (notification emails) at the end of the block, as a real commit
    would."""

    def __enter__(self) -> None:
        from django.db import connection

        self._start = len(connection.run_on_commit)

    def __exit__(self, *exc: object) -> None:
        from django.db import connection

        callbacks = connection.run_on_commit[self._start :]
        del connection.run_on_commit[self._start :]
        for _sids, callback, _robust in callbacks:
            callback()


def test_an_accreditation_that_would_already_have_ended_is_refused(
    submitted: AccreditationRequest, validator: Any
) -> None:
    """From 1999 for three years ended in 2001: refused on the start date, nothing changed."""
    with pytest.raises(ValidationError) as refused:
        services.approve(
            request=submitted, actor=validator, credit_hours=Decimal("75"),
            hours_per_credit=25, valid_from=date(1999, 1, 1), validity_years=3,
        )  # fmt: skip
    assert "valid_from" in refused.value.message_dict
    submitted.refresh_from_db()
    assert (submitted.status, submitted.reference) == (Status.SUBMITTED, "")
