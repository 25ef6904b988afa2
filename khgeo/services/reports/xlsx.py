"""The consolidated yearly report's figures as a workbook, for people who sort, filter and sum.

Sheets: Tóm tắt (the counts and deadlines), Khu cụm CN (every zone, start/end/change as numbers), Nhiệm vụ (every
task), Quá hạn (overdue tasks), Cơ quan báo cáo (every agency that owes a report: when
it reported and how late, its summary, its per-task results, its attachment's name, and whether it is proposed
for a reminder). Numbers are numbers and dates
are dates (dd/mm/yyyy): an unknown value is an empty cell, never "—". Text typed by users is written as text, so a
report that starts with "=" is never taken for a formula.

A pure function of ReportData; the Vietnamese vocabulary is shared with the Word report (report_docx).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from khgeo.services.interop.spreadsheet import (
    CHANGE,
    DATE,
    DATETIME,
    INTEGER,
    PERCENT,
    YEAR,
    TableColumn,
    workbook_bytes,
    write_table,
)
from khgeo.services.reports.data import ReportData, TaskLine
from khgeo.services.reports.wording import (
    GEOMETRY_SOURCE_LABELS,
    KIND_LABELS,
    RECURRENCE_LABELS,
    STATUS_LABELS,
    clean_text,
    fmt_date,
    lateness_text,
    local_time,
    period_name,
    wwtp_label,
)

CREATOR = "khgeo — Ban Quản lý các khu công nghiệp tỉnh Bắc Giang"
COUNT_LABELS = {
    "zones": "Tổng số khu, cụm công nghiệp",
    "kcn": "Số khu công nghiệp (KCN)",
    "ccn": "Số cụm công nghiệp (CCN)",
    "ccn_without_wwtp": "Số CCN chưa có hệ thống xử lý nước thải tập trung",
    "tasks": "Tổng số nhiệm vụ",
    "done": "Số nhiệm vụ hoàn thành",
    "in_progress": "Số nhiệm vụ đang thực hiện",
    "not_started": "Số nhiệm vụ chưa thực hiện",
    "overdue": "Số nhiệm vụ quá hạn",
    "agencies": "Số cơ quan, đơn vị phải báo cáo",
    "agencies_submitted": "Số cơ quan, đơn vị đã gửi báo cáo",
    "agencies_late": "Số cơ quan, đơn vị chậm báo cáo",
    "agencies_reminder": "Số cơ quan, đơn vị đề xuất nhắc nhở (chậm hoặc chưa gửi báo cáo)",
}
FORMATS = {"int": INTEGER, "year": YEAR, "pct": PERCENT, "change": CHANGE, "date": DATE, "datetime": DATETIME}


def _column(header: str, kind: str = "text") -> TableColumn:
    """A column of a report sheet by the kind of value it holds: text, long (wrapped text), int, pct, change (in
    percentage points), date, datetime."""
    return TableColumn(header, FORMATS.get(kind), wrap=kind == "long")


# -- cell values ----------------------------------------------------------------------------------------------------
def _number(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def _text(value: str | None) -> str | None:
    value = clean_text(value or "").strip()
    return value or None


def _results(task: TaskLine) -> str | None:
    lines = [f"{agency}: {text}" for agency, text in task.reported]
    lines += [
        f"{fmt_date(day)} – {agency + ': ' if agency else ''}{note}"
        for day, agency, note in sorted(task.progress)
    ]
    return _text("\n".join(lines))


def _recurrence(task: TaskLine) -> str | None:
    if not task.recurrence:
        return None
    label = RECURRENCE_LABELS.get(task.recurrence, task.recurrence)
    if task.missed is not None:
        label += f"; kỳ {period_name(task.recurrence, task.missed[1])} chưa có báo cáo"
    return label


def _write_table(sheet: Worksheet, columns: Sequence[TableColumn], rows: Iterable[Sequence]) -> None:
    """A report table: users' text without the control characters Word pastes (see ``clean_text``)."""
    write_table(sheet, columns, rows, clean=clean_text)


# -- the sheets ---------------------------------------------------------------------------------------------------
def _summary_sheet(sheet: Worksheet, data: ReportData) -> None:
    rows: list[tuple[str, object, str]] = [
        ("Năm báo cáo", data.year, "year"),
        ("Số liệu tính đến ngày", data.as_of, "date"),
    ]
    rows += [(COUNT_LABELS.get(key, key), value, "int") for key, value in data.counts.items()]
    rows += [
        ("Hạn các cơ quan, đơn vị gửi báo cáo", data.agency_deadline, "date"),
        ("Hạn Ban Quản lý báo cáo UBND tỉnh, HĐND tỉnh", data.board_deadline, "date"),
    ]
    _write_table(
        sheet, [_column("Chỉ tiêu"), _column("Giá trị")], [(label, value) for label, value, _kind in rows]
    )
    for row_index, (_label, _value, kind) in enumerate(rows, start=2):
        cell = sheet.cell(row=row_index, column=2)
        cell.number_format = FORMATS[kind]
        cell.alignment = Alignment(horizontal="right", vertical="top")


