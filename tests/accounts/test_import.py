"""Bulk onboarding of officers: validation by line and field, all or nothing, idempotent."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook

from lms.accounts import services
from lms.accounts.models import User
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db
HEADER = "full_name,email,badge_number,unit,language\n"
URL = "/accounts/import/"


def csv_rows(text: str) -> Any:
    return services.read_officer_file(io.BytesIO(text.encode()), "officers.csv")


def run_import(institution: Any, text: str, **kwargs: Any) -> services.ImportResult:
    return services.import_officers(institution=institution, rows=csv_rows(text), **kwargs)


def test_import_creates_invited_officers_without_passwords_and_invites_them(
    institution: Any, django_capture_on_commit_callbacks: Any
) -> None:
    unit = InstitutionFactory(parent=institution, name="Unidad Norte", kind="unit")
    text = HEADER + (
        "Ana Pérez,Ana@Example.org,B-1,Unidad Norte,es\nJoão Silva,joao@example.org,B-2,,pt\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = run_import(institution, text)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    ana = User.objects.get(email="ana@example.org")
    assert ana.status == User.Status.INVITED
    assert not ana.has_usable_password()
    assert (ana.institution_id, ana.unit_id, ana.badge_number) == (institution.pk, unit.pk, "B-1")
    assert ana.member_state_id == institution.member_state_id
    assert ana.preferred_language == "es"
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.org", "joao@example.org"]


def test_reimporting_the_same_file_creates_no_duplicates_and_updates_changes(
    institution: Any,
) -> None:
    run_import(institution, HEADER + "Ana Pérez,ana@example.org,B-1,,es\nJo,jo@example.org,B-2,,\n")
    again = run_import(
        institution, HEADER + "Ana Pérez,ana@example.org,B-1,,es\nJo,jo@example.org,B-2,,\n"
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = run_import(
        institution,
        HEADER + "Ana María Pérez,ana@example.org,B-1,,fr\nJo,jo.new@example.org,B-2,,\n",
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 2, 0)
    assert User.objects.count() == 2
    assert User.objects.get(badge_number="B-1").full_name == "Ana María Pérez"
    assert User.objects.get(badge_number="B-1").preferred_language == "fr"
    assert User.objects.get(badge_number="B-2").email == "jo.new@example.org"


def test_a_wrong_row_writes_nothing_and_errors_name_line_and_field(institution: Any) -> None:
    text = HEADER + (
        "Ana,ana@example.org,B-1,,es\n,not-an-email,B-1,Nowhere,de\nAna again,ANA@example.org,,,\n"
    )
    result = run_import(institution, text)
    assert not result.ok
    found = {(error.line, error.field) for error in result.errors}
    assert found == {
        (3, "full_name"),
        (3, "email"),
        (3, "badge_number"),
        (3, "unit"),
        (3, "language"),
        (4, "email"),
    }
    assert User.objects.count() == 0


def test_an_email_of_another_institution_is_an_error(
    institution: Any, other_institution: Any
) -> None:
    UserFactory(email="taken@example.org", institution=other_institution)
    result = run_import(institution, HEADER + "Ana,taken@example.org,,,\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "email")]


def test_a_person_of_one_of_the_institutions_units_is_its_own(
    institution: Any, other_institution: Any
) -> None:
    """A cadet of the institution's academy (a unit under it) is updated, not refused; a unit of
    another institution stays another institution's."""
    academy = InstitutionFactory(parent=institution, member_state=institution.member_state)
    cadet = UserFactory(email="cadet@example.org", institution=academy)
    elsewhere = InstitutionFactory(parent=other_institution)
    UserFactory(email="theirs@example.org", institution=elsewhere)
    result = run_import(
        institution,
        HEADER + f"Cadete Rojas,cadet@example.org,C-7,{academy.short_name},\n"
        "Theirs,theirs@example.org,,,\n",
    )
    assert [(e.line, e.field) for e in result.errors] == [(3, "email")]
    ok = run_import(
        institution, HEADER + f"Cadete Rojas,cadet@example.org,C-7,{academy.short_name},\n"
    )
    assert ok.errors == []
    cadet.refresh_from_db()
    assert (cadet.full_name, cadet.badge_number) == ("Cadete Rojas", "C-7")


