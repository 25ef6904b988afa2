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


# -- row heights ----------------------------------------------------------------------------------------------------
# LibreOffice does not size a row to its wrapped text when it opens an XLSX (Excel does): without an explicit height
# a two-line header overlaps the first row of data. A column's width counts characters of the default font (11 pt
# Calibri); bold Vietnamese text with diacritics runs ~1.2 of them per letter, and a line needs ~15 points.
LINE_HEIGHT_PT = 15.0
CHARS_PER_WIDTH = 1 / 1.2


def wrapped_lines(text: object, width: float) -> int:
    """How many lines ``text`` takes in a wrapped cell ``width`` characters wide (words are not split)."""
    per_line = max(1, int(width * CHARS_PER_WIDTH))
    lines = 0
    for paragraph in str(text).split("\n"):
        count, used = 1, 0
        for word in paragraph.split():
            if used and used + 1 + len(word) <= per_line:
                used += 1 + len(word)
                continue
            if used:
                count += 1  # the word starts a new line
            full, rest = divmod(len(word), per_line)  # a word longer than a line runs over several
            count += full if rest else full - 1
            used = rest or per_line
        lines += count
    return max(1, lines)


def size_wrapped_row(sheet: Worksheet, row: int) -> None:
    """Give row ``row`` an explicit height fitting its tallest wrapped cell (call after setting column widths)."""
    lines = 1
    for cell in sheet[row]:
        if cell.value is None or not (cell.alignment is not None and cell.alignment.wrap_text):
            continue
        width = sheet.column_dimensions[cell.column_letter].width or 8.43
        lines = max(lines, wrapped_lines(cell.value, width))
    sheet.row_dimensions[row].height = lines * LINE_HEIGHT_PT