ZONE_COLUMNS = (
    _column("STT", "int"),
    _column("Mã"),
    _column("Tên khu, cụm công nghiệp"),
    _column("Loại"),
    _column("Huyện, thành phố"),
    _column("GPMB đầu năm (%)", "pct"),
    _column("GPMB cuối năm (%)", "pct"),
    _column("GPMB thay đổi (điểm %)", "change"),
    _column("XLNT đầu năm"),
    _column("XLNT cuối năm"),
    _column("Hạ tầng đầu năm (%)", "pct"),
    _column("Hạ tầng cuối năm (%)", "pct"),
    _column("Hạ tầng thay đổi (điểm %)", "change"),
    _column("Số lần cập nhật", "int"),
    _column("Ranh giới"),
)


def _zone_sheet(sheet: Worksheet, data: ReportData) -> None:
    rows = [
        (
            number,
            zone.code,
            zone.name,
            KIND_LABELS.get(zone.kind, zone.kind),
            _text(zone.district),
            _number(zone.start.clearance_pct),
            _number(zone.end.clearance_pct),
            _number(zone.change("clearance_pct")),
            wwtp_label(zone.start.wwtp_status),
            wwtp_label(zone.end.wwtp_status),
            _number(zone.start.infrastructure_pct),
            _number(zone.end.infrastructure_pct),
            _number(zone.change("infrastructure_pct")),
            zone.updates_in_year,
            GEOMETRY_SOURCE_LABELS.get(zone.geometry_source, zone.geometry_source)
            if zone.geometry is not None
            else "Chưa có",
        )
        for number, zone in enumerate(data.zones, start=1)
    ]
    _write_table(sheet, ZONE_COLUMNS, rows)


TASK_COLUMNS = (
    _column("Mã"),
    _column("Mục"),
    _column("Nhiệm vụ", "long"),
    _column("Nội dung", "long"),
    _column("Cơ quan chủ trì"),
    _column("Cơ quan phối hợp", "long"),
    _column("Thời hạn (văn bản)", "long"),
    _column("Hạn", "date"),
    _column("Định kỳ"),
    _column("Hạn kế tiếp", "date"),
    _column("Tình trạng"),
    _column("Kết quả báo cáo", "long"),
)


def _task_row(task: TaskLine) -> tuple:
    return (
        task.id,
        task.section,
        task.title,
        _text(task.text),
        task.lead_agency,
        _text(", ".join(task.coordinating_agencies)),
        _text(task.deadline_text),
        task.due_date,
        _recurrence(task),
        task.next_due,
        STATUS_LABELS.get(task.status, task.status),
        _results(task),
    )


def _task_sheet(sheet: Worksheet, data: ReportData) -> None:
    _write_table(sheet, TASK_COLUMNS, [_task_row(task) for task in data.tasks])


OVERDUE_COLUMNS = tuple(column for column in TASK_COLUMNS if column.header not in ("Nội dung", "Tình trạng"))


def _overdue_sheet(sheet: Worksheet, data: ReportData) -> None:
    keep = [index for index, column in enumerate(TASK_COLUMNS) if column in OVERDUE_COLUMNS]
    rows = [[row[index] for index in keep] for row in map(_task_row, data.overdue)]
    _write_table(sheet, OVERDUE_COLUMNS, rows)


AGENCY_COLUMNS = (
    _column("Mã"),
    _column("Tên cơ quan, đơn vị"),
    _column("Hạn nộp", "date"),
    _column("Đã nộp", "datetime"),
    _column("Chậm"),
    _column("Tình trạng"),
    _column("Số ngày chậm", "int"),
    _column("Đề xuất nhắc nhở"),
    _column("Tóm tắt báo cáo", "long"),
    _column("Kết quả theo nhiệm vụ", "long"),
    _column("Tệp đính kèm"),
)


def _agency_sheet(sheet: Worksheet, data: ReportData) -> None:
    rows = [
        (
            agency.code,
            agency.name,
            data.agency_deadline,
            local_time(agency.submitted_at) if agency.submitted_at else None,
            "Có" if agency.late else "Không",
            lateness_text(agency),
            agency.days_late if agency.late and agency.days_late else None,
            "Có" if agency.needs_reminder else "Không",
            _text(agency.summary),
            _text("\n".join(f"{task_id}: {text}" for task_id, text in agency.items)),
            _text(agency.attachment_name),
        )
        for agency in data.agencies
    ]
    _write_table(sheet, AGENCY_COLUMNS, rows)


SHEETS = (
    ("Tóm tắt", _summary_sheet),
    ("Khu cụm CN", _zone_sheet),
    ("Nhiệm vụ", _task_sheet),
    ("Quá hạn", _overdue_sheet),
    ("Cơ quan báo cáo", _agency_sheet),
)


def render_xlsx(data: ReportData) -> bytes:
    """The consolidated yearly report's figures (.xlsx) for ``data``."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, fill in SHEETS:
        fill(workbook.create_sheet(title), data)
    return workbook_bytes(workbook, title=f"{data.title} năm {data.year}", creator=CREATOR, language="vi-VN")
