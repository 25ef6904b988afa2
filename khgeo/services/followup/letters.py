"""The urging letter (công văn đôn đốc) to an agency, as a DOCX in the form of Nghị định 30/2020/NĐ-CP.

Heading: the parent body and the issuer (settings KHGEO_LETTER_PARENT_BODY, KHGEO_LETTER_ISSUER), "Số: …/…" left
for the clerk, the subject line "V/v đôn đốc thực hiện Kế hoạch …" under it; the national title, the motto and
the place and date in words on the right. Then "Kính gửi", the agency's overdue tasks with their deadlines as the
plan wrote them (deadline_text) and the yearly reports it has not sent, the request, "Nơi nhận" and the signature
block. The page layout, fonts and tables are the consolidated report's (khgeo.services.reports.docx).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.models import Agency, AgencyReport
from khgeo.services import tasks as task_service
from khgeo.services.followup.events import CYCLE_TASKS, period_vi, vn_date
from khgeo.services.reports import cycle as reporting

PLAN = "Kế hoạch thực hiện Nghị quyết số 24/NQ-HĐND ngày 12/7/2022 của HĐND tỉnh"
NUMBER = "Số: …/BQL-VP"
SUBJECT = "V/v đôn đốc thực hiện Kế hoạch thực hiện Nghị quyết số 24/NQ-HĐND"


@dataclass
class OverdueTask:
    id: str
    title: str
    deadline_text: str  # as the plan wrote it
    deadline: dt.date | None  # the date that passed (the missed period's end for a recurring task)
    missed_period: str = ""  # "tháng 10/2026" for a recurring task


@dataclass
class Letter:
    agency: Agency
    today: dt.date
    overdue: list[OverdueTask] = field(default_factory=list)
    missing_reports: list[tuple[int, dt.date]] = field(default_factory=list)  # (year, deadline)

    @property
    def file_name(self) -> str:
        return f"cong-van-don-doc-{self.agency.code.lower()}-{self.today:%Y%m%d}.docx"


def gather(session: Session, agency_code: str, today: dt.date, tracking_start: dt.date | None) -> Letter:
    agency = reporting.get_agency(session, agency_code)
    tasks = [t for t in reporting.agency_tasks(session, agency) if t.id not in CYCLE_TASKS]
    letter = Letter(agency=agency, today=today)
    for row in task_service.rows(session, tasks, today, tracking_start):
        if row.status != "overdue":
            continue
        task = row.task
        letter.overdue.append(
            OverdueTask(
                id=task.id,
                title=task.title,
                deadline_text=task.deadline_text,
                deadline=row.missed[1] if row.missed else task.due_date,
                missed_period=period_vi(task.recurrence, row.missed[1]) if row.missed else "",
            )
        )
    if agency.id in {a.id for a in reporting.reporting_agencies(session)}:
        sent = set(session.scalars(select(AgencyReport.year).where(AgencyReport.agency_id == agency.id)))
        for year in range(reporting.FIRST_YEAR, today.year + 1):
            deadline = reporting.agency_deadline(session, year)
            counted = tracking_start is None or deadline >= tracking_start
            if year not in sent and deadline < today and counted:
                letter.missing_reports.append((year, deadline))
    return letter


def late_agencies(session: Session, today: dt.date, tracking_start: dt.date | None) -> list[Letter]:
    """Every agency a letter would have something to say to (overdue tasks or missing reports)."""
    letters = [
        gather(session, a.code, today, tracking_start)
        for a in session.scalars(select(Agency).order_by(Agency.code))
    ]
    return [letter for letter in letters if letter.overdue or letter.missing_reports]


def deadline_cell(task: OverdueTask) -> list[str]:
    lines = [task.deadline_text[:1].upper() + task.deadline_text[1:]] if task.deadline_text.strip() else []
    if task.missed_period and task.deadline is not None:
        lines.append(f"Kỳ {task.missed_period} chưa có báo cáo (hạn {vn_date(task.deadline)})")
    elif task.deadline is not None:
        lines.append(f"Hạn: {vn_date(task.deadline)}")
    return lines or ["—"]


def render(letter: Letter, settings: Mapping[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from khgeo.services.reports import docx_layout as layout
    from khgeo.services.reports.wording import place_date

    document = Document()
    layout.setup_styles(document)
    layout.setup_page(document)
    document.core_properties.title = f"{SUBJECT} – {letter.agency.name}"
    document.core_properties.language = "vi-VN"
    issuer = settings.get("KHGEO_LETTER_ISSUER") or layout.ISSUER

    left_mm, right_mm = 65, 100
    left, right = layout.two_columns(document, (left_mm, right_mm))
    layout.add_line(left, settings.get("KHGEO_LETTER_PARENT_BODY") or layout.PROVINCE_BODY, size=13)
    layout.add_line(left, issuer, size=13, bold=True)
    layout.add_rule(left, 28, left_mm)
    layout.add_line(left, NUMBER, size=13)
    layout.add_line(left, SUBJECT, size=12)
    layout.add_line(right, layout.NATIONAL_TITLE, size=12.5, bold=True)
    layout.add_line(right, layout.MOTTO, size=13.5, bold=True)
    layout.add_rule(right, 62, right_mm)
    layout.add_line(right, place_date(letter.today), size=14, italic=True)

    layout.add_line(document, "", size=8)
    layout.add_line(document, f"Kính gửi: {letter.agency.name}.", size=14, after=6)
    # the issuer in a sentence: "Ban Quản lý các khu công nghiệp" (a body's name keeps the capital after "Ban")
    issuer_name = (
        "Ban Quản lý các khu công nghiệp" if issuer == layout.ISSUER else issuer[:1] + issuer[1:].lower()
    )
    layout.add_body(
        document,
        f"Thực hiện {PLAN} (sau đây gọi là Kế hoạch), {issuer_name} tỉnh được giao theo dõi, đôn đốc các cơ "
        f"quan, đơn vị thực hiện. Tính đến ngày {vn_date(letter.today)}, {letter.agency.name} còn các nội dung "
        "chưa hoàn thành như sau:",
    )
    layout.add_heading(document, "1. Nhiệm vụ quá hạn")
    if letter.overdue:
        layout.add_grid(
            document,
            ["STT", "Mã", "Nhiệm vụ", "Thời hạn theo Kế hoạch"],
            (12, 22, 76, 55),
            [
                [str(n), task.id, task.title, deadline_cell(task)]
                for n, task in enumerate(letter.overdue, start=1)
            ],
            centred=(0, 1),
        )
    else:
        layout.add_body(document, "Không có nhiệm vụ quá hạn.")
    layout.add_heading(document, "2. Báo cáo chưa gửi")
    if letter.missing_reports:
        for year, deadline in letter.missing_reports:
            layout.add_body(
                document, f"- Báo cáo năm {year} về kết quả thực hiện Kế hoạch (hạn {vn_date(deadline)})."
            )
    else:
        layout.add_body(document, "Không có báo cáo quá hạn chưa gửi.")
    layout.add_body(
        document,
        f"{issuer_name} tỉnh đề nghị {letter.agency.name} khẩn trương thực hiện các nội dung nêu trên, báo cáo kết "
        "quả về Ban Quản lý trước ngày …/…/… để tổng hợp, báo cáo UBND tỉnh theo quy định./.",
    )
    layout.add_line(document, "", size=6)
    left, right = layout.two_columns(document, (75, 90))
    layout.add_line(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for recipient in ("- Như trên;", "- UBND tỉnh (để b/c);", "- Lưu: VT, …"):
        layout.add_line(left, recipient, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    layout.add_line(right, layout.SIGNER_TITLE, size=14, bold=True)
    layout.add_line(right, "(Ký, ghi rõ họ tên)", size=14, italic=True)
    for _ in range(4):
        layout.add_line(right, "", size=14)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
