"""The board's report holds everything agencies wrote; unknown stays unknown; export columns are never stale."""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import openpyxl
import pytest
from sqlalchemy import select, update

from khgeo.models import Agency, Zone
from khgeo.services import accounts, updates
from khgeo.services.reports import cycle as reporting
from khgeo.services.reports.docx import render_docx
from khgeo.services.reports.wording import deadline_lines
from khgeo.services.reports.xlsx import render_xlsx
from tests.test_report_documents import (
    AGENCY,
    REPORTED_TASK,
    REPORTED_TEXT,
    build,
    docx_text,
    record_year,
    sheet_rows,
    tables_headed,
)
from tests.test_updates_rules import add_user, login

ATTACHMENT = "bao-cao-sct-2026.pdf"
SUMMARY = "Báo cáo năm 2026 của Sở Công Thương"
LATE_AGENCY, LATE_SUMMARY = "SXD", "Sở Xây dựng: đã rà soát quy hoạch xây dựng 12 cụm công nghiệp"
AFTER_DEADLINE = dt.date(2027, 1, 10)


@pytest.fixture
def client(app, db):
    """A logged-in official: the planners' views and their workbooks are for logged-in users."""
    client = app.test_client()
    assert login(client, add_user(db, "viewer")).status_code == 302
    return client


def _record(app, db) -> None:
    """SCT reports on time with a task result and an attachment; SXD reports three days late; others never."""
    with app.app_context(), db.session() as session:
        record_year(session)
        sct = session.scalars(select(Agency).where(Agency.code == AGENCY)).one()
        report = reporting.get_report(session, sct, 2026)
        report.attachment, report.attachment_name = b"%PDF-1.4 minimal", ATTACHMENT
        report.attachment_type = "application/pdf"
        sxd = session.scalars(select(Agency).where(Agency.code == LATE_AGENCY)).one()
        user = accounts.create_user(session, "sxd-canbo", "mat-khau-dai-du-10", role="viewer")
        user.agency = sxd
        late = reporting.submit_report(
            session, sxd, 2026, user, summary=LATE_SUMMARY, items={}, attachment=None, today=AFTER_DEADLINE
        )
        late.submitted_at = dt.datetime(2026, 12, 18, 3, 0, tzinfo=dt.UTC)  # 18/12, deadline 15/12
        session.commit()


def test_the_word_report_holds_every_agencys_report(app, db):
    _record(app, db)
    data = build(app, db, today=AFTER_DEADLINE)
    document = docx.Document(io.BytesIO(render_docx(data)))
    (table,) = tables_headed(document, "STT", "Cơ quan, đơn vị")
    rows = {row.cells[1].text: row for row in table.rows[1:]}
    assert list(rows) == [agency.name for agency in data.agencies]
    sct = rows["Sở Công Thương"]
    assert "20/11/2026" in sct.cells[2].text and "Đúng hạn" in sct.cells[2].text
    assert SUMMARY in sct.cells[3].text and f"{REPORTED_TASK}: {REPORTED_TEXT}" in sct.cells[3].text
    assert sct.cells[4].text == ATTACHMENT
    sxd = next(row for row in table.rows[1:] if LATE_SUMMARY in row.cells[3].text)
    assert "18/12/2026" in sxd.cells[2].text and "Chậm 3 ngày" in sxd.cells[2].text
    silent = [row for row in table.rows[1:] if "Chưa gửi, quá hạn" in row.cells[2].text]
    assert len(silent) == len(data.agencies) - 2

    text = docx_text(document)
    reminder = text[text.index("3. Cơ quan, đơn vị đề xuất nhắc nhở") + 1]
    proposed = {agency.name for agency in data.agencies if agency.code != AGENCY}
    assert all(name in reminder for name in proposed) and "Sở Công Thương" not in reminder
    assert f"Đề xuất nhắc nhở {len(proposed)} cơ quan, đơn vị" in reminder
    # every date the report writes is dd/mm/yyyy
    joined = "\n".join(text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", joined)


def test_the_workbook_holds_every_agencys_report(app, db):
    _record(app, db)
    data = build(app, db, today=AFTER_DEADLINE)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(data)))
    rows = {row["Mã"].value: row for row in sheet_rows(workbook["Cơ quan báo cáo"])}
    sct, sxd = rows[AGENCY], rows[LATE_AGENCY]
    assert sct["Tóm tắt báo cáo"].value == SUMMARY
    assert f"{REPORTED_TASK}: {REPORTED_TEXT}" in sct["Kết quả theo nhiệm vụ"].value
    assert sct["Tệp đính kèm"].value == ATTACHMENT
    assert sct["Tình trạng"].value == "Đúng hạn" and sct["Đề xuất nhắc nhở"].value == "Không"
    assert sct["Đã nộp"].number_format == "dd/mm/yyyy hh:mm" and sct["Hạn nộp"].number_format == "dd/mm/yyyy"
    assert sxd["Tóm tắt báo cáo"].value == LATE_SUMMARY and sxd["Tình trạng"].value == "Chậm 3 ngày"
    assert sxd["Số ngày chậm"].value == 3 and sxd["Đề xuất nhắc nhở"].value == "Có"
    others = [row for code, row in rows.items() if code not in (AGENCY, LATE_AGENCY)]
    assert others and all(row["Đề xuất nhắc nhở"].value == "Có" for row in others)
    summary = {row["Chỉ tiêu"].value: row["Giá trị"].value for row in sheet_rows(workbook["Tóm tắt"])}
    assert summary["Số cơ quan, đơn vị đề xuất nhắc nhở (chậm hoặc chưa gửi báo cáo)"] == len(rows) - 1


