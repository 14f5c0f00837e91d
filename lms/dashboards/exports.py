"""CSV and XLSX downloads of the dashboards' tables: what the page shows, as rows."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from lms import csv_safety
from lms.dashboards.selectors import Figures, Row


def figure_headers() -> list[str]:
    """Column titles of the figures, in the active language."""
    return [
        _("Enrolments"),
        _("Completions"),
        _("Completion rate (%)"),
        _("Passed"),
        _("Pass rate (%)"),
        _("Certificates issued"),
        _("Certificates revoked"),
        _("Attendance rate (%)"),
        _("Officers reached by replication"),
    ]


def figure_cells(figures: Figures) -> list[Any]:
    """The figures as cells, in the order of figure_headers()."""
    return [
        figures.enrolled,
        figures.completed,
        _number(figures.completion_rate),
        figures.passed,
        _number(figures.pass_rate),
        figures.certificates,
        figures.revoked,
        _number(figures.attendance_rate),
        figures.reached,
    ]


def _number(value: Any) -> Any:
    return "" if value is None else float(value)


def breakdown_table(dimension: str, rows: Iterable[Row]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of a breakdown."""
    return [dimension, *figure_headers()], [[row.label, *figure_cells(row.figures)] for row in rows]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV (UTF-8 with a byte order mark, so spreadsheet programs read accents); no
    cell is a formula a spreadsheet would run (lms.csv_safety)."""
    writer = csv_safety.writer(_Echo())

    def lines() -> Iterable[str]:
        yield "\ufeff" + writer.writerow(headers)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX workbook with one sheet per (title, headers, rows), written in streaming mode;
    no cell is a formula (lms.csv_safety)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(csv_safety.xlsx_row(sheet, headers))
        for row in rows:
            sheet.append(csv_safety.xlsx_row(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(
    filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> HttpResponse:
    response = HttpResponse(
        xlsx_bytes(sheets),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
