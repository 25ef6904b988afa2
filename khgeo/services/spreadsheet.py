"""Making a cell safe for a spreadsheet: the one guard every CSV and XLSX khgeo writes goes through.

A spreadsheet takes a cell starting with = + - @ (and, in some, a tab or carriage return) for a formula:
a zone named "=HYPERLINK(…)" would run when someone opens an export (CSV/formula injection, OWASP).

- XLSX: a text cell is written as a string cell with the "quote prefix" style, so Excel and LibreOffice show
  exactly the text (no visible apostrophe) and keep it text when it is edited. Reading it back gives the text.
- CSV has no types, so a guarded cell gets a leading apostrophe (the OWASP convention; spreadsheets hide it).
  ``csv_unguard`` undoes exactly that, so khgeo's own CSV imports back unchanged. A text that already starts
  with apostrophes before a trigger gets one more, so the round trip is exact for every text.

Only text is guarded: a negative number stays a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # openpyxl is imported where a workbook is written, not by every CSV reader
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(text: str) -> bool:
    return text[:1] in FORMULA_TRIGGERS


def _needs_apostrophe(text: str) -> bool:
    return starts_like_formula(text.lstrip("'"))


def csv_guard(value: Any) -> Any:
    """A value for a CSV cell: text that would start like a formula gets a leading apostrophe."""
    if isinstance(value, str) and _needs_apostrophe(value):
        return "'" + value
    return value


def csv_unguard(value: Any) -> Any:
    """The inverse of ``csv_guard`` for a cell read from a CSV file."""
    if isinstance(value, str) and value.startswith("'") and _needs_apostrophe(value):
        return value[1:]
    return value


def text_cell(cell: Cell) -> Cell:
    """Make a cell holding text a string cell, never a formula, shown without an apostrophe."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if starts_like_formula(cell.value):
            cell.quotePrefix = True
    return cell


def set_value(cell: Cell, value: Any) -> Cell:
    cell.value = value
    return text_cell(cell)


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every text written as text."""
    from openpyxl.cell.cell import Cell

    sheet.append([set_value(Cell(sheet), value) if isinstance(value, str) else value for value in values])