def test_units_not_reporting_before_the_deadline_are_proposed_for_a_reminder(app, db):
    _record(app, db)
    data = build(app, db)  # 26/11/2026: before the deadline, SXD's late report is not yet late...
    waiting = {a.code for a in data.agencies if a.submitted_at is None}
    assert waiting and {a.code for a in data.reminder_agencies} >= waiting  # ...but silence is still reminded
    assert AGENCY not in {a.code for a in data.reminder_agencies}


def test_an_overdue_recurring_task_in_the_report_names_its_period(app, db):
    _record(app, db)
    data = build(app, db)
    monthly = next(task for task in data.tasks if task.id == "II.3.1.2")
    assert monthly.status == "overdue"
    assert "Hàng tháng; kỳ tháng 10/2026 chưa có báo cáo" in deadline_lines(monthly)


# -- unknown stays unknown ----------------------------------------------------------------------------------------
def test_an_unknown_area_is_never_0_ha_in_a_total(db, client):
    page = client.get("/planning").get_data(as_text=True)
    codes = re.findall(r'<tr data-code="([^"]+)"><td>', page.split('id="wwtp-list"')[1].split("</table>")[0])
    with db.session() as session:
        session.execute(update(Zone).where(Zone.code == codes[0]).values(stated_area_ha=None))
        session.execute(update(Zone).where(Zone.code == codes[1]).values(stated_area_ha=12.5))
        areas = dict(
            session.execute(select(Zone.code, Zone.stated_area_ha).where(Zone.code.in_(codes))).all()
        )
        session.commit()
    known = [area for area in areas.values() if area is not None]
    unknown = [code for code, area in areas.items() if area is None]
    page = client.get("/planning").get_data(as_text=True)
    total = re.search(r'<span id="wwtp-total-area">(.*?)</span>', page).group(1)
    expected = f"{sum(known):,.1f}".translate(str.maketrans({",": ".", ".": ","}))
    assert total == f"{expected} ha ({len(unknown)} khu chưa rõ)"
    for code in unknown:
        row = re.search(rf'<tr data-code="{code}">(.*?)</tr>', page).group(1)
        assert "chưa rõ" in row and not re.search(r"(?<![\d.,])0 ha", row)
    footer = page.split('id="wwtp-list"')[1].split("<tfoot>")[1].split("</tfoot>")[0]
    assert "chưa rõ" in footer and not re.search(r"(?<![\d.,])0 ha", footer)


def test_the_clearance_incomplete_column_follows_the_figures(app, db, client):
    def exported(code: str):
        workbook = openpyxl.load_workbook(io.BytesIO(client.get("/export/zones.xlsx").data))
        rows = {row["Mã"].value: row for row in sheet_rows(workbook.active)}
        return rows[code]["GPMB chưa xong"].value, client.get(f"/api/zones/{code}").get_json()

    with db.session() as session:
        flagged = session.scalars(select(Zone).where(Zone.clearance_incomplete.is_(True))).first()
        assert flagged is not None and flagged.clearance_pct is None, "the seed states unfinished clearance"
        code = flagged.code
    value, feature = exported(code)
    assert value == "Có" and feature["properties"]["clearance_incomplete"] is True
    with app.app_context(), db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == code)).one()
        user = accounts.create_user(session, "bql-admin", "mat-khau-dai-du-10", role="admin")
        change = updates.validate(
            zone,
            {"clearance_area_ha": "100", "cleared_area_ha": "100", "as_of": "2026-11-01"},
            dt.date(2026, 11, 26),
        )
        updates.apply_status_update(
            session, zone, user, expected_version=zone.version, change=change, today=dt.date(2026, 11, 26)
        )
        session.commit()
    value, feature = exported(code)
    assert value == "Không" and feature["properties"]["clearance_incomplete"] is False


def test_planning_workbooks_write_percent_signs_once(client):
    for view in ("wwtp", "infrastructure", "stalled"):
        workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/planning/{view}.xlsx").data))
        headers = [cell.value for cell in workbook.active[1]]
        assert not any("%%" in header for header in headers), headers
        assert any(header.endswith("(%)") for header in headers), headers
