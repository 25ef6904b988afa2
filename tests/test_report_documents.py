"""The consolidated yearly report as documents: built through the real services, rendered, and read back.

A fresh seeded database gets a year's activity through the same functions the app uses (an agency's report,
a progress note, a zone's status update); `gather` collects it; the Word and Excel files are re-opened with
python-docx and openpyxl and checked against the ReportData they were made from.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import docx
import matplotlib
import openpyxl
import pytest
from PIL import Image
from sqlalchemy import select

from khgeo.models import Agency, Task, Zone
from khgeo.services import accounts, tasks, updates
from khgeo.services.reports import cycle as reporting
from khgeo.services.reports.data import NoReportData, ReportData, gather
from khgeo.services.reports.docx import render_docx
from khgeo.services.reports.map_figure import render_map_png
from khgeo.services.reports.wording import fmt_change, fmt_number, place_date
from khgeo.services.reports.xlsx import COUNT_LABELS, render_xlsx

TODAY = dt.date(2026, 11, 26)
AGENCY = "SCT"  # Sở Công Thương: leads II.1.3b.1, coordinates II.1.4.1
REPORTED_TASK, REPORTED_TEXT = (
    "II.1.3b.1",
    "Đã tổ chức 3 hội nghị tuyên truyền cho doanh nghiệp trong 12 CCN.",
)
PROGRESS_TASK, PROGRESS_NOTE = "II.1.4.1", "Đã ban hành văn bản hướng dẫn các huyện"
ZONE = "kcn-van-trung"
FONT = "Times New Roman"
SECTION_HEADINGS = [
    "I. TÓM TẮT",
    "II. TÌNH HÌNH CÁC KHU, CỤM CÔNG NGHIỆP",
    "III. KẾT QUẢ THỰC HIỆN NHIỆM VỤ",
    "IV. NHIỆM VỤ QUÁ HẠN VÀ CƠ QUAN CHẬM BÁO CÁO",
    "V. KIẾN NGHỊ, ĐỀ XUẤT",
]


def record_year(session, *, items: dict[str, str] | None = None) -> None:
    """2026's activity, through the services: a report by SCT, a progress note, a zone status update."""
    agency = session.scalars(select(Agency).where(Agency.code == AGENCY)).one()
    user = accounts.create_user(session, "sct-canbo", "mat-khau-dai-du-10", role="viewer")
    user.agency = agency
    session.flush()
    report = reporting.submit_report(
        session,
        agency,
        2026,
        user,
        summary="Báo cáo năm 2026 của Sở Công Thương",
        items=items or {REPORTED_TASK: REPORTED_TEXT},
        attachment=None,
        today=TODAY,
    )
    # submit_report stamps the wall clock; pin it so lateness does not depend on when the suite runs
    report.submitted_at = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)
    tasks.add_progress(
        session,
        session.get(Task, PROGRESS_TASK),
        user,
        note=PROGRESS_NOTE,
        status="in_progress",
        reported_on=dt.date(2026, 6, 1),
        today=TODAY,
    )
    zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
    change = updates.validate(
        zone,
        {
            "clearance_area_ha": "200",
            "cleared_area_ha": "175",
            "wwtp_status": "operating",
            "infrastructure_pct": "60",
            "as_of": "2026-10-01",
        },
        TODAY,
    )
    updates.apply_status_update(
        session, zone, user, expected_version=zone.version, change=change, today=TODAY
    )


@pytest.fixture
def recorded(app, db):
    with app.app_context(), db.session() as session:
        record_year(session)
    return app, db


def build(app, db, today: dt.date = TODAY) -> ReportData:
    with app.app_context(), db.session() as session:
        return gather(session, 2026, today)


def docx_text(document) -> list[str]:
    """Every paragraph's text, body and table cells, in document order."""
    lines = []
    body = document.element.body
    for block in body.iterchildren():
        if block.tag.endswith("}p"):
            lines.append(docx.text.paragraph.Paragraph(block, document).text)
        elif block.tag.endswith("}tbl"):
            table = docx.table.Table(block, document)
            for row in table.rows:
                for cell in row.cells:
                    lines.extend(paragraph.text for paragraph in cell.paragraphs)
    return lines


