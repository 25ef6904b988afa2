"""Every workbook khgeo writes (the zones export, the planning sheets, the yearly report) shows its tables one way
(``spreadsheet.write_table``): a shaded bold header that wraps, numbers and dates typed by what a column holds
(integers 1.234, decimals 1.234,5, dates dd/mm/yyyy), and wrapped rows with a height LibreOffice can use."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from openpyxl import Workbook

from khgeo.services import accounts
from khgeo.services.interop.spreadsheet import (
    DATE,
    DECIMAL,
    INTEGER,
    LINE_HEIGHT_PT,
    MAX_WIDTH,
    MIN_WIDTH,
    TableColumn,
    wrapped_lines,
    write_table,
)
from tests.test_hardening_outputs import SPREADSHEETS
from tests.test_report_documents import record_year
from tests.test_updates_rules import login


@pytest.fixture
def workbooks(app, client, db):
    with app.app_context(), db.session() as session:
        record_year(session)  # something recorded this year, for the yearly report
        session.commit()
    with db.session() as session:
        accounts.create_user(session, "bql-tables", "correct horse battery", "admin")
    assert login(client, "bql-tables", "correct horse battery").status_code == 302
    return {name: openpyxl.load_workbook(io.BytesIO(get(client, db))) for name, get in SPREADSHEETS.items()}


def test_every_table_has_the_same_header_panes_and_filter(workbooks):
    for name, workbook in workbooks.items():
        for sheet in workbook.worksheets:
            header = list(sheet[1])
            where = f"{name} / {sheet.title}"
            assert all(cell.font.b and cell.alignment.wrap_text for cell in header), where
            assert all(cell.fill.fgColor.rgb.endswith("D9E1F2") for cell in header), where
            assert sheet.row_dimensions[1].height, where
            assert sheet.freeze_panes in ("A2", "C2") and sheet.auto_filter.ref.startswith("A1:"), where
            assert sheet.print_title_rows in ("1:1", "$1:$1"), where  # repeated on every printed page
            widths = [sheet.column_dimensions[cell.column_letter].width for cell in header]
            assert all(MIN_WIDTH <= width <= MAX_WIDTH for width in widths), where


def test_the_planning_sheets_type_integers_decimals_and_dates(workbooks):
    """Days are integers (1.234), areas and percentages decimals (1.234,5), dates dd/mm/yyyy (the values read
    back as int where a decimal happens to be whole, so the header says what the column holds)."""
    expected = {"Số ngày": INTEGER, "Diện tích quy hoạch (ha)": DECIMAL, "Thay đổi gần nhất": DATE}
    seen = set()
    for name, workbook in workbooks.items():
        if not name.startswith("planning"):
            continue
        sheet = workbook.active
        for index, header in enumerate(cell.value for cell in sheet[1]):
            if header not in expected and not header.endswith("(%)"):
                continue
            cells = [row[index] for row in sheet.iter_rows(min_row=2) if row[index].value is not None]
            assert cells, (name, header)
            assert {cell.number_format for cell in cells} == {expected.get(header, DECIMAL)}, (name, header)
            seen.add(header if header in expected else "(%)")
    assert seen == {*expected, "(%)"}


def test_every_wrapped_row_with_several_lines_has_a_height_for_them(workbooks):
    checked = 0
    for name, workbook in workbooks.items():
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(min_row=2):
                lines = max(
                    (
                        wrapped_lines(cell.value, sheet.column_dimensions[cell.column_letter].width)
                        for cell in row
                        if cell.value is not None and cell.alignment.wrap_text
                    ),
                    default=1,
                )
                if lines == 1:
                    continue
                height = sheet.row_dimensions[row[0].row].height
                assert height and height >= lines * LINE_HEIGHT_PT, (name, sheet.title, row[0].row, lines)
                checked += 1
    assert checked, "the yearly report's task texts run over several lines"


def test_write_table_types_cells_by_column_or_value():
    sheet = Workbook().active
    columns = [
        TableColumn("Tên"),
        TableColumn("Số"),
        TableColumn("Diện tích (ha)"),
        TableColumn("Ngày"),
        TableColumn("Tỷ lệ (%)", "0.0"),
        TableColumn("Ghi chú dài", wrap=True),
    ]
    write_table(
        sheet,
        columns,
        [
            ["=1+1", 1234, Decimal("1234.5"), dt.date(2026, 3, 4), None, "một " * 40],
            ["-x", -5, 0.25, None, 12.5, None],
        ],
    )
    name, count, area, day, pct, note = sheet[2]
    assert name.value == "=1+1" and name.data_type == "s" and name.quotePrefix
    assert count.value == 1234 and count.number_format == INTEGER
    assert area.value == 1234.5 and isinstance(area.value, float) and area.number_format == DECIMAL
    assert (
        day.number_format == DATE and pct.number_format == "0.0"
    )  # a declared format, also on an empty cell
    assert sheet["B3"].value == -5 and sheet["B3"].data_type == "n"
    assert note.alignment.wrap_text and sheet.row_dimensions[2].height >= 3 * LINE_HEIGHT_PT
    assert sheet.column_dimensions["F"].width == MAX_WIDTH
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F3"
