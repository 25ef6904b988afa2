"""The consolidated yearly report as a Word document in Vietnamese administrative form.

Layout of Nghị định 30/2020/NĐ-CP, Phụ lục I: A4, margins 20/20/30/15 mm, Times New Roman (also for the east-asian
slot, so Vietnamese never falls back to another font), 14 pt body; the two-column header (issuing body on the
left, national title and motto on the right, each underlined by a short rule), the document type and title, the
numbered sections I–V, and the "Nơi nhận" block beside the signature block. Page numbers from page 2, centred
at the top.

A pure function of ReportData: nothing here reads the database. The Vietnamese vocabulary (statuses,
recurrences, number and date formats) is shared with the spreadsheet (report_xlsx).
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from khgeo.services.reports.data import ReportData, TaskLine, ZoneLine
from khgeo.services.reports.docx_layout import (
    DOCUMENT_NUMBER,
    ISSUER,
    MOTTO,
    NATIONAL_TITLE,
    PROVINCE_BODY,
    RECIPIENTS,
    SIGNER_TITLE,
    TEXT_WIDTH_MM,
    add_body,
    add_grid,
    add_heading,
    add_line,
    add_rule,
    setup_page,
    setup_styles,
    two_columns,
)
from khgeo.services.reports.map_figure import render_map_png
from khgeo.services.reports.wording import (
    KIND_LABELS,
    MISSING,
    STATUS_LABELS,
    Aside,
    deadline_lines,
    fmt_date,
    lateness_text,
    percent_span,
    period_name,
    place_date,
    report_content_lines,
    result_lines,
    sentence_case,
    submitted_text,
    wwtp_change,
)

SECTION_HEADINGS = (
    "I. TÓM TẮT",
    "II. TÌNH HÌNH CÁC KHU, CỤM CÔNG NGHIỆP",
    "III. KẾT QUẢ THỰC HIỆN NHIỆM VỤ",
    "IV. NHIỆM VỤ QUÁ HẠN VÀ CƠ QUAN CHẬM BÁO CÁO",
    "V. KIẾN NGHỊ, ĐỀ XUẤT",
)


# -- the parts of the report --------------------------------------------------------------------------------------
def _masthead(document: DocxDocument, data: ReportData) -> None:
    """Issuer | national title, motto and place/date, as a two-column borderless table."""
    left_mm, right_mm = 65, 100  # the national title must hold on one line
    left, right = two_columns(document, (left_mm, right_mm))
    add_line(left, PROVINCE_BODY, size=13)
    add_line(left, ISSUER, size=13, bold=True)
    add_rule(left, 28, left_mm)
    add_line(left, DOCUMENT_NUMBER, size=13)
    add_line(right, NATIONAL_TITLE, size=12.5, bold=True)
    add_line(right, MOTTO, size=13.5, bold=True)
    add_rule(right, 62, right_mm)
    add_line(right, place_date(data.as_of), size=14, italic=True)


def _title(document: DocxDocument, data: ReportData) -> None:
    add_line(document, "", size=8)
    add_line(document, "BÁO CÁO", size=14, bold=True, after=0)
    add_line(document, f"{data.title} năm {data.year}", size=14, bold=True)
    add_rule(document, 45, TEXT_WIDTH_MM)
    add_line(document, "", size=6)


def _summary(document: DocxDocument, data: ReportData) -> None:
    counts = data.counts
    updated = [zone for zone in data.zones if zone.updates_in_year]
    add_heading(document, SECTION_HEADINGS[0])
    add_body(
        document,
        (
            f"Số liệu tính đến ngày {fmt_date(data.as_of)}. Trên địa bàn tỉnh có {counts['zones']} khu, cụm công "
            f"nghiệp được theo dõi, gồm {counts['kcn']} khu công nghiệp (KCN) và {counts['ccn']} cụm công nghiệp "
            f"(CCN); {counts['ccn_without_wwtp']} cụm công nghiệp chưa có hệ thống xử lý nước thải tập trung. "
            f"Trong năm {data.year} có {sum(zone.updates_in_year for zone in updated)} lượt cập nhật hiện trạng "
            f"của {len(updated)} khu, cụm công nghiệp."
        ),
    )
    add_body(
        document,
        (
            f"Kế hoạch có {counts['tasks']} nhiệm vụ: {counts['done']} nhiệm vụ hoàn thành, {counts['in_progress']} "
            f"nhiệm vụ đang thực hiện, {counts['not_started']} nhiệm vụ chưa thực hiện và {counts['overdue']} nhiệm "
            f"vụ quá hạn."
        ),
    )
    add_body(
        document,
        (
            f"{counts['agencies_submitted']}/{counts['agencies']} cơ quan, đơn vị đã gửi báo cáo năm {data.year} về "
            f"Ban Quản lý các khu công nghiệp tỉnh; {counts['agencies_late']} cơ quan, đơn vị chậm báo cáo. Thời hạn "
            f"các cơ quan, đơn vị gửi báo cáo: trước ngày {fmt_date(data.agency_deadline)}; thời hạn Ban Quản lý "
            f"tổng hợp, báo cáo UBND tỉnh, HĐND tỉnh: trước ngày {fmt_date(data.board_deadline)}."
        ),
    )


def _zone_row(number: int, zone: ZoneLine) -> list[list[str] | str]:
    return [
        str(number),
        zone.name,
        KIND_LABELS.get(zone.kind, zone.kind),
        zone.district or MISSING,
        percent_span(zone, "clearance_pct"),
        wwtp_change(zone),
        percent_span(zone, "infrastructure_pct"),
        str(zone.updates_in_year),
    ]


def _zones(document: DocxDocument, data: ReportData) -> None:
    add_heading(document, SECTION_HEADINGS[1])
    add_body(
        document,
        (
            f"Tình hình giải phóng mặt bằng (GPMB), xử lý nước thải (XLNT) và hoàn thiện hạ tầng của từng khu, cụm "
            f'công nghiệp: số liệu đầu năm → cuối năm {data.year} (thay đổi, điểm %); "{MISSING}" là chưa có số '
            f"liệu."
        ),
    )
    headers = [
        "STT",
        "Tên khu, cụm công nghiệp",
        "Loại",
        "Huyện, TP",
        "GPMB (%)",
        "XLNT",
        "Hạ tầng (%)",
        "Lần cập nhật",
    ]
    rows = [_zone_row(number, zone) for number, zone in enumerate(data.zones, start=1)]
    add_grid(document, headers, (13, 34, 12, 21, 26, 22, 23, 14), rows, centred=(0, 2, 4, 6, 7))
    _map_figure(document, data)


def _map_figure(document: DocxDocument, data: ReportData) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_after = Pt(2)
    paragraph.add_run().add_picture(io.BytesIO(render_map_png(data)), width=Mm(TEXT_WIDTH_MM))
    add_line(
        document,
        (f"Hình 1. Tình trạng xử lý nước thải của các khu, cụm công nghiệp đến ngày {fmt_date(data.as_of)}"),
        size=12,
        italic=True,
        after=6,
    )


def _task_row(number: int, task: TaskLine) -> list[list[str] | str]:
    agencies = [task.lead_agency]
    if task.coordinating_agencies:
        agencies.append(Aside("Phối hợp: " + ", ".join(task.coordinating_agencies)))
    return [
        [str(number), task.id],
        task.title,
        agencies,
        deadline_lines(task),
        STATUS_LABELS.get(task.status, task.status),
        result_lines(task),
    ]


def _tasks(document: DocxDocument, data: ReportData) -> None:
    add_heading(document, SECTION_HEADINGS[2])
    headers = ["STT / Mã", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn", "Tình trạng", "Kết quả báo cáo"]
    number = 0
    for index, (section, title, tasks) in enumerate(data.sections, start=1):
        add_heading(document, f"{index}. {sentence_case(title)} (mục {section} của Kế hoạch)")
        rows = []
        for task in tasks:
            number += 1
            rows.append(_task_row(number, task))
        add_grid(document, headers, (18, 40, 25, 27, 19, 36), rows, centred=(0, 4))
    _agency_reports(document, data, len(data.sections) + 1)


def _agency_reports(document: DocxDocument, data: ReportData, number: int) -> None:
    """Every agency's report as it wrote it: date and lateness, summary, per-task results, attachment."""
    add_heading(document, f"{number}. Báo cáo của các cơ quan, đơn vị")
    rows = []
    for index, agency in enumerate(data.agencies, start=1):
        sent = [fmt_date(agency.submitted_on)] if agency.submitted_on else []
        rows.append(
            [
                str(index),
                agency.name,
                [*sent, Aside(lateness_text(agency))],
                report_content_lines(agency),
                agency.attachment_name or MISSING,
            ]
        )
    add_grid(
        document,
        ["STT", "Cơ quan, đơn vị", "Ngày gửi", "Nội dung báo cáo", "Tệp đính kèm"],
        (12, 38, 26, 62, 27),
        rows,
        centred=(0,),
    )