def tables_headed(document, first: str, second: str) -> list:
    return [
        t
        for t in document.tables
        if len(t.columns) > 1 and t.rows[0].cells[0].text == first and t.rows[0].cells[1].text == second
    ]


def sheet_rows(sheet) -> list[dict]:
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


# -- the Word report ---------------------------------------------------------------------------------------------
def test_docx_holds_every_zone_task_and_report(recorded):
    data = build(*recorded)
    document = docx.Document(io.BytesIO(render_docx(data)))

    assert len(data.zones) == 25 and len(data.tasks) == 52
    zone_rows = [
        row for table in tables_headed(document, "STT", "Tên khu, cụm công nghiệp") for row in table.rows[1:]
    ]
    assert [row.cells[1].text for row in zone_rows] == [zone.name for zone in data.zones]
    van_trung = next(row for row, zone in zip(zone_rows, data.zones, strict=True) if zone.code == ZONE)
    assert "87,5" in van_trung.cells[4].text and "60,0" in van_trung.cells[6].text  # decimal comma
    assert van_trung.cells[5].text == "Đang hoạt động" and van_trung.cells[7].text == "1"

    task_tables = tables_headed(document, "STT / Mã", "Nhiệm vụ")
    assert len(task_tables) == len(data.sections)
    rows = {row.cells[0].paragraphs[1].text: row for table in task_tables for row in table.rows[1:]}
    assert list(rows) == [task.id for task in data.tasks]
    for task in data.tasks:
        assert rows[task.id].cells[1].text == task.title
        assert rows[task.id].cells[2].paragraphs[0].text == task.lead_agency
    assert f"Sở Công Thương: {REPORTED_TEXT}" in rows[REPORTED_TASK].cells[5].text
    assert f"01/06/2026 – Sở Công Thương: {PROGRESS_NOTE}" in rows[PROGRESS_TASK].cells[5].text
    assert rows[PROGRESS_TASK].cells[4].text == "Đang thực hiện"
    fixed = next(task for task in data.tasks if task.due_date)
    assert fixed.due_date.strftime("%d/%m/%Y") in rows[fixed.id].cells[3].text
    monthly = next(task for task in data.tasks if task.recurrence == "monthly")
    assert "Hàng tháng" in rows[monthly.id].cells[3].text

    overdue = tables_headed(document, "STT", "Mã")
    assert len(overdue) == 1 and data.overdue
    assert [row.cells[1].text for row in overdue[0].rows[1:]] == [task.id for task in data.overdue]
    text = "\n".join(docx_text(document))
    assert data.counts["agencies_late"] == 0
    assert "Không có cơ quan, đơn vị chậm báo cáo (thời hạn gửi báo cáo: trước ngày 15/12/2026)" in text
    assert (
        f"{data.counts['agencies_submitted']}/{data.counts['agencies']} cơ quan, đơn vị đã gửi báo cáo"
        in text
    )
    assert "(Ban Quản lý bổ sung" in text


def test_docx_follows_the_administrative_form(recorded):
    data = build(*recorded)
    document = docx.Document(io.BytesIO(render_docx(data)))

    normal = document.styles["Normal"]
    assert normal.font.name == FONT and 13 <= normal.font.size.pt <= 14
    fonts = normal.element.rPr.rFonts
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        assert fonts.get(docx.oxml.ns.qn(slot)) == FONT
    assert all(run.font.name in (None, FONT) for p in document.paragraphs for run in p.runs)

    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 20 <= round(section.top_margin.mm) <= 25 and 20 <= round(section.bottom_margin.mm) <= 25
    assert 30 <= round(section.left_margin.mm) <= 35 and 15 <= round(section.right_margin.mm) <= 20

    masthead = document.tables[0]
    left, right = (cell.paragraphs for cell in masthead.rows[0].cells)
    assert [p.text for p in left if p.text] == [
        "UBND TỈNH BẮC GIANG",
        "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP",
        "Số: …/BC-BQL",
    ]
    assert [p.text for p in right if p.text] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Bắc Giang, ngày 26 tháng 11 năm 2026",
    ]
    assert right[0].runs[0].bold and right[1].runs[0].bold and right[-1].runs[0].italic
    assert masthead._tbl.tblPr.find(docx.oxml.ns.qn("w:tblBorders")) is not None  # borderless

    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[paragraphs.index("BÁO CÁO") + 1] == f"{data.title} năm 2026"
    headings = [text for text in paragraphs if text.split(". ")[0] in ("I", "II", "III", "IV", "V")]
    assert headings == SECTION_HEADINGS
    assert len(document.inline_shapes) == 1  # the map
    assert any(text.startswith("Hình 1.") for text in paragraphs)

    for table in document.tables[1:-1]:  # data tables: bold header repeated on every page
        header = table.rows[0]
        assert header._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
        assert all(run.bold for cell in header.cells for p in cell.paragraphs for run in p.runs)
    closing = document.tables[-1].rows[0].cells
    recipients = [p for p in closing[0].paragraphs if p.text]
    assert recipients[0].text == "Nơi nhận:" and recipients[0].runs[0].bold and recipients[0].runs[0].italic
    assert recipients[0].runs[0].font.size.pt == 12 and recipients[1].runs[0].font.size.pt == 11
    assert [p.text for p in recipients[1:]][:2] == ["- HĐND tỉnh;", "- UBND tỉnh;"]
    assert closing[1].paragraphs[0].text == "TRƯỞNG BAN"


