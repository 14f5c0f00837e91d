"""Second QA round on the accreditation pages: conditions within the accreditation, the owner's
actions heading, course titles in notifications and forms, the level sentence, and submitting an
incomplete request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import formats, timezone, translation

from accreditation import services
from accreditation.models import AccreditationRequest
from accreditation.services import ConditionInput
from lms.accounts.models import Notification
from tests.accreditation.conftest import client_for

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def act(req: AccreditationRequest, action: str) -> str:
    return reverse("accreditation:act", args=[req.pk, action])


def detail(req: AccreditationRequest) -> str:
    return reverse("accreditation:detail", args=[req.pk])


# 1. A condition falls due within the accreditation -------------------------------------------


def year(offset: int) -> int:
    """A year counted from the approval's start, 6 December of next year (the form takes a start
    up to two years ahead)."""
    return timezone.localdate().year + 1 + offset


def approve_form(conditions: str) -> dict[str, str]:
    return {
        "credit_hours": "75",
        "ects_hours_per_credit": "25",
        "valid_from": f"{year(0)}-12-06",
        "validity_years": "3",
        "conditions": conditions,
    }


def test_a_condition_due_after_the_accreditation_ends_is_refused_naming_its_line(
    submitted: AccreditationRequest, validator: Any
) -> None:
    response = client_for(validator).post(
        act(submitted, "approve"),
        approve_form(f"{year(1)}-06-30: Add a module\n\n{year(5)}-01-01: après l'expiration"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_conditions_error"' in page
    with translation.override("en"):
        until = formats.date_format(date(year(3), 12, 5), "DATE_FORMAT")
    assert f"Line 3: the condition falls due after the accreditation ends ({until})." in page
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    assert not submitted.conditions.exists()


def test_a_condition_due_before_the_start_is_an_instruction_naming_its_line(
    submitted: AccreditationRequest, validator: Any
) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.approve_with_conditions(
            request=submitted,
            actor=validator,
            credit_hours=Decimal("75"),
            valid_from=date(2040, 12, 6),
            conditions=[
                ConditionInput(text="Add a module", due_on=date(2041, 1, 1)),
                ConditionInput(text="Too early", due_on=date(2040, 12, 6)),
            ],
        )
    assert refused.value.message_dict == {
        "conditions": ["Line 2: the due date must be after the accreditation starts."]
    }


def test_a_condition_due_on_the_last_day_is_accepted(
    submitted: AccreditationRequest, validator: Any
) -> None:
    response = client_for(validator).post(
        act(submitted, "approve"), approve_form(f"{year(3)}-12-05: Report on the first cohort")
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.valid_until == date(year(3), 12, 5)
    assert submitted.conditions.get().due_on == date(year(3), 12, 5)


# 2. The owner's actions heading ---------------------------------------------------------------


def test_the_owners_actions_heading_shows_only_with_actions(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    client = client_for(coordinator)
    assert 'id="owner-actions"' in client.get(detail(submitted)).content.decode()
    services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    page = client.get(detail(submitted), HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert 'id="owner-actions"' not in page
    assert "Suas ações" not in page


# 3. The course named by its title -------------------------------------------------------------


def test_notifications_name_the_course_by_its_title_in_the_readers_language(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    course = submitted.course_version.course
    course.title = {"en": "Human rights in policing", "pt": "Direitos humanos na polícia"}
    course.save(update_fields=["title"])
    coordinator.preferred_language = "pt"
    coordinator.save(update_fields=["preferred_language"])
    services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    notice = Notification.objects.get(user=coordinator)
    number = submitted.course_version.number
    assert notice.subject.startswith("Direitos humanos na polícia")
    assert course.code not in notice.subject
    with translation.override("en"):
        assert notice.shown_subject() == (
            f"Human rights in policing, version {number}, is accredited by "
            f"{submitted.university.name}"
        )


def test_the_new_request_form_names_courses_by_title_and_universities_in_full(
    coordinator: Any, version: Any, university: Any
) -> None:
    university.short_name = "URPI"
    university.save(update_fields=["short_name"])
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    page = client_for(coordinator).get(reverse("accreditation:new")).content.decode()
    with translation.override("es"):
        label = translation.gettext("%(course)s, version %(number)s") % {
            "course": "Derechos humanos en la función policial",
            "number": version.number,
        }
    assert f">{label}</option>" in page
    assert f">{university.name}</option>" in page
    assert ">URPI</option>" not in page
    assert f"{version.course.code} v{version.number}" not in page


# 6. The level as one sentence -----------------------------------------------------------------


def test_the_level_is_one_sentence_a_translator_can_punctuate(
    submitted: AccreditationRequest, coordinator: Any
) -> None:
    coordinator.preferred_language = "fr"
    coordinator.save(update_fields=["preferred_language"])
    page = client_for(coordinator).get(detail(submitted)).content.decode()
    assert "<p>Niveau : EQF 5</p>" in page


# 9. An incomplete submission comes back to the request page -----------------------------------


def test_an_incomplete_submission_redirects_to_the_request_page_with_the_reasons(
    coordinator: Any, version: Any, university: Any
) -> None:
    req = services.create_request(course_version=version, university=university, actor=coordinator)
    client = client_for(coordinator)
    response = client.post(act(req, "submit"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == detail(req)
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert '<p class="message message-error">State at least one learning outcome.</p>' in text
    req.refresh_from_db()
    assert req.status == Status.DRAFT
    assert not req.submissions.exists()
    # The message is shown once: reloading the page neither posts again nor repeats it.
    assert "State at least one learning outcome." not in client.get(detail(req)).content.decode()
