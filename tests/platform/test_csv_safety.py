"""No CSV or XLSX download of the platform hands a spreadsheet a formula to run.

A name is stored as typed, ``=HYPERLINK("http://evil","click")`` included; every export writes
a CSV cell starting with = + - @ (or a tab or carriage return) after an apostrophe, and an XLSX
cell as text with the quote prefix (OWASP's CSV injection guidance): a person named =1+2 is
'=1+2 in the grades CSV, the progress CSV, the dashboards' CSV and XLSX downloads and the
monthly report's CSV.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from lms import csv_safety
from tests.assessments.factories import enrol, make_assessment, run_of
from tests.courses.factories import RunFactory, assign_instructor
from tests.factories import InstitutionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]
FORMULA = "=1+2"
SHOWN = "'=1+2"
HOME = "/dashboards/"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+57 300 000", "'+57 300 000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("Ana María Pérez", "Ana María Pérez"),
        ("O'Brien", "O'Brien"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (Decimal("-2.50"), Decimal("-2.50")),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_could_run_is_written_after_an_apostrophe(
    value: Any, written: Any
) -> None:
    assert csv_safety.safe_cell(value) == written


def test_the_writer_quotes_and_escapes_every_row() -> None:
    buffer = io.StringIO()
    csv_safety.writer(buffer).writerows([["Name", 1], ['=HYPERLINK("x","y")', -1]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [
        ["Name", "1"],
        ['\'=HYPERLINK("x","y")', "-1"],
    ]


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _xlsx_cells(response: Any) -> list[Any]:
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_written_as_text(cells: list[Any]) -> None:
    """The name is in the workbook, as text with the quote prefix ('=1+2 in Excel's formula
    bar), and the workbook holds no formula at all."""
    named = [cell for cell in cells if cell.value == FORMULA]
    assert named, "the name is missing from the workbook"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in named)
    assert not [cell for cell in cells if cell.data_type == "f"]


@pytest.fixture
def formula_run(django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A run of a course titled =1+2, hosted by an institution named =1+2, whose learner is a
    person named =1+2; an instructor teaches it."""
    from courses import services as courses

    institution = InstitutionFactory(name=FORMULA)
    learner = UserFactory(full_name=FORMULA, institution=institution)
    run = RunFactory(
        host_institution=institution,
        course__owner_institution=institution,
        course__title={"en": FORMULA, "es": FORMULA},
    )
    instructor = assign_instructor(run, UserFactory(institution=institution))
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = courses.enrol(user=learner, run=run, actor=learner)
    return {"run": run, "learner": learner, "instructor": instructor, "enrollment": enrollment}


def test_the_grades_csv_writes_a_formula_name_as_text(client: Any) -> None:
    assessment = make_assessment()
    run = run_of(assessment)
    enrol(assessment, UserFactory(full_name=FORMULA, badge_number="-1"))
    client.force_login(assign_instructor(run))
    rows = _csv(client.get(reverse("assessments:grades_csv", args=[run.code])))
    assert rows[1][:3] == [SHOWN, rows[1][1], "'-1"]


def test_the_progress_csv_writes_a_formula_name_as_text(
    client: Any, formula_run: dict[str, Any]
) -> None:
    client.force_login(formula_run["instructor"])
    rows = _csv(client.get(reverse("courses:progress_csv", args=[formula_run["run"].code])))
    assert rows[1][:2] == [SHOWN, formula_run["learner"].email]


def test_the_dashboards_run_downloads_write_a_formula_name_as_text(
    client: Any, dps_admin: Any, formula_run: dict[str, Any]
) -> None:
    client.force_login(dps_admin)
    url = reverse("dashboards:run", args=[formula_run["run"].pk])
    rows = _csv(client.get(url, {"format": "csv"}))
    assert rows[1][0] == SHOWN  # the officer
    assert rows[1][2] == SHOWN  # their institution
    _assert_written_as_text(_xlsx_cells(client.get(url, {"format": "xlsx"})))


def test_the_dashboards_officer_downloads_write_a_formula_title_as_text(
    client: Any, dps_admin: Any, formula_run: dict[str, Any]
) -> None:
    client.force_login(dps_admin)
    url = reverse("dashboards:officer", args=[formula_run["learner"].pk])
    rows = _csv(client.get(url, {"format": "csv"}))
    assert rows[1][0] == SHOWN  # the course
    _assert_written_as_text(_xlsx_cells(client.get(url, {"format": "xlsx"})))


def test_the_dashboards_overview_downloads_write_a_formula_institution_as_text(
    client: Any, dps_admin: Any, formula_run: dict[str, Any]
) -> None:
    client.force_login(dps_admin)
    rows = _csv(client.get(HOME, {"by": "institution", "format": "csv"}))
    assert SHOWN in [row[0] for row in rows]
    assert FORMULA not in [row[0] for row in rows]
    _assert_written_as_text(_xlsx_cells(client.get(HOME, {"by": "institution", "format": "xlsx"})))


def test_a_control_character_in_a_name_does_not_break_the_xlsx(
    client: Any, dps_admin: Any, formula_run: dict[str, Any]
) -> None:
    """openpyxl refuses text with control characters (IllegalCharacterError, a 500)."""
    learner = formula_run["learner"]
    learner.full_name = "=Ana\x0bPérez"
    learner.save(update_fields=["full_name"])
    client.force_login(dps_admin)
    url = reverse("dashboards:run", args=[formula_run["run"].pk])
    cells = _xlsx_cells(client.get(url, {"format": "xlsx"}))
    assert "=Ana\ufffdPérez" in [cell.value for cell in cells]


def test_the_monthly_report_csv_writes_a_formula_name_as_text(
    formula_run: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    from lms.dashboards import reports

    settings.MEDIA_ROOT = str(tmp_path)
    state = formula_run["learner"].institution.member_state
    state.name_en = FORMULA
    state.save(update_fields=["name_en"])
    with translation.override("en"):
        report = reports.generate_monthly_report(month=timezone.now().date(), language="en")
    report.csv.open("rb")
    rows = list(csv.reader(io.StringIO(report.csv.read().decode("utf-8-sig"))))
    report.csv.close()
    assert SHOWN in [row[0] for row in rows]
    assert FORMULA not in [row[0] for row in rows]
