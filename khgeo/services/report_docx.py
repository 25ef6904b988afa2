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

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from khgeo import clock
from khgeo.codes import GEOMETRY_SOURCE, RECURRENCE, TASK_STATUS, WWTP_STATUS, ZONE_KIND
from khgeo.services.report_data import AgencyLine, ReportData, TaskLine, ZoneLine
from khgeo.services.report_map import render_map_png

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 11
TABLE_STYLE, TABLE_STYLE_ID = "Bảng số liệu", "BangSoLieu"
MISSING = "—"
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm

PROVINCE_BODY = "UBND TỈNH BẮC GIANG"
ISSUER = "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"
DOCUMENT_NUMBER = "Số: …/BC-BQL"
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PLACE = "Bắc Giang"
SIGNER_TITLE = "TRƯỞNG BAN"
RECIPIENTS = ("- HĐND tỉnh;", "- UBND tỉnh;", "- Các Sở, ngành, UBND các huyện, thành phố;", "- Lưu: VT, …")

# Vietnamese labels of stored codes, from the codes table (a document is written in Vietnamese)
STATUS_LABELS = TASK_STATUS.labels_vi()
RECURRENCE_LABELS = RECURRENCE.labels_vi()
WWTP_LABELS = WWTP_STATUS.labels_vi(
    short=True
)  # short forms for table cells; the map's legend spells "none" out
KIND_LABELS = ZONE_KIND.labels_vi(short=True)
GEOMETRY_SOURCE_LABELS = GEOMETRY_SOURCE.labels_vi(short=True)
SECTION_HEADINGS = (
    "I. TÓM TẮT",
    "II. TÌNH HÌNH CÁC KHU, CỤM CÔNG NGHIỆP",
    "III. KẾT QUẢ THỰC HIỆN NHIỆM VỤ",
    "IV. NHIỆM VỤ QUÁ HẠN VÀ CƠ QUAN CHẬM BÁO CÁO",
    "V. KIẾN NGHỊ, ĐỀ XUẤT",
)


# -- the shared Vietnamese formats -------------------------------------------------------------------------------
def fmt_number(value: Decimal | float | int | None, digits: int = 1) -> str:
    """37.5 → "37,5"; 1234.5 → "1.234,5" (Vietnamese: decimal comma, dot between thousands); None → "—"."""
    if value is None:
        return MISSING
    text = f"{value:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,"))


def fmt_change(value: Decimal | float | None, digits: int = 1) -> str:
    """A signed change: +12,5 / -3,0 / 0,0; None → "—"."""
    if value is None:
        return MISSING
    magnitude = abs(value) if isinstance(value, Decimal) else abs(float(value))
    text = fmt_number(magnitude, digits)
    return text if value == 0 else ("+" if value > 0 else "-") + text


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Text as users typed or pasted it, minus the control characters XML (and so .docx/.xlsx) cannot hold:
    Word's vertical tab (a line break inside a pasted paragraph) becomes a newline, the rest is dropped."""
    return _CONTROL_CHARACTERS.sub("", text.replace("\x0b", "\n"))