def test_a_badge_held_by_another_officer_is_an_error(institution: Any) -> None:
    UserFactory(email="a@example.org", institution=institution, badge_number="B-1")
    UserFactory(email="b@example.org", institution=institution, badge_number="B-2")
    result = run_import(institution, HEADER + "B,b@example.org,B-1,,\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "badge_number")]


def test_a_file_without_the_required_columns_is_refused(institution: Any) -> None:
    with pytest.raises(services.ImportFileError):
        run_import(institution, "name,mail\nAna,ana@example.org\n")


def test_xlsx_and_semicolon_csv_are_read(institution: Any) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Full name", "Email", "Badge number", "Unit", "Language"])
    sheet.append(["Ana", "ana@example.org", 1234, None, "es"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    rows = list(services.read_officer_file(buffer, "officers.xlsx"))
    assert rows == [
        {
            "full_name": "Ana",
            "email": "ana@example.org",
            "badge_number": "1234",
            "unit": "",
            "language": "es",
        }
    ]
    semicolon = "full_name;email\nJo;jo@example.org\n"
    assert list(csv_rows(semicolon)) == [{"full_name": "Jo", "email": "jo@example.org"}]


def test_portable_write_path_matches_the_postgresql_one(institution: Any) -> None:
    parsed, errors = services.validate_officer_rows(
        rows=csv_rows(HEADER + "Ana,ana@example.org,B-1,,es\n"), institution=institution
    )
    assert errors == []
    created, updated = services._write_orm(parsed, institution)
    assert (len(created), updated) == (1, 0)
    user = User.objects.get(pk=created[0])
    assert not user.has_usable_password()
    assert user.status == User.Status.INVITED


def test_management_command_imports_a_file(institution: Any, tmp_path: Any) -> None:
    path = tmp_path / "officers.csv"
    path.write_text(HEADER + "Ana,ana@example.org,B-1,,es\n")
    out = io.StringIO()
    call_command("import_officers", str(path), institution=institution.pk, stdout=out, verbosity=0)
    assert "1 created" in out.getvalue()
    path.write_text(HEADER + "Ana,bad-address,B-1,,es\n")
    with pytest.raises(CommandError, match="1 errors"):
        call_command("import_officers", str(path), institution=institution.pk, verbosity=0)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("officers.csv", text.encode(), content_type="text/csv")


def test_coordinator_imports_into_own_institution_through_the_page(
    client: Any, coordinator: Any, institution: Any
) -> None:
    client.force_login(coordinator)
    assert client.get(URL).status_code == 200
    response = client.post(
        URL, {"institution": institution.pk, "file": upload(HEADER + "Ana,ana@example.org,,,\n")}
    )
    assert response.status_code == 302
    assert User.objects.filter(email="ana@example.org", institution=institution).exists()


def test_errors_are_listed_in_the_coordinators_language(
    client: Any, coordinator: Any, institution: Any
) -> None:
    coordinator.preferred_language = "es"
    coordinator.save()
    client.force_login(coordinator)
    response = client.post(
        URL, {"institution": institution.pk, "file": upload(HEADER + "Ana,no-email,,,\n")}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Esta no es una dirección de correo electrónico válida." in content
    assert "<td>2</td>" in content
    assert User.objects.filter(institution=institution).count() == 1  # the coordinator only


def test_coordinator_of_another_institution_is_refused(
    client: Any, coordinator: Any, other_institution: Any
) -> None:
    client.force_login(coordinator)
    response = client.post(
        URL, {"institution": other_institution.pk, "file": upload(HEADER + "A,a@example.org,,,\n")}
    )
    assert response.status_code == 400  # not among the institutions offered
    assert not User.objects.filter(email="a@example.org").exists()


@pytest.mark.parametrize("role", ["learner", "instructor", "validator"])
def test_other_roles_are_refused_the_import_page(client: Any, role: str, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_dps_imports_into_any_institution(
    client: Any, dps_admin: Any, other_institution: Any
) -> None:
    client.force_login(dps_admin)
    response = client.post(
        URL, {"institution": other_institution.pk, "file": upload(HEADER + "A,a@example.org,,,\n")}
    )
    assert response.status_code == 302
    assert User.objects.get(email="a@example.org").institution_id == other_institution.pk
