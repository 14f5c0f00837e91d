"""Cells of the platform's CSV and XLSX downloads that no spreadsheet program runs as formulas.

People type their own names, and course and institution titles are typed too: a name such as
``=HYPERLINK("http://evil","click")`` is a name and is stored as typed, but a spreadsheet that
opens an export runs a cell starting with = + - @ (or a tab or carriage return before them) as a
formula. Following OWASP's CSV injection guidance, a CSV cell starting with one of those
characters is written with a leading apostrophe (which spreadsheet programs read as "text"); an
XLSX cell is written as a string with the quote prefix set (Excel's own "text typed after an
apostrophe"), so the workbook keeps the text as typed and never holds a formula.

Only text is changed: numbers, dates and empty cells are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Promise) else value


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet program could read this cell as a formula."""
    value = _text(value)
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_cell(value: Any) -> Any:
    """The value to write in a CSV cell: text that could be read as a formula gets a leading
    apostrophe; anything else is unchanged."""
    value = _text(value)
    return "'" + value if is_formula_like(value) else value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """A CSV row with every cell made safe (see safe_cell)."""
    return [safe_cell(value) for value in row]


class SafeWriter:
    """csv.writer whose rows are made safe before they are written."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self._writer.writerow(safe_row(row))


def writer(stream: Any, **options: Any) -> SafeWriter:
    """A csv.writer on `stream` that writes every row through safe_row."""
    return SafeWriter(stream, **options)


def xlsx_row(sheet: Any, row: Iterable[Any]) -> list[Any]:
    """A row for an openpyxl (write-only) sheet's append(): text that could be read as a formula
    becomes a string cell with the quote prefix (openpyxl would otherwise store text starting
    with = as a formula); control characters, which a workbook cannot hold (openpyxl raises
    IllegalCharacterError), become U+FFFD; anything else is unchanged."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cells: list[Any] = []
    for value in row:
        value = _text(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if is_formula_like(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            cells.append(cell)
        else:
            cells.append(value)
    return cells
