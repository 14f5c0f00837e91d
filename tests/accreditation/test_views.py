"""The accreditation pages: who sees and does what over HTTP, refusals as 4xx with a message."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accreditation import services
from accreditation.models import AccreditationRequest
from tests.accreditation.conftest import client_for
from tests.accreditation.factories import RequestFactory

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def detail(req: AccreditationRequest) -> str:
    return reverse("accreditation:detail", args=[req.pk])


def act(req: AccreditationRequest, action: str) -> str:
    return reverse("accreditation:act", args=[req.pk, action])


def test_anonymous_is_sent_to_sign_in(submitted: AccreditationRequest) -> None:
    for url in (detail(submitted), reverse("accreditation:portal"), act(submitted, "approve")):
        response = Client().post(url) if url.endswith("approve/") else Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login" in response["Location"]


@pytest.mark.parametrize("who", ["learner", "other_validator", "other_coordinator"])
def test_outsiders_cannot_see_a_request(
    request: pytest.FixtureRequest, submitted: AccreditationRequest, who: str
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(detail(submitted)).status_code == 403
    assert client.post(act(submitted, "comment"), {"body": "hi"}).status_code == 403


def test_validator_cannot_see_an_unsubmitted_draft(
    draft: AccreditationRequest, validator: Any
) -> None:
    assert client_for(validator).get(detail(draft)).status_code == 403


def test_validator_of_another_university_cannot_approve(
    submitted: AccreditationRequest, other_validator: Any
) -> None:
    response = client_for(other_validator).post(
        act(submitted, "approve"),
        {
            "credit_hours": "75",
            "ects_hours_per_credit": "25",
            "valid_from": "2026-01-01",
            "validity_years": "3",
        },
    )
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


def test_learner_gets_no_portal(learner: Any) -> None:
    assert client_for(learner).get(reverse("accreditation:portal")).status_code == 403
    assert client_for(learner).get(reverse("accreditation:index")).status_code == 403


def test_coordinator_creates_edits_and_submits(
    coordinator: Any, version: Any, university: Any
) -> None:
    client = client_for(coordinator)
    response = client.post(
        reverse("accreditation:new"),
        {"course_version": version.pk, "university": university.pk},
    )
    assert response.status_code == 302
    req = AccreditationRequest.objects.get()
    response = client.post(
        reverse("accreditation:edit", args=[req.pk]),
        {
            "syllabus": "Foundations\n- Human rights standards | 4\n- Use of force | 6",
            "learning_outcomes": "Applies proportionality\nReports on the use of force",
            "framework": "EQF",
            "level": "5",
            "contact_hours": "40",
            "self_study_hours": "35",
            "delivery_mode": "blended",
            "assessment_methods": "Written exam",
            "passing_rules": "70%",
            "instructors": "Ana Gil: LLM",
        },
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.syllabus == [
        {
            "module": "Foundations",
            "sessions": [
                {"title": "Human rights standards", "hours": "4"},
                {"title": "Use of force", "hours": "6"},
            ],
        }
    ]
    assert req.instructors == [{"name": "Ana Gil", "qualifications": "LLM"}]
    assert client.post(act(req, "submit")).status_code == 302
    req.refresh_from_db()
    assert req.status == Status.SUBMITTED


def test_editing_a_frozen_request_is_refused_with_409(
    submitted: AccreditationRequest, coordinator: Any
) -> None:
    client = client_for(coordinator)
    response = client.get(reverse("accreditation:edit", args=[submitted.pk]))
    assert response.status_code == 409
    assert "frozen" in response.content.decode()
    response = client.post(reverse("accreditation:edit", args=[submitted.pk]), {"level": "9"})
    assert response.status_code == 409
    submitted.refresh_from_db()
    assert submitted.level == "5"


def test_illegal_transition_is_a_409_with_a_message(
    submitted: AccreditationRequest, validator: Any
) -> None:
    services.reject(request=submitted, actor=validator, reason="No")
    response = client_for(validator).post(act(submitted, "start-review"))
    assert response.status_code == 409
    assert "cannot become" in response.content.decode()


def test_validator_approves_with_conditions_through_the_page(
    submitted: AccreditationRequest, validator: Any
) -> None:
    response = client_for(validator).post(
        act(submitted, "approve"),
        {
            "credit_hours": "75",
            "ects_hours_per_credit": "30",
            "valid_from": "2026-01-01",
            "validity_years": "3",
            "conditions": "2026-06-30: Add a module on gender-based violence",
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED_WITH_CONDITIONS
    assert submitted.ects_credits == Decimal("2.5")
    assert submitted.conditions.get().text == "Add a module on gender-based violence"


def test_bad_ects_divisor_is_a_400_naming_the_field(
    submitted: AccreditationRequest, validator: Any
) -> None:
    response = client_for(validator).post(
        act(submitted, "approve"),
        {
            "credit_hours": "75",
            "ects_hours_per_credit": "40",
            "valid_from": "2026-01-01",
            "validity_years": "3",
        },
    )
    assert response.status_code == 400
    assert 'id="id_ects_hours_per_credit_error"' in response.content.decode()


def test_request_changes_and_reject_need_reasons(
    submitted: AccreditationRequest, validator: Any
) -> None:
    client = client_for(validator)
    assert client.post(act(submitted, "request-changes"), {"reason": ""}).status_code == 400
    assert (
        client.post(act(submitted, "request-changes"), {"reason": "More hours"}).status_code == 302
    )
    submitted.refresh_from_db()
    assert submitted.status == Status.CHANGES_REQUESTED


def test_portal_lists_only_the_universitys_requests(
    submitted: AccreditationRequest,
    validator: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(5):
        RequestFactory(university=submitted.university, status=Status.SUBMITTED)
    foreign = RequestFactory(status=Status.SUBMITTED)
    foreign.course_version.course.code = "foreign-course-xyz"
    foreign.course_version.course.save()
    client = client_for(validator)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("accreditation:portal"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('href="/accreditation/requests/') >= 6
    assert f"/accreditation/requests/{foreign.pk}/" not in body


def test_owner_list_queries_do_not_grow_with_rows(
    coordinator: Any, institution: Any, django_assert_max_num_queries: Any
) -> None:
    from tests.accreditation.factories import course_for

    for _ in range(8):
        RequestFactory(course_version=course_for(institution))
    client = client_for(coordinator)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("accreditation:index"))
    assert response.status_code == 200
    assert response.content.decode().count("/accreditation/requests/") == 8


def test_network_page_shows_the_coordinating_university(db: None) -> None:
    from tests.factories import UniversityFactory

    UniversityFactory(name="Universidad Coordinadora", is_coordinating=True)
    response = Client().get(reverse("accreditation:universities"))
    assert response.status_code == 200
    assert "Coordinating university" in response.content.decode()


def test_validator_and_coordinator_see_the_accreditation_link(
    validator: Any, coordinator: Any, learner: Any
) -> None:
    link = 'href="/accreditation/"'
    assert link in client_for(validator).get("/accreditation/portal/").content.decode()
    assert link in client_for(coordinator).get("/accreditation/").content.decode()
    assert link not in client_for(learner).get("/accreditation/universities/").content.decode()


def test_owner_attaches_a_file_to_a_draft_but_not_after_submitting(
    draft: AccreditationRequest, coordinator: Any, tmp_path: Any, settings: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client = client_for(coordinator)
    upload = SimpleUploadedFile("syllabus.pdf", b"%PDF-1.4 syllabus", "application/pdf")
    assert client.post(act(draft, "attach"), {"file": upload}).status_code == 302
    assert draft.attachments.get().name == "syllabus.pdf"
    services.submit_request(request=draft, actor=coordinator)
    assert draft.submissions.get().snapshot["attachments"][0]["name"] == "syllabus.pdf"
    late = SimpleUploadedFile("late.pdf", b"%PDF-1.4 late", "application/pdf")
    assert client.post(act(draft, "attach"), {"file": late}).status_code == 409
    assert draft.attachments.count() == 1


def test_request_page_renders_for_both_sides(
    submitted: AccreditationRequest,
    coordinator: Any,
    validator: Any,
    django_assert_max_num_queries: Any,
) -> None:
    services.add_comment(request=submitted, actor=validator, body="Which textbook?")
    for user in (coordinator, validator):
        client = client_for(user)
        with django_assert_max_num_queries(20):
            response = client.get(detail(submitted))
        assert response.status_code == 200
        assert "Which textbook?" in response.content.decode()
    assert 'id="approve-form"' in client_for(validator).get(detail(submitted)).content.decode()
    assert (
        'id="approve-form"' not in client_for(coordinator).get(detail(submitted)).content.decode()
    )


def test_validator_marks_a_condition_fulfilled(
    submitted: AccreditationRequest, validator: Any, other_validator: Any
) -> None:
    from datetime import date

    services.approve_with_conditions(
        request=submitted,
        actor=validator,
        credit_hours=Decimal("75"),
        valid_from=date(2026, 1, 1),
        conditions=[services.ConditionInput(text="Add a module", due_on=date(2026, 6, 30))],
    )
    condition = submitted.conditions.get()
    other = client_for(other_validator).post(act(submitted, "fulfil"), {"condition": condition.pk})
    assert other.status_code == 403
    response = client_for(validator).post(act(submitted, "fulfil"), {"condition": condition.pk})
    assert response.status_code == 302
    condition.refresh_from_db()
    assert condition.fulfilled_by == validator


def _section_nav(page: Any) -> bytes:
    """The accreditation section's own navigation (the site header links /accreditation/ for
    everyone with a role there: validators are sent on to their portal)."""
    html = page.content
    start = html.index(b'class="filters"')
    return html[start : html.index(b"</nav>", start)]


def test_the_section_links_only_the_pages_each_person_may_open(
    submitted: AccreditationRequest, coordinator: Any, validator: Any, dps_admin: Any
) -> None:
    requests_link = b'href="' + reverse("accreditation:index").encode() + b'"'
    portal_link = b'href="' + reverse("accreditation:portal").encode() + b'"'
    # the owner side sees its requests, not the validator portal (403 for it); the university's
    # validator the other way round
    cases = [
        (coordinator, "accreditation:index", requests_link, portal_link),
        (dps_admin, "accreditation:index", requests_link, portal_link),
        (validator, "accreditation:portal", portal_link, requests_link),
    ]
    for user, home, shown, hidden in cases:
        client = client_for(user)
        for url in (reverse(home), detail(submitted)):
            page = client.get(url)
            assert page.status_code == 200
            assert shown in _section_nav(page)
            assert hidden not in _section_nav(page)
    for user in (coordinator, dps_admin):
        assert client_for(user).get(reverse("accreditation:portal")).status_code == 403


def test_the_request_page_labels_its_validity_and_credits_in_spanish(
    submitted: AccreditationRequest, validator: Any
) -> None:
    """ "Validity" is the accreditation's period (a certificate's "Valid" is a status, translated
    apart), and a label starts with a capital even where the field's name does not."""
    from decimal import Decimal

    from django.utils import translation

    from accreditation import services

    services.start_review(request=submitted, actor=validator)
    services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    validator.preferred_language = "es"
    validator.save(update_fields=["preferred_language"])
    with translation.override("es"):
        page = client_for(validator).get(detail(submitted)).text
    assert "<dt>Vigencia</dt>" in page
    assert "<dt>Créditos ECTS</dt>" in page


def test_dossier_lines_that_cannot_be_read_are_refused_naming_them() -> None:
    from django import forms as django_forms

    from accreditation.forms import text_to_instructors, text_to_syllabus

    assert text_to_syllabus("Módulo 1\n- Sesión 1 | 4\n- Sesión 2 | 1,5\n- Sesión 3") == [
        {"module": "Módulo 1", "sessions": [
            {"title": "Sesión 1", "hours": "4"}, {"title": "Sesión 2", "hours": "1.5"},
            {"title": "Sesión 3", "hours": ""},
        ]},
    ]  # fmt: skip
    with pytest.raises(django_forms.ValidationError, match=re.escape("“Sesión 1 | abc”: write")):
        text_to_syllabus("Módulo 1\n- Sesión 1 | abc")
    assert text_to_instructors("Isabel Rojas: LLM") == [
        {"name": "Isabel Rojas", "qualifications": "LLM"}
    ]
    for line in ("Isabel Rojas", ": LLM", "Isabel Rojas:"):
        with pytest.raises(django_forms.ValidationError, match="the name, “:”"):
            text_to_instructors(line)
