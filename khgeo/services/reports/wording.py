"""How khgeo's documents word things in Vietnamese: numbers (1.234,5), dates (dd/mm/yyyy, "ngày … tháng … năm …"),
coded values' labels, deadlines and lateness. The yearly report's DOCX and XLSX and the other documents share them.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from khgeo import clock
from khgeo.codes import GEOMETRY_SOURCE, RECURRENCE, TASK_STATUS, WWTP_STATUS, ZONE_KIND
from khgeo.services.reports.data import AgencyLine, TaskLine, ZoneLine

MISSING = "—"
PLACE = "Bắc Giang"  # where documents are dated ("Bắc Giang, ngày … tháng … năm …")


# Vietnamese labels of stored codes, from the codes table (a document is written in Vietnamese)
STATUS_LABELS = TASK_STATUS.labels_vi()
RECURRENCE_LABELS = RECURRENCE.labels_vi()
WWTP_LABELS = WWTP_STATUS.labels_vi(
    short=True
)  # short forms for table cells; the map's legend spells "none" out
KIND_LABELS = ZONE_KIND.labels_vi(short=True)
GEOMETRY_SOURCE_LABELS = GEOMETRY_SOURCE.labels_vi(short=True)


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


def place_date(day: dt.date) -> str:
    """ "Bắc Giang, ngày 05 tháng 01 năm 2026" (NĐ 30/2020, Phụ lục I: a zero before days under 10 and months 1, 2)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{PLACE}, ngày {day.day:02d} tháng {month} năm {day.year}"


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
