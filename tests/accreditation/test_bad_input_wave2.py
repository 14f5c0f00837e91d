"""Second wave of bad input on the accreditation pages: a condition that is not a number, an
approval starting in the year 9999, a syllabus session of endless hours, the decimal comma of
French, Spanish and Portuguese readers, the same request created twice, and attachments that are
programs or pages. Each is a 400 naming the field, never a 500, with nothing written."""

from __future__ import annotations

import re
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django import forms as django_forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from accreditation import services
from accreditation.forms import ApproveForm, DossierForm, text_to_syllabus
from accreditation.models import AccreditationRequest, RequestAttachment
from tests.accreditation.conftest import DOSSIER, client_for
from tests.accreditation.factories import CourseVersionFactory

pytestmark = pytest.mark.django_db

Status = AccreditationRequest.Status


def act(req: AccreditationRequest, action: str) -> str:
    return reverse("accreditation:act", args=[req.pk, action])


def error_of(page: str, field: str) -> str:
    """The text of a field's error block on a rendered page ("" when it has none)."""
    marker = f'<div id="id_{field}_error">'
    if marker not in page:
        return ""
    return page[page.index(marker) :].split("</div>")[0]


def speaks(user: Any, language: str) -> Any:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])
    return user


# 1. The condition marked as fulfilled is a number -------------------------------------------


@pytest.fixture
def with_condition(submitted: AccreditationRequest, validator: Any) -> AccreditationRequest:
    today = timezone.localdate()
    return services.approve_with_conditions(
        request=submitted,
        actor=validator,
        credit_hours=Decimal("75"),
        valid_from=today,
        conditions=[services.ConditionInput(text="Add a module", due_on=today + timedelta(90))],
    )