def _overdue(document: DocxDocument, data: ReportData) -> None:
    add_heading(document, SECTION_HEADINGS[3])
    add_heading(document, "1. Nhiệm vụ quá hạn")
    if data.overdue:
        add_body(document, f"Tính đến ngày {fmt_date(data.as_of)} có {len(data.overdue)} nhiệm vụ quá hạn:")
        rows = [
            [str(number), task.id, task.title, task.lead_agency, deadline_lines(task)]
            for number, task in enumerate(data.overdue, start=1)
        ]
        add_grid(
            document,
            ["STT", "Mã", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn"],
            (12, 20, 58, 35, 40),
            rows,
            centred=(0, 1),
        )
    else:
        add_body(document, f"Tính đến ngày {fmt_date(data.as_of)} không có nhiệm vụ quá hạn.")
    add_heading(document, "2. Cơ quan, đơn vị chậm báo cáo")
    late = data.late_agencies
    if late:
        add_body(document, f"Có {len(late)} cơ quan, đơn vị chậm báo cáo năm {data.year}:")
        for agency in late:
            add_body(document, f"- {agency.name}: {submitted_text(agency, data.agency_deadline)}.")
    else:
        add_body(
            document,
            (
                f"Không có cơ quan, đơn vị chậm báo cáo (thời hạn gửi báo cáo: trước ngày "
                f"{fmt_date(data.agency_deadline)})."
            ),
        )
    pending = [agency for agency in data.agencies if agency.submitted_at is None and not agency.late]
    if pending:
        add_body(
            document,
            (f"Chưa đến hạn, chưa gửi báo cáo ({len(pending)}): " + "; ".join(a.name for a in pending) + "."),
        )
    add_heading(document, "3. Cơ quan, đơn vị đề xuất nhắc nhở")
    reminder = data.reminder_agencies
    if reminder:
        add_body(
            document,
            (
                f"Đề xuất nhắc nhở {len(reminder)} cơ quan, đơn vị chậm hoặc chưa gửi báo cáo: "
                + "; ".join(f"{a.name} ({lateness_text(a).lower()})" for a in reminder)
                + "."
            ),
        )
    else:
        add_body(document, "Không có cơ quan, đơn vị phải nhắc nhở: tất cả đã gửi báo cáo đúng hạn.")
    if data.overdue_by_agency:  # the facts behind each: the task, and the deadline or the period it missed
        add_body(
            document,
            "Đề xuất nhắc nhở các cơ quan, đơn vị chủ trì nhiệm vụ quá hạn: "
            + "; ".join(
                f"{name} ({len(tasks)} nhiệm vụ: "
                + ", ".join(
                    f"{t.id} – kỳ {period_name(t.recurrence, t.missed[1])} chưa có báo cáo"
                    if t.missed
                    else f"{t.id} – hạn {fmt_date(t.due_date)}"
                    for t in tasks
                )
                + ")"
                for name, tasks in data.overdue_by_agency
            )
            + ".",
        )


def _recommendations(document: DocxDocument) -> None:
    add_heading(document, SECTION_HEADINGS[4])
    add_body(
        document,
        (
            "(Ban Quản lý bổ sung các kiến nghị, đề xuất với UBND tỉnh, HĐND tỉnh trên cơ sở kết quả tổng hợp nêu "
            "trên trước khi ký ban hành báo cáo.)"
        ),
        italic=True,
    )


def _closing(document: DocxDocument) -> None:
    """Recipients | signature, as a two-column borderless table."""
    add_line(document, "", size=6)
    left, right = two_columns(document, (75, 90))
    add_line(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for recipient in RECIPIENTS:
        add_line(left, recipient, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    add_line(right, SIGNER_TITLE, size=14, bold=True)
    add_line(right, "(Ký, ghi rõ họ tên)", size=14, italic=True)
    for _ in range(4):  # room for the signature and the name
        add_line(right, "", size=14)


def render_docx(data: ReportData) -> bytes:
    """The consolidated yearly report (.docx) for ``data``."""
    document = Document()
    setup_styles(document)
    setup_page(document)
    document.core_properties.title = f"{data.title} năm {data.year}"
    document.core_properties.author = "Ban Quản lý các khu công nghiệp tỉnh Bắc Giang"
    document.core_properties.language = "vi-VN"
    _masthead(document, data)
    _title(document, data)
    _summary(document, data)
    _zones(document, data)
    _tasks(document, data)
    _overdue(document, data)
    _recommendations(document)
    _closing(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