def test_late_agencies_are_listed(recorded):
    data = build(*recorded, today=dt.date(2027, 1, 10))  # after the 15/12 deadline: all but SCT are late
    late = data.late_agencies
    assert late and AGENCY not in {agency.code for agency in late}
    document = docx.Document(io.BytesIO(render_docx(data)))
    text = docx_text(document)
    start = text.index("2. Cơ quan, đơn vị chậm báo cáo")
    listed = [line for line in text[start:] if line.startswith("- ") and "báo cáo" in line]
    assert [line.split(":")[0][2:] for line in listed] == [agency.name for agency in late]
    assert all("chưa gửi báo cáo (hạn 15/12/2026)" in line for line in listed)
    assert "ngày 31 tháng 12 năm 2026" in "\n".join(text)  # a past year's report is dated at its end

    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(data)))
    agencies = sheet_rows(workbook["Cơ quan báo cáo"])
    assert {row["Tên cơ quan, đơn vị"].value for row in agencies if row["Chậm"].value == "Có"} == {
        agency.name for agency in late
    }


# -- the workbook -------------------------------------------------------------------------------------------------
def test_xlsx_holds_typed_figures(recorded):
    data = build(*recorded)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(data)))
    assert workbook.sheetnames == ["Tóm tắt", "Khu cụm CN", "Nhiệm vụ", "Quá hạn", "Cơ quan báo cáo"]
    assert workbook.properties.title == f"{data.title} năm 2026" and workbook.properties.creator

    summary = {row["Chỉ tiêu"].value: row["Giá trị"] for row in sheet_rows(workbook["Tóm tắt"])}
    assert {key: summary[label].value for key, label in COUNT_LABELS.items()} == data.counts
    for label, expected in (
        ("Hạn các cơ quan, đơn vị gửi báo cáo", data.agency_deadline),
        ("Hạn Ban Quản lý báo cáo UBND tỉnh, HĐND tỉnh", data.board_deadline),
        ("Số liệu tính đến ngày", data.as_of),
    ):
        cell = summary[label]
        assert cell.is_date and cell.value.date() == expected and cell.number_format == "dd/mm/yyyy"

    zones = sheet_rows(workbook["Khu cụm CN"])
    assert [row["Tên khu, cụm công nghiệp"].value for row in zones] == [zone.name for zone in data.zones]
    percent_columns = [name for name in zones[0] if "(%)" in name or "(điểm %)" in name]
    assert len(percent_columns) == 6
    for row in zones:
        for name in percent_columns:
            assert row[name].value is None or isinstance(row[name].value, int | float)
            assert row[name].number_format in ("0.0", "+0.0;-0.0;0.0")
    van_trung = next(row for row in zones if row["Mã"].value == ZONE)
    assert van_trung["GPMB cuối năm (%)"].value == 87.5 and van_trung["Hạ tầng cuối năm (%)"].value == 60
    assert van_trung["XLNT cuối năm"].value == "Đang hoạt động" and van_trung["Số lần cập nhật"].value == 1

    task_rows = sheet_rows(workbook["Nhiệm vụ"])
    assert [row["Mã"].value for row in task_rows] == [task.id for task in data.tasks]
    assert [row["Nhiệm vụ"].value for row in task_rows] == [task.title for task in data.tasks]
    for row, task in zip(task_rows, data.tasks, strict=True):
        for column, expected in (("Hạn", task.due_date), ("Hạn kế tiếp", task.next_due)):
            cell = row[column]
            assert cell.number_format == "dd/mm/yyyy"
            assert (cell.value.date() if cell.value is not None else None) == expected
            assert cell.value is None or (cell.is_date and isinstance(cell.value, dt.datetime))
    reported = next(row for row in task_rows if row["Mã"].value == REPORTED_TASK)
    assert f"Sở Công Thương: {REPORTED_TEXT}" in reported["Kết quả báo cáo"].value
    assert [row["Mã"].value for row in sheet_rows(workbook["Quá hạn"])] == [task.id for task in data.overdue]

    agencies = sheet_rows(workbook["Cơ quan báo cáo"])
    assert [row["Tên cơ quan, đơn vị"].value for row in agencies] == [agency.name for agency in data.agencies]
    sct = next(row for row in agencies if row["Mã"].value == AGENCY)
    assert sct["Đã nộp"].is_date and sct["Đã nộp"].value == dt.datetime(2026, 11, 20, 9, 30)  # UTC+7
    assert sct["Chậm"].value == "Không"

    for sheet in workbook:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        assert all(cell.font.b for cell in sheet[1])
        assert all(12 <= dimension.width <= 60 for dimension in sheet.column_dimensions.values())


