"""Spreadsheets that open right in LibreOffice: it does not size a wrapped row when it opens an XLSX (Excel does),
so every wrapped header row khgeo writes carries an explicit height for its lines."""

from __future__ import annotations

import io

import openpyxl
import pytest

from khgeo.services import accounts
from khgeo.services.interop.spreadsheet import LINE_HEIGHT_PT, wrapped_lines
from tests.test_hardening_outputs import SPREADSHEETS
from tests.test_report_documents import record_year
from tests.test_updates_rules import login


def test_wrapped_lines_counts_words_onto_lines():
    assert wrapped_lines("Mã", 12) == 1
    assert wrapped_lines("GPMB thay đổi (điểm %)", 12) == 3  # ten usable letters a line
    assert wrapped_lines("a" * 25, 12) == 3  # a word longer than the line runs over
    assert wrapped_lines("một\nhai", 40) == 2


@pytest.mark.parametrize("output", SPREADSHEETS)
def test_every_wrapped_header_row_has_a_height_for_its_lines(app, client, db, output):
    with app.app_context(), db.session() as session:
        record_year(session)  # something recorded this year, for the yearly report
        session.commit()
    with db.session() as session:  # planning sheets and the consolidated report are for logged-in users
        accounts.create_user(session, "bql-rows", "correct horse battery", "admin")
    assert login(client, "bql-rows", "correct horse battery").status_code == 302
    workbook = openpyxl.load_workbook(io.BytesIO(SPREADSHEETS[output](client, db)))
    checked = 0
    for sheet in workbook.worksheets:
        header = [cell for cell in sheet[1] if cell.value is not None]
        wrapped = [cell for cell in header if cell.alignment.wrap_text]
        if not wrapped:
            continue
        lines = max(
            wrapped_lines(c.value, sheet.column_dimensions[c.column_letter].width or 8.43) for c in wrapped
        )
        height = sheet.row_dimensions[1].height
        assert height is not None, f"{output} / {sheet.title}: a wrapped header row without a height"
        assert height >= lines * LINE_HEIGHT_PT, (output, sheet.title, lines, height)
        checked += 1
    # the planning sheets do not wrap their headers (nothing to size); the export and the report do
    assert checked or output.startswith("planning"), f"{output}: no wrapped header row"