def fmt_date(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else MISSING


def place_date(day: dt.date, place: str = PLACE) -> str:
    """ "Bắc Giang, ngày 05 tháng 01 năm 2026" (NĐ 30/2020, Phụ lục I: a zero before days under 10 and months 1, 2)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def sentence_case(text: str) -> str:
    """The plan writes some titles in capitals ("TỔ CHỨC THỰC HIỆN"): as a sub-heading they read "Tổ chức thực hiện"."""
    text = text.strip().rstrip(".")
    return text.capitalize() if text.isupper() else text[:1].upper() + text[1:]


def wwtp_label(status: str | None) -> str:
    return WWTP_LABELS.get(status, status or MISSING)


def wwtp_change(zone: ZoneLine) -> str:
    """The status at the end of the year, "start → end" when it changed during the year."""
    before, after = zone.start.wwtp_status, zone.end.wwtp_status
    if before == after or before is None:
        return wwtp_label(after)
    return f"{wwtp_label(before)} → {wwtp_label(after)}"


def percent_span(zone: ZoneLine, attribute: str) -> list[str]:
    """["37,5 → 50,0", "(+12,5)"]: start → end, then the change, of a percentage over the year."""
    before, after = getattr(zone.start, attribute), getattr(zone.end, attribute)
    if before is None and after is None:
        return [MISSING]
    return [f"{fmt_number(before)} → {fmt_number(after)}", f"({fmt_change(zone.change(attribute))})"]


def period_name(recurrence: str | None, deadline: dt.date) -> str:
    """The period a recurring deadline closes, as people name it: "tháng 10/2026", "quý III/2026", "năm 2025"."""
    if recurrence == "monthly":
        return f"tháng {deadline.month:02d}/{deadline.year}"
    if recurrence == "quarterly":
        return f"quý {('I', 'II', 'III', 'IV')[(deadline.month - 1) // 3]}/{deadline.year}"
    return f"năm {deadline.year}"


def deadline_lines(task: TaskLine) -> list[str]:
    """The plan's own words, then the normalised date or recurrence: the period with no report when a recurring
    task is overdue, else its next deadline."""
    lines = [sentence_case(task.deadline_text)] if task.deadline_text.strip() else []
    if task.due_date is not None:
        lines.append(f"Hạn: {fmt_date(task.due_date)}")
    elif task.recurrence:
        label = RECURRENCE_LABELS.get(task.recurrence, task.recurrence)
        if task.missed is not None:
            label += f"; kỳ {period_name(task.recurrence, task.missed[1])} chưa có báo cáo"
        elif task.next_due is not None and task.recurrence != "ongoing":
            label += f"; hạn kế tiếp {fmt_date(task.next_due)}"
        lines.append(label)
    return lines or [MISSING]


def lateness_text(agency: AgencyLine) -> str:
    """ "Đúng hạn", "Chậm 3 ngày", "Chưa gửi, quá hạn", "Chưa gửi, chưa đến hạn"."""
    if agency.submitted_at is None:
        return "Chưa gửi, quá hạn" if agency.late else "Chưa gửi, chưa đến hạn"
    return f"Chậm {agency.days_late} ngày" if agency.late and agency.days_late else "Đúng hạn"


def report_content_lines(agency: AgencyLine) -> list[str]:
    """What the agency wrote: its summary, then each task's result ("II.3.4.2: …")."""
    lines = [agency.summary] if agency.summary.strip() else []
    lines += [f"{task_id}: {text}" for task_id, text in agency.items]
    return lines or [MISSING]


def result_lines(task: TaskLine) -> list[str]:
    """What agencies reported for the task ("Agency: text"), then the year's progress notes."""
    lines = [f"{agency}: {text}" for agency, text in task.reported]
    for day, agency, note in sorted(task.progress):
        lines.append(f"{fmt_date(day)} – {agency + ': ' if agency else ''}{note}")
    return lines or [MISSING]


def submitted_text(agency: AgencyLine, deadline: dt.date) -> str:
    if agency.submitted_at is None:
        return f"chưa gửi báo cáo (hạn {fmt_date(deadline)})"
    return f"gửi ngày {fmt_date(local_time(agency.submitted_at).date())}, sau hạn {fmt_date(deadline)}"


def local_time(moment: dt.datetime) -> dt.datetime:
    """A stored (UTC) time as the province's office reads it (khgeo.clock's zone), naive for the document."""
    if moment.tzinfo is None:
        return moment
    return clock.local(moment).replace(tzinfo=None)


class Aside(str):
    """A line of a table cell set in italics (e.g. the coordinating agencies under the lead agency)."""


# -- low-level layout helpers ------------------------------------------------------------------------------------
def _set_fonts(rpr, name: str = FONT) -> None:
    """Times New Roman in every script slot (ascii, hAnsi, eastAsia, cs), replacing theme fonts."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _setup_styles(document: DocxDocument) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(defaults)
    language = defaults.find(qn("w:lang"))
    if language is not None:
        language.set(qn("w:val"), "vi-VN")
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_fonts(normal.element.get_or_add_rPr())
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    header = document.styles["Header"]
    header.font.name = FONT
    header.font.size = Pt(13)
    _set_fonts(header.element.get_or_add_rPr())
    cells = document.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cells.style_id = TABLE_STYLE_ID
    cells.base_style = normal
    cells.font.size = Pt(TABLE_PT)
    cells.paragraph_format.space_after = Pt(0)
    cells.paragraph_format.line_spacing = 1.0


def _setup_page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance = Mm(10)
    # NĐ 30/2020: page numbers centred in the top margin, from the second page on
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _run(
    paragraph: Paragraph, text: str, *, size: float | None = None, bold: bool = False, italic: bool = False
) -> None:
    run = paragraph.add_run(clean_text(text))
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)


def _line(
    container,
    text: str,
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align=WD_ALIGN_PARAGRAPH.CENTER,
    after: float = 0,
) -> Paragraph:
    """A single-spaced line (masthead, title, closing blocks)."""
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.line_spacing = 1.0
    _run(paragraph, text, size=size, bold=bold, italic=italic)
    return paragraph


def _rule(container, length_mm: float, box_mm: float) -> None:
    """The short horizontal rule NĐ 30 draws under the issuer, the motto and the title: a bottom border on an
    empty paragraph indented to ``length_mm`` inside a box ``box_mm`` wide."""
    paragraph = container.add_paragraph()
    side = max(box_mm - length_mm, 0) / 2
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Mm(side)
    paragraph.paragraph_format.space_after = Pt(4)
    paragraph.paragraph_format.line_spacing = 1.0
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    _run(paragraph, "", size=2)


def _body(document: DocxDocument, text: str, *, italic: bool = False) -> Paragraph:
    """A body paragraph: justified, first line indented 1,27 cm."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Mm(12.7)
    _run(paragraph, text, italic=italic)
    return paragraph


def _heading(document: DocxDocument, text: str) -> Paragraph:
    """ "I. …" (capitals) or "1. …": bold, kept with what follows."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Mm(12.7)
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.keep_with_next = True
    _run(paragraph, text, bold=True)
    return paragraph


def _fill(
    cell: _Cell, lines: Sequence[str] | str, *, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT
) -> None:
    """Write one paragraph per line, in the table text style, into a cell (its empty first paragraph is reused)."""
    lines = [lines] if isinstance(lines, str) else list(lines)
    for index, text in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        paragraph._p.style = TABLE_STYLE_ID  # by id: looking a style up by name for every cell is slow
        paragraph.alignment = align
        if index < len(lines) - 1:
            paragraph.paragraph_format.space_after = Pt(2)
        _run(paragraph, text, bold=bold, italic=isinstance(text, Aside))


def _two_columns(document: DocxDocument, widths_mm: tuple[float, float]) -> list[_Cell]:
    """A borderless one-row table of two empty cells (masthead, closing), kept on one page."""
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)
    _widths(table, widths_mm)
    _no_split(table)
    cells = table.rows[0].cells
    for cell in cells:  # the cell's placeholder paragraph: the blocks add their own
        cell._tc.remove(cell.paragraphs[0]._p)
    return cells


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    table.autofit = False  # fixed layout: Word and LibreOffice keep the widths
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _repeat_header(table: Table) -> None:
    """The first row repeats at the top of every page the table runs onto (w:tblHeader)."""
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_properties.append(header)


def _no_split(table: Table) -> None:
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _grid(
    document: DocxDocument,
    headers: Sequence[str],
    widths_mm: Sequence[float],
    rows: Iterable[Sequence[Sequence[str] | str]],
    *,
    centred: Sequence[int] = (),
) -> Table:
    """A bordered data table: bold header row repeated on each page, one row per item."""
    rows = list(rows)
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        _fill(cell, header, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for row, values in zip(table.rows[1:], rows, strict=True):
        for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            _fill(
                cell, value, align=WD_ALIGN_PARAGRAPH.CENTER if index in centred else WD_ALIGN_PARAGRAPH.LEFT
            )
    _widths(table, widths_mm)
    _repeat_header(table)
    _no_split(table)
    document.add_paragraph().paragraph_format.space_after = Pt(0)
    return table


# -- the parts of the report --------------------------------------------------------------------------------------
def _masthead(document: DocxDocument, data: ReportData) -> None:
    """Issuer | national title, motto and place/date, as a two-column borderless table."""
    left_mm, right_mm = 65, 100  # the national title must hold on one line
    left, right = _two_columns(document, (left_mm, right_mm))
    _line(
        left, data.issuer.parent, size=13
    )  # from settings (ReportIssuer); PROVINCE_BODY, ISSUER: the plan's
    _line(left, data.issuer.body, size=13, bold=True)
    _rule(left, 28, left_mm)
    _line(left, DOCUMENT_NUMBER, size=13)
    _line(right, NATIONAL_TITLE, size=12.5, bold=True)
    _line(right, MOTTO, size=13.5, bold=True)
    _rule(right, 62, right_mm)
    _line(right, place_date(data.as_of, data.issuer.place), size=14, italic=True)


def _title(document: DocxDocument, data: ReportData) -> None:
    _line(document, "", size=8)
    _line(document, "BÁO CÁO", size=14, bold=True, after=0)
    _line(document, f"{data.title} năm {data.year}", size=14, bold=True)
    if data.issuer.area:  # the province as it is now and the former one (issue 13)
        _line(document, f"({data.issuer.area})", size=13, italic=True)
    _rule(document, 45, TEXT_WIDTH_MM)
    _line(document, "", size=6)


def _summary(document: DocxDocument, data: ReportData) -> None:
    counts = data.counts
    updated = [zone for zone in data.zones if zone.updates_in_year]
    _heading(document, SECTION_HEADINGS[0])
    _body(
        document,
        (
            f"Số liệu tính đến ngày {fmt_date(data.as_of)}. Trên địa bàn tỉnh có {counts['zones']} khu, cụm công "
            f"nghiệp được theo dõi, gồm {counts['kcn']} khu công nghiệp (KCN) và {counts['ccn']} cụm công nghiệp "
            f"(CCN); {counts['ccn_without_wwtp']} cụm công nghiệp chưa có hệ thống xử lý nước thải tập trung. "
            f"Trong năm {data.year} có {sum(zone.updates_in_year for zone in updated)} lượt cập nhật hiện trạng "
            f"của {len(updated)} khu, cụm công nghiệp."
        ),
    )
    _body(
        document,
        (
            f"Kế hoạch có {counts['tasks']} nhiệm vụ: {counts['done']} nhiệm vụ hoàn thành, {counts['in_progress']} "
            f"nhiệm vụ đang thực hiện, {counts['not_started']} nhiệm vụ chưa thực hiện và {counts['overdue']} nhiệm "
            f"vụ quá hạn."
        ),
    )
    _body(
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
    _heading(document, SECTION_HEADINGS[1])
    _body(
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
        "Xã, phường (từ 01/7/2025)" if data.grouped_by == "unit" else "Huyện, TP",
        "GPMB (%)",
        "XLNT",
        "Hạ tầng (%)",
        "Lần cập nhật",
    ]
    rows = [_zone_row(number, zone) for number, zone in enumerate(data.zones, start=1)]
    _grid(document, headers, (13, 34, 12, 21, 26, 22, 23, 14), rows, centred=(0, 2, 4, 6, 7))
    _map_figure(document, data)


def _map_figure(document: DocxDocument, data: ReportData) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_after = Pt(2)
    paragraph.add_run().add_picture(io.BytesIO(render_map_png(data)), width=Mm(TEXT_WIDTH_MM))
    _line(
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
    _heading(document, SECTION_HEADINGS[2])
    headers = ["STT / Mã", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn", "Tình trạng", "Kết quả báo cáo"]
    number = 0
    for index, (section, title, tasks) in enumerate(data.sections, start=1):
        _heading(document, f"{index}. {sentence_case(title)} (mục {section} của Kế hoạch)")
        rows = []
        for task in tasks:
            number += 1
            rows.append(_task_row(number, task))
        _grid(document, headers, (18, 40, 25, 27, 19, 36), rows, centred=(0, 4))
    _agency_reports(document, data, len(data.sections) + 1)


def _agency_reports(document: DocxDocument, data: ReportData, number: int) -> None:
    """Every agency's report as it wrote it: date and lateness, summary, per-task results, attachment."""
    _heading(document, f"{number}. Báo cáo của các cơ quan, đơn vị")
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
    _grid(
        document,
        ["STT", "Cơ quan, đơn vị", "Ngày gửi", "Nội dung báo cáo", "Tệp đính kèm"],
        (12, 38, 26, 62, 27),
        rows,
        centred=(0,),
    )


def _overdue(document: DocxDocument, data: ReportData) -> None:
    _heading(document, SECTION_HEADINGS[3])
    _heading(document, "1. Nhiệm vụ quá hạn")
    if data.overdue:
        _body(document, f"Tính đến ngày {fmt_date(data.as_of)} có {len(data.overdue)} nhiệm vụ quá hạn:")
        rows = [
            [str(number), task.id, task.title, task.lead_agency, deadline_lines(task)]
            for number, task in enumerate(data.overdue, start=1)
        ]
        _grid(
            document,
            ["STT", "Mã", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn"],
            (12, 20, 58, 35, 40),
            rows,
            centred=(0, 1),
        )
    else:
        _body(document, f"Tính đến ngày {fmt_date(data.as_of)} không có nhiệm vụ quá hạn.")
    _heading(document, "2. Cơ quan, đơn vị chậm báo cáo")
    late = data.late_agencies
    if late:
        _body(document, f"Có {len(late)} cơ quan, đơn vị chậm báo cáo năm {data.year}:")
        for agency in late:
            _body(document, f"- {agency.name}: {submitted_text(agency, data.agency_deadline)}.")
    else:
        _body(
            document,
            (
                f"Không có cơ quan, đơn vị chậm báo cáo (thời hạn gửi báo cáo: trước ngày "
                f"{fmt_date(data.agency_deadline)})."
            ),
        )
    pending = [agency for agency in data.agencies if agency.submitted_at is None and not agency.late]
    if pending:
        _body(
            document,
            (f"Chưa đến hạn, chưa gửi báo cáo ({len(pending)}): " + "; ".join(a.name for a in pending) + "."),
        )
    _heading(document, "3. Cơ quan, đơn vị đề xuất nhắc nhở")
    reminder = data.reminder_agencies
    if reminder:
        _body(
            document,
            (
                f"Đề xuất nhắc nhở {len(reminder)} cơ quan, đơn vị chậm hoặc chưa gửi báo cáo: "
                + "; ".join(f"{a.name} ({lateness_text(a).lower()})" for a in reminder)
                + "."
            ),
        )
    else:
        _body(document, "Không có cơ quan, đơn vị phải nhắc nhở: tất cả đã gửi báo cáo đúng hạn.")


def _recommendations(document: DocxDocument) -> None:
    _heading(document, SECTION_HEADINGS[4])
    _body(
        document,
        (
            "(Ban Quản lý bổ sung các kiến nghị, đề xuất với UBND tỉnh, HĐND tỉnh trên cơ sở kết quả tổng hợp nêu "
            "trên trước khi ký ban hành báo cáo.)"
        ),
        italic=True,
    )


def _closing(document: DocxDocument) -> None:
    """Recipients | signature, as a two-column borderless table."""
    _line(document, "", size=6)
    left, right = _two_columns(document, (75, 90))
    _line(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for recipient in RECIPIENTS:
        _line(left, recipient, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(right, SIGNER_TITLE, size=14, bold=True)
    _line(right, "(Ký, ghi rõ họ tên)", size=14, italic=True)
    for _ in range(4):  # room for the signature and the name
        _line(right, "", size=14)


def render_docx(data: ReportData) -> bytes:
    """The consolidated yearly report (.docx) for ``data``."""
    document = Document()
    _setup_styles(document)
    _setup_page(document)
    document.core_properties.title = f"{data.title} năm {data.year}"
    area = f" — {data.issuer.area}" if data.issuer.area else " tỉnh Bắc Giang"
    document.core_properties.author = f"Ban Quản lý các khu công nghiệp{area}"
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
