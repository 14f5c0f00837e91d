"""Bad input in the officers' file is a 400 naming the line and the column, and writes nothing.

A full name of 200,000 characters was a 500 (csv's "field larger than field limit"), a null
character reached PostgreSQL (which stores none), and the language column took the first two
letters of anything ("esperanto" became Spanish, "french" French by luck).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from lms.accounts.models import User
from tests.accounts.test_import import HEADER, URL, run_import
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db
HUGE = 200_000  # longer than csv's field limit (131,072)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("officers.csv", text.encode(), content_type="text/csv")


def found(result: Any) -> list[tuple[int, str, str]]:
    return [(error.line, error.field, str(error.message)) for error in result.errors]


def post(client: Any, institution: Any, text: str) -> Any:
    return client.post(URL, {"institution": institution.pk, "file": upload(text)})


def test_a_full_name_longer_than_csv_reads_is_a_400_naming_line_and_column(
    client: Any, coordinator: Any, institution: Any
) -> None:
    before = User.objects.count()
    client.force_login(coordinator)
    response = post(
        client,
        institution,
        HEADER + f"{'A' * HUGE},ana@example.org,,,\nJo,jo@example.org,,,\n",
    )
    assert response.status_code == 400
    assert found(response.context["result"]) == [(2, "full_name", "At most 200 characters.")]
    body = response.content.decode()
    assert "<td>2</td><td><code>full_name</code></td><td>At most 200 characters.</td>" in body
    assert "A" * 201 not in body
    assert User.objects.count() == before


def test_the_lines_after_an_unreadable_field_keep_their_numbers(institution: Any) -> None:
    """A quoted field spanning lines, too long for csv: the next record is still line 3."""
    text = HEADER + (
        f'"Ana\n{"B" * HUGE}",ana@example.org,,,\n'
        "Jo,not-an-email,,,\n"
        f"{'C' * HUGE},carla@example.org,,,es\n"
    )
    result = run_import(institution, text)
    assert found(result) == [
        (2, "full_name", "At most 200 characters."),
        (3, "email", "This is not a valid email address."),
        (4, "full_name", "At most 200 characters."),
    ]
    assert User.objects.count() == 0


def test_a_huge_field_of_a_column_the_import_ignores_is_ignored(institution: Any) -> None:
    text = (
        "full_name,email,notes,language\n"
        f'"Ana ""la jefa"" Pérez",ana@example.org,"{"n" * HUGE}\n, more",es\n'
        "Jo,jo@example.org,short,fr\n"
    )
    result = run_import(institution, text, invite=False)
    assert result.errors == []
    assert result.created == 2
    assert sorted(User.objects.values_list("full_name", "email", "preferred_language")) == [
        ('Ana "la jefa" Pérez', "ana@example.org", "es"),
        ("Jo", "jo@example.org", "fr"),
    ]


def test_every_column_longer_than_its_field_names_the_models_limit(institution: Any) -> None:
    InstitutionFactory(parent=institution, name="Unidad Norte", kind="unit")
    email = "a" * 250 + "@example.org"
    text = HEADER + (
        f"Ana,{email},,,\n"
        f"Jo,jo@example.org,{'9' * 51},,\n"
        f"Lu,lu@example.org,,{'U' * 5000},\n"
        f"{'N' * 201},ni@example.org,,,\n"
    )
    result = run_import(institution, text)
    assert found(result) == [
        (2, "email", "At most 254 characters."),
        (3, "badge_number", "At most 50 characters."),
        (4, "unit", "At most 200 characters."),
        (5, "full_name", "At most 200 characters."),
    ]
    assert User.objects.count() == 0


def test_a_null_character_is_a_line_error_not_a_database_error(
    client: Any, coordinator: Any, institution: Any
) -> None:
    before = User.objects.count()
    client.force_login(coordinator)
    response = post(
        client,
        institution,
        HEADER + "Ana\x00Pérez,ana@example.org,B\x001,,\nJo,jo@example.org,,,\n",
    )
    assert response.status_code == 400
    assert [(line, column) for line, column, _m in found(response.context["result"])] == [
        (2, "full_name"),
        (2, "badge_number"),
    ]
    assert User.objects.count() == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("es", "es"),
        ("FR", "fr"),
        ("pt-BR", "pt"),
        ("en_US", "en"),
        ("French", "fr"),
        ("français", "fr"),
        ("Francés", "fr"),
        ("ESPAÑOL", "es"),
        ("espanhol", "es"),
        ("Português", "pt"),
        ("portugues", "pt"),
        ("Anglais", "en"),
        ("Inglés", "en"),
        ("", ""),
    ],
)
def test_a_language_is_a_code_or_its_name(institution: Any, typed: str, stored: str) -> None:
    result = run_import(institution, HEADER + f"Ana,ana@example.org,,,{typed}\n", invite=False)
    assert result.errors == []
    assert User.objects.get(email="ana@example.org").preferred_language == stored


@pytest.mark.parametrize("typed", ["esperanto", "frisian", "english please", "e", "de", "pt-"])
def test_any_other_language_is_a_line_error_naming_the_accepted_values(
    institution: Any, typed: str
) -> None:
    result = run_import(institution, HEADER + f"Ana,ana@example.org,,,{typed}\n")
    assert found(result) == [(2, "language", "Use one of: en, es, pt, fr, or the language's name.")]
    assert User.objects.count() == 0


def test_the_page_lists_a_language_error_in_the_coordinators_language(
    client: Any, coordinator: Any, institution: Any
) -> None:
    coordinator.preferred_language = "es"
    coordinator.save()
    client.force_login(coordinator)
    with translation.override("es"):
        response = post(client, institution, HEADER + "Ana,ana@example.org,,,esperanto\n")
    assert response.status_code == 400
    body = response.content.decode()
    assert "No se importó nada: 1 error." in body
    assert "<code>language</code>" in body
    assert "en, es, pt, fr" in body
    assert not User.objects.filter(email="ana@example.org").exists()
