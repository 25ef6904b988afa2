"""Making a cell safe for a spreadsheet: the one guard every CSV and XLSX khgeo writes goes through; and the one
XLSX table writer (``write_table``) every workbook khgeo writes uses: the zones export, the planning sheets and the
yearly report's sheets.

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

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # openpyxl is imported where a workbook is written, not by every CSV reader
    from openpyxl import Workbook
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


# -- one table a sheet ----------------------------------------------------------------------------------------------
# Number formats by what a column holds. Excel and LibreOffice show "," and "." in the reader's locale, so a
# Vietnamese desktop reads 1.234,5.
INTEGER = "#,##0"
DECIMAL = "#,##0.0"
PERCENT = "0.0"
CHANGE = "+0.0;-0.0;0.0"  # a change in percentage points, signed
DATE = "dd/mm/yyyy"
DATETIME = "dd/mm/yyyy hh:mm"
YEAR = "0"  # a year is a number without a thousands separator
MIN_WIDTH, MAX_WIDTH = 12, 60  # characters of the default font
HEADER_FILL_COLOUR = "D9E1F2"


@dataclass(frozen=True)
class TableColumn:
    header: str
    number_format: str | None = None  # None: by each value's type (``value_format``)
    wrap: bool = False  # long text, wrapped within the column (a column wider than MAX_WIDTH wraps anyway)


def value_format(value: Any) -> str | None:
    """The number format of a value in a column that declares none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        return DATETIME
    if isinstance(value, dt.date):
        return DATE
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float | Decimal):
        return DECIMAL
    return None


def display_width(value: Any, number_format: str | None) -> int:
    """How many characters ``value`` shows as in a cell of ``number_format`` (its longest line, for text)."""
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and number_format:
        decimals = re.search(r"\.(0+)", number_format)
        grouping = "," if "," in number_format.split(";")[0] else ""
        shown = f"{float(value):{grouping}.{len(decimals.group(1)) if decimals else 0}f}"
        return len(shown) + (number_format.startswith("+") and value >= 0)
    return max(len(line) for line in str(value).split("\n"))


def write_table(
    sheet: Worksheet,
    columns: Sequence[TableColumn],
    rows: Iterable[Sequence[Any]],
    *,
    freeze: str = "A2",
    clean: Callable[[str], str] | None = None,
) -> None:
    """Write one table on ``sheet``, the way every khgeo workbook shows one.

    A bold, shaded header that wraps its words (and gets an explicit height: LibreOffice does not size a wrapped row
    on open), frozen with the columns left of ``freeze`` and repeated on every printed page; every text a text cell
    (never a formula); numbers and dates typed with the column's number format (an empty cell too, so a date typed
    into it later shows as one); widths fitted to the content between MIN_WIDTH and MAX_WIDTH, long text wrapped
    and its rows sized; an autofilter; A4 landscape, one page wide. ``clean`` rewrites each text first (the
    report drops the control characters XML cannot hold)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL_COLOUR)
    header_alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for index, column in enumerate(columns, start=1):
        cell = set_value(sheet.cell(row=1, column=index), column.header)
        cell.font, cell.fill, cell.alignment = header_font, header_fill, header_alignment
    widths = [max(len(word) for word in column.header.split() or [""]) + 2 for column in columns]
    for row_index, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            if isinstance(value, str) and clean is not None:
                value = clean(value)
            if isinstance(value, Decimal):
                value = float(value)
            cell = set_value(sheet.cell(row=row_index, column=index), value)
            number_format = column.number_format or value_format(value)
            if number_format:
                cell.number_format = number_format
            widths[index - 1] = max(widths[index - 1], display_width(value, number_format) + 2)
    last_row = max(sheet.max_row, 1)
    wrapped_columns = []
    for index, (column, width) in enumerate(zip(columns, widths, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, MIN_WIDTH), MAX_WIDTH)
        wrap = column.wrap or width > MAX_WIDTH
        alignment = Alignment(vertical="top", wrap_text=wrap)
        for (cell,) in sheet.iter_rows(min_row=2, max_row=last_row, min_col=index, max_col=index):
            cell.alignment = alignment
        if wrap:
            wrapped_columns.append(index)
    size_wrapped_row(sheet, 1)
    for row_index in range(2, last_row + 1):  # a data row holding wrapped text is sized like the header
        if any(sheet.cell(row=row_index, column=index).value is not None for index in wrapped_columns):
            size_wrapped_row(sheet, row_index)
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_row}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def workbook_bytes(workbook: Workbook, *, title: str, creator: str, language: str | None = None) -> bytes:
    """The workbook as an .xlsx file, titled (File ▸ Properties) and signed."""
    workbook.properties.title = title
    workbook.properties.creator = creator
    if language:
        workbook.properties.language = language
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_workbook(
    sheet_title: str,
    columns: Sequence[TableColumn],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
    creator: str = "khgeo",
    freeze: str = "A2",
) -> bytes:
    """An .xlsx of one sheet holding one table (``write_table``)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]  # Excel's limit on a sheet's name
    write_table(sheet, columns, rows, freeze=freeze)
    return workbook_bytes(workbook, title=title, creator=creator)