def test_typed_text_stays_text(app, db):
    """Users' text that looks like a formula or carries Word's control characters is written as plain text."""
    with app.app_context(), db.session() as session:
        record_year(session, items={REPORTED_TASK: '=HYPERLINK("http://x.invalid","bấm")\x0bdòng hai\x07'})
    data = build(app, db)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(data)))
    cell = next(row for row in sheet_rows(workbook["Nhiệm vụ"]) if row["Mã"].value == REPORTED_TASK)[
        "Kết quả báo cáo"
    ]
    assert cell.data_type == "s" and cell.value.startswith("Sở Công Thương: =HYPERLINK(")
    assert "\x0b" not in cell.value and "\x07" not in cell.value and "dòng hai" in cell.value
    document = docx.Document(io.BytesIO(render_docx(data)))
    assert any('=HYPERLINK("http://x.invalid","bấm")' in line for line in docx_text(document))


# -- the map, the empty year, the formats ----------------------------------------------------------------------------
def test_map_png(recorded):
    data = build(*recorded)
    before = len(matplotlib._pylab_helpers.Gcf.figs)
    png = render_map_png(data)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == 1600 and image.height > 600
    with Image.open(io.BytesIO(render_map_png(data, width_px=900))) as image:
        assert image.width == 900
    assert len(matplotlib._pylab_helpers.Gcf.figs) == before  # no figure left behind


def test_year_with_nothing_recorded(app, db):
    with app.app_context(), db.session() as session, pytest.raises(NoReportData) as raised:
        gather(session, 2023, TODAY)
    assert raised.value.status == 422
    assert "2023" in str(raised.value.message) and len(str(raised.value.message)) > 40


def test_vietnamese_formats():
    assert fmt_number(Decimal("37.5")) == "37,5" and fmt_number(Decimal("1234.5")) == "1.234,5"
    assert fmt_number(None) == "—" and fmt_change(None) == "—"
    assert (fmt_change(Decimal("12.5")), fmt_change(Decimal("-3")), fmt_change(Decimal("0"))) == (
        "+12,5",
        "-3,0",
        "0,0",
    )
    # NĐ 30/2020, Phụ lục I: a zero before days under 10 and before months 1 and 2
    assert place_date(dt.date(2026, 1, 5)) == "Bắc Giang, ngày 05 tháng 01 năm 2026"
    assert place_date(dt.date(2026, 2, 28)) == "Bắc Giang, ngày 28 tháng 02 năm 2026"
    assert place_date(dt.date(2026, 3, 9)) == "Bắc Giang, ngày 09 tháng 3 năm 2026"