@pytest.mark.parametrize(
    "value", ["abc", "", " ", "1.0", "-1", "１２", "٣", "9" * 40, "1e3", "0x1", "12 "]
)
def test_a_condition_that_is_not_a_number_is_a_400_naming_the_field(
    with_condition: AccreditationRequest, validator: Any, value: str
) -> None:
    response = client_for(validator).post(
        act(with_condition, "fulfil"), {"condition": value}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Condition: choose one of the conditions of this accreditation." in response.text
    assert not with_condition.conditions.filter(fulfilled_at__isnull=False).exists()


def test_a_condition_of_another_request_is_refused_and_its_own_recorded(
    with_condition: AccreditationRequest, validator: Any
) -> None:
    condition = with_condition.conditions.get()
    client = client_for(validator)
    foreign = client.post(act(with_condition, "fulfil"), {"condition": str(condition.pk + 1000)})
    assert foreign.status_code == 400
    assert "Condition: choose one of the conditions" in foreign.text
    recorded = client.post(act(with_condition, "fulfil"), {"condition": str(condition.pk)})
    assert recorded.status_code == 302
    condition.refresh_from_db()
    assert condition.fulfilled_by == validator


# 2. The start of an approval is a date near today --------------------------------------------


def decision(**values: str) -> dict[str, str]:
    return {
        "credit_hours": "75",
        "ects_hours_per_credit": "25",
        "valid_from": timezone.localdate().isoformat(),
        "validity_years": "3",
    } | values


@pytest.mark.parametrize(
    ("valid_from", "years"),
    [
        ("9999-06-01", "3"),
        ("9998-06-01", "3"),
        ("9999-12-31", "10"),
        ("9990-01-01", "3"),
        ("1999-12-31", "3"),
        ("0001-01-01", "1"),
    ],
)
def test_an_approval_starting_out_of_range_is_a_400_naming_the_start(
    submitted: AccreditationRequest, validator: Any, valid_from: str, years: str
) -> None:
    response = client_for(validator).post(
        act(submitted, "approve"),
        decision(valid_from=valid_from, validity_years=years),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    error = error_of(response.text, "valid_from")
    assert "Choose a start between" in error
    assert "2000" in error
    submitted.refresh_from_db()
    assert (submitted.status, submitted.reference, submitted.valid_from) == (
        Status.SUBMITTED,
        "",
        None,
    )


def test_the_start_may_be_up_to_two_years_ahead_and_no_further() -> None:
    last = services.add_years(timezone.localdate(), 2)
    assert ApproveForm(data=decision(valid_from=last.isoformat(), validity_years="10")).is_valid()
    late = ApproveForm(data=decision(valid_from=(last + timedelta(1)).isoformat()))
    assert not late.is_valid()
    assert list(late.errors) == ["valid_from"]
    assert ApproveForm(data=decision(valid_from="2000-01-01")).is_valid()


def test_adding_years_never_raises_for_a_start_the_form_admits() -> None:
    assert services.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert services.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    last = services.add_years(timezone.localdate(), 2)
    day = date(2000, 1, 1)
    while day <= last:
        for years in (1, 10):
            services.add_years(day, years)
        day += timedelta(days=1)


def test_the_service_refuses_a_start_whose_end_is_past_the_calendar(
    submitted: AccreditationRequest, validator: Any
) -> None:
    """Called without the form (the API, a script), the year 9999 is a ValidationError naming the
    start, not a ValueError."""
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.approve(
            request=submitted,
            actor=validator,
            credit_hours=Decimal("75"),
            valid_from=date(9999, 6, 1),
            validity_years=3,
        )
    assert list(refused.value.message_dict) == ["valid_from"]
    submitted.refresh_from_db()
    assert (submitted.status, submitted.reference) == (Status.SUBMITTED, "")


# 3. A session's hours are capped as the contact hours are -------------------------------------


def test_a_session_of_endless_hours_is_refused_naming_its_line() -> None:
    with pytest.raises(django_forms.ValidationError, match=re.escape("“Drill | 10001”: a session")):
        text_to_syllabus("Module\n- Drill | 10001")
    with pytest.raises(django_forms.ValidationError, match="“Drill | 9{26}”"):
        text_to_syllabus("Module\n- Drill | " + "9" * 26)
    assert text_to_syllabus("Module\n- Drill | 10000\n- Theory | 10000,0") == [
        {
            "module": "Module",
            "sessions": [
                {"title": "Drill", "hours": "10000"},
                {"title": "Theory", "hours": "10000.0"},
            ],
        }
    ]


def test_a_session_hour_in_other_digits_is_refused() -> None:
    with pytest.raises(django_forms.ValidationError, match="“Drill | ٤”: write the hours"):
        text_to_syllabus("Module\n- Drill | ٤")


def test_the_dossier_page_refuses_endless_hours_and_saves_nothing(
    draft: AccreditationRequest, coordinator: Any
) -> None:
    data = DossierForm.initial_for(draft) | {
        "syllabus": "Foundations\n- Use of force | 99999999999999999999999999"
    }
    response = client_for(coordinator).post(
        reverse("accreditation:edit", args=[draft.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "“Use of force | 99999999999999999999999999”: a session" in error_of(
        response.text, "syllabus"
    )
    draft.refresh_from_db()
    assert draft.syllabus == DOSSIER["syllabus"]


# 4. The reader's decimal comma -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "es", "pt"])
def test_the_dossier_takes_a_decimal_comma(
    draft: AccreditationRequest, coordinator: Any, language: str
) -> None:
    speaks(coordinator, language)
    data = DossierForm.initial_for(draft) | {
        "syllabus": "Foundations\n- Use of force | 4",
        "learning_outcomes": "Applies the law",
        "instructors": "Ana Gil: LLM",
        "contact_hours": "10,5",
        "self_study_hours": "2.5",
    }
    response = client_for(coordinator).post(reverse("accreditation:edit", args=[draft.pk]), data)
    assert response.status_code == 302, error_of(response.text, "contact_hours")
    draft.refresh_from_db()
    assert (draft.contact_hours, draft.self_study_hours) == (Decimal("10.5"), Decimal("2.5"))


@pytest.mark.parametrize(
    ("language", "value"),
    [("fr", "10000,5"), ("fr", "-0,5"), ("fr", "1,25"), ("fr", "1.000,5"), ("en", "10,5")],
)
def test_the_dossier_hours_keep_their_limits(language: str, value: str) -> None:
    with translation.override(language):
        form = DossierForm(
            data={
                "framework": "EQF",
                "delivery_mode": "onsite",
                "contact_hours": value,
                "self_study_hours": "0",
            }
        )
        assert not form.is_valid()
        assert list(form.errors) == ["contact_hours"]


def test_the_approval_takes_a_decimal_comma_and_keeps_its_french_limit() -> None:
    with translation.override("fr"):
        form = ApproveForm(data=decision(credit_hours="1,5"))
        assert form.is_valid(), form.errors
        assert form.cleaned_data["credit_hours"] == Decimal("1.5")
        low = ApproveForm(data=decision(credit_hours="0,2"))
        assert list(low.errors["credit_hours"]) == [
            "Assurez-vous que cette valeur est supérieure ou égale à 0,5."
        ]


def test_a_portuguese_validator_approves_with_a_decimal_comma(
    submitted: AccreditationRequest, validator: Any
) -> None:
    speaks(validator, "pt")
    response = client_for(validator).post(act(submitted, "approve"), decision(credit_hours="1,5"))
    assert response.status_code == 302, error_of(response.text, "credit_hours")
    submitted.refresh_from_db()
    assert submitted.credit_hours == Decimal("1.5")


# 5. One open request per course version and university ----------------------------------------


def new_request_data(version: Any, university: Any) -> dict[str, str]:
    return {"course_version": str(version.pk), "university": str(university.pk)}


def test_creating_the_same_request_twice_is_a_400_naming_the_course_version(
    version: Any, university: Any, coordinator: Any
) -> None:
    client = client_for(coordinator)
    data = new_request_data(version, university)
    first = client.post(reverse("accreditation:new"), data)
    assert first.status_code == 302
    second = client.post(reverse("accreditation:new"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert second.status_code == 400
    assert "already has an open request to this university" in error_of(
        second.text, "course_version"
    )
    assert AccreditationRequest.objects.filter(course_version=version).count() == 1


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.IN_REVIEW, Status.CHANGES_REQUESTED])
def test_no_second_request_while_one_is_open(
    version: Any, university: Any, coordinator: Any, status: str
) -> None:
    services.create_request(course_version=version, university=university, actor=coordinator)
    AccreditationRequest.objects.filter(course_version=version).update(status=status)
    response = client_for(coordinator).post(
        reverse("accreditation:new"), new_request_data(version, university)
    )
    assert response.status_code == 400
    assert AccreditationRequest.objects.filter(course_version=version).count() == 1


def test_a_new_request_once_the_open_one_is_withdrawn_or_at_another_university(
    draft: AccreditationRequest, coordinator: Any, other_validator: Any
) -> None:
    client = client_for(coordinator)
    other_university = other_validator.roles.get().university
    elsewhere = client.post(
        reverse("accreditation:new"), new_request_data(draft.course_version, other_university)
    )
    assert elsewhere.status_code == 302
    services.withdraw_request(request=draft, actor=coordinator)
    again = client.post(
        reverse("accreditation:new"), new_request_data(draft.course_version, draft.university)
    )
    assert again.status_code == 302
    assert AccreditationRequest.objects.filter(course_version=draft.course_version).count() == 3


def test_the_database_refuses_a_second_open_request(draft: AccreditationRequest) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AccreditationRequest.objects.create(
            course_version=draft.course_version,
            university=draft.university,
            status=Status.SUBMITTED,
        )


def test_the_service_returns_the_open_request_instead_of_a_second(
    draft: AccreditationRequest, coordinator: Any
) -> None:
    again = services.create_request(
        course_version=draft.course_version, university=draft.university, actor=coordinator
    )
    assert again.pk == draft.pk
    assert AccreditationRequest.objects.filter(course_version=draft.course_version).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_creates_at_once_make_one_request(
    require_postgres: None, version: Any, university: Any, coordinator: Any
) -> None:
    """The first create holds its transaction open while the second inserts: the second waits
    on the constraint, then returns the first's request."""
    inserted = threading.Event()
    results: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = services.create_request(
                    course_version=version, university=university, actor=coordinator
                ).pk
                inserted.set()
                time.sleep(0.8)
        finally:
            close_old_connections()
            connection.close()

    def second() -> None:
        inserted.wait(5)
        try:
            results["second"] = services.create_request(
                course_version=version, university=university, actor=coordinator
            ).pk
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results["second"] == results["first"]
    assert AccreditationRequest.objects.filter(course_version=version).count() == 1


def test_a_rereview_draft_is_not_doubled_by_an_open_request(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    version = submitted.course_version
    approved = services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    new_version = CourseVersionFactory(course=version.course)
    opened = services.create_request(
        course_version=new_version, university=submitted.university, actor=coordinator
    )
    drafts = services.flag_for_rereview(
        course=version.course, version=new_version, previous=version
    )
    assert drafts == []
    assert list(
        AccreditationRequest.objects.filter(course_version=new_version).values_list("pk", flat=True)
    ) == [opened.pk]
    opened.refresh_from_db()
    approved.refresh_from_db()
    assert opened.rereview_of == approved
    assert approved.rereview_needed


def test_approving_never_leaves_two_accreditations_in_force(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    today = timezone.localdate()
    first = services.approve(
        request=submitted, actor=validator, credit_hours=Decimal("75"), valid_from=today
    )
    renewal = services.create_request(
        course_version=first.course_version,
        university=first.university,
        actor=coordinator,
        **DOSSIER,
    )
    renewal = services.submit_request(request=renewal, actor=coordinator)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.approve(
            request=renewal, actor=validator, credit_hours=Decimal("75"), valid_from=today
        )
    assert list(refused.value.message_dict) == ["valid_from"]
    assert first.reference in refused.value.message_dict["valid_from"][0]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.reference) == (Status.SUBMITTED, "")
    # Starting the day after the first ends is a renewal, not a second accreditation in force.
    assert first.valid_until is not None
    services.approve(
        request=renewal,
        actor=validator,
        credit_hours=Decimal("75"),
        valid_from=first.valid_until + timedelta(days=1),
    )
    renewal.refresh_from_db()
    assert renewal.status == Status.APPROVED


def test_the_approval_page_names_the_start_when_one_is_in_force(
    submitted: AccreditationRequest, coordinator: Any, validator: Any
) -> None:
    first = services.approve(request=submitted, actor=validator, credit_hours=Decimal("75"))
    renewal = services.submit_request(
        request=services.create_request(
            course_version=first.course_version,
            university=first.university,
            actor=coordinator,
            **DOSSIER,
        ),
        actor=coordinator,
    )
    response = client_for(validator).post(
        act(renewal, "approve"), decision(), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert first.reference in error_of(response.text, "valid_from")


# 7. Attachments: the documents a dossier needs, and only those ---------------------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
ZIP = b"PK\x03\x04\x14\x00\x06\x00"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("tool.exe", b"MZ\x90\x00\x03\x00"),
        ("page.html", b"<script>alert(1)</script>"),
        ("picture.svg", b"<svg onload='alert(1)'/>"),
        ("page.pdf", b"<html><script>alert(1)</script>"),
        ("tool.docx", b"MZ\x90\x00\x03\x00"),
        ("photo.png", JPEG),
        ("scan.jpg", b"GIF89a\x01\x00"),
        ("old.doc", PDF),
        ("noextension", PDF),
        ("syllabus.pdf.exe", PDF),
    ],
)
def test_an_attachment_that_is_not_a_dossier_document_is_a_400_naming_the_file(
    draft: AccreditationRequest, coordinator: Any, name: str, content: bytes
) -> None:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    response = client_for(coordinator).post(
        act(draft, "attach"), {"file": upload}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    error = error_of(response.text, "file")
    assert f"“{name}”" in error
    assert not RequestAttachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("syllabus.PDF", PDF),
        ("plan.docx", ZIP),
        ("plan.odt", ZIP),
        ("budget.xlsx", ZIP),
        ("budget.ods", ZIP),
        ("old-plan.doc", OLE),
        ("notes.txt", b"Session 1: use of force\n"),
        ("map.png", PNG),
        ("scan.jpg", JPEG),
        ("scan.jpeg", JPEG),
    ],
)
def test_the_dossier_documents_are_attached(
    draft: AccreditationRequest, coordinator: Any, name: str, content: bytes
) -> None:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    response = client_for(coordinator).post(act(draft, "attach"), {"file": upload})
    assert response.status_code == 302
    assert list(draft.attachments.values_list("name", flat=True)) == [name]


def test_the_dossier_page_says_which_files_it_takes(
    draft: AccreditationRequest, coordinator: Any
) -> None:
    page = client_for(coordinator).get(
        reverse("accreditation:edit", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert 'accept=".doc,.docx,.jpeg,.jpg,.ods,.odt,.pdf,.png,.txt,.xlsx"' in page.text
    assert "PDF" in page.text
    assert "20 MB" in page.text
    assert ".exe" not in page.text
    assert ".html" not in page.text


def test_the_service_refuses_a_program_too(draft: AccreditationRequest, coordinator: Any) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.add_attachment(
            request=draft,
            actor=coordinator,
            upload=SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        )
    assert list(refused.value.message_dict) == ["file"]
    assert not RequestAttachment.objects.exists()


def test_a_bad_file_on_a_submitted_request_is_refused_as_frozen(
    submitted: AccreditationRequest, coordinator: Any
) -> None:
    upload = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream")
    response = client_for(coordinator).post(act(submitted, "attach"), {"file": upload})
    assert response.status_code == 409
    assert not RequestAttachment.objects.exists()


def test_an_oversized_attachment_is_refused_on_the_dossier_page(
    draft: AccreditationRequest, coordinator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    upload = SimpleUploadedFile("big.pdf", PDF + b"x" * 20, "application/pdf")
    response = client_for(coordinator).post(
        act(draft, "attach"), {"file": upload}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "20 MB or smaller" in error_of(response.text, "file")
    assert not RequestAttachment.objects.exists()
