"""Everything the consolidated yearly report says, gathered once; the DOCX and XLSX writers only lay it out.

"Tổng hợp kết quả thực hiện Nghị quyết số 24/NQ-HĐND ngày 12/7/2022 của HĐND tỉnh" for a year: a summary, every
zone with its site clearance, wastewater and infrastructure figures and their change over the year, every task
by plan section with its agency, deadline, status and what agencies reported, the overdue tasks, the late
agencies, and the zone outlines for the map figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, selectinload, undefer
from sqlalchemy.sql import Subquery

from khgeo import clock
from khgeo.errors import KhgeoError
from khgeo.models import AgencyReport, District, Task, Zone, ZoneUpdate
from khgeo.services import tasks as task_service
from khgeo.services.reports import cycle as reporting
from khgeo.services.zones import monitored

REPORT_TITLE = "Tổng hợp kết quả thực hiện Nghị quyết số 24/NQ-HĐND ngày 12/7/2022 của HĐND tỉnh"


class NoReportData(KhgeoError):
    status = 422


@dataclass
class Figures:
    clearance_pct: Decimal | None = None
    wwtp_status: str | None = None
    infrastructure_pct: Decimal | None = None


@dataclass
class ZoneLine:
    code: str
    name: str
    kind: str
    district: str
    start: (
        Figures  # at the start of the year (the latest entry before 1 January), or the first one in the year
    )
    end: Figures  # at the end of the year (the latest entry up to 31 December)
    updates_in_year: int
    geometry: BaseGeometry | None
    geometry_source: str

    def change(self, attribute: str) -> Decimal | None:
        before, after = getattr(self.start, attribute), getattr(self.end, attribute)
        return None if before is None or after is None else after - before


@dataclass
class TaskLine:
    id: str
    section: str
    section_title: str
    title: str
    text: str
    lead_agency: str
    coordinating_agencies: list[str]
    deadline_text: str
    due_date: dt.date | None
    recurrence: str | None
    next_due: dt.date | None
    status: str  # not_started, in_progress, done, overdue (as of the report date)
    reported: list[tuple[str, str]] = field(
        default_factory=list
    )  # (agency name, text) from the year's reports
    progress: list[tuple[dt.date, str, str]] = field(default_factory=list)  # (date, agency, note) in the year
    missed: tuple[dt.date, dt.date] | None = (
        None  # the overdue recurring period with no report (start, deadline)
    )


@dataclass
class AgencyLine:
    code: str
    name: str
    submitted_at: dt.datetime | None
    late: bool  # submitted after the deadline, or not submitted and the deadline has passed
    summary: str = ""
    attachment_name: str = ""
    deadline: dt.date | None = None
    items: list[tuple[str, str]] = field(default_factory=list)  # (task id, text) as the agency wrote them

    @property
    def submitted_on(self) -> dt.date | None:
        """The Vietnamese calendar day the report arrived (what lateness is counted in)."""
        return clock.local(self.submitted_at).date() if self.submitted_at else None

    @property
    def days_late(self) -> int | None:
        if self.submitted_on is None or self.deadline is None:
            return None
        return max((self.submitted_on - self.deadline).days, 0)

    @property
    def needs_reminder(self) -> bool:
        """Proposed for a reminder ("đề xuất nhắc nhở"): late, or not reporting at all."""
        return self.late or self.submitted_at is None


@dataclass(frozen=True)
class ReportIssuer:
    """Who issues the report, where, and the area it covers: from settings (khgeo.services.units.naming); these
    defaults are the plan's own (2022) wording."""

    parent: str = "UBND TỈNH BẮC GIANG"
    body: str = "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"
    place: str = "Bắc Giang"
    area: str = ""  # "tỉnh Bắc Ninh — địa bàn tỉnh Bắc Giang cũ", under the title


@dataclass
class ReportData:
    year: int
    as_of: dt.date  # the report's date: the end of the year, or today for the current year
    title: str
    agency_deadline: dt.date
    board_deadline: dt.date
    zones: list[ZoneLine]
    sections: list[tuple[str, str, list[TaskLine]]]  # (section, title, tasks) in plan order
    overdue: list[TaskLine]
    agencies: list[AgencyLine]
    districts: list[tuple[str, BaseGeometry]]  # for the map figure
    issuer: ReportIssuer = field(default_factory=ReportIssuer)
    # zones grouped by their 2022 district (the plan's) or their 2025 commune/ward ("unit"): ZoneLine.district then
    # holds the unit(s), and the zones are ordered by them
    grouped_by: str = "district"

    @property
    def tasks(self) -> list[TaskLine]:
        return [task for _section, _title, tasks in self.sections for task in tasks]

    @property
    def late_agencies(self) -> list[AgencyLine]:
        return [agency for agency in self.agencies if agency.late]

    @property
    def reminder_agencies(self) -> list[AgencyLine]:
        return [agency for agency in self.agencies if agency.needs_reminder]

    @property
    def overdue_by_agency(self) -> list[tuple[str, list[TaskLine]]]:
        """The units leading overdue tasks (also proposed for a reminder), each with its overdue tasks."""
        grouped: dict[str, list[TaskLine]] = {}
        for task in self.overdue:
            grouped.setdefault(task.lead_agency, []).append(task)
        return list(grouped.items())

    @property
    def counts(self) -> dict[str, int]:
        tasks = self.tasks
        return {
            "zones": len(self.zones),
            "kcn": sum(zone.kind == "KCN" for zone in self.zones),
            "ccn": sum(zone.kind == "CCN" for zone in self.zones),
            "ccn_without_wwtp": sum(
                zone.kind == "CCN" and zone.end.wwtp_status == "none" for zone in self.zones
            ),
            "tasks": len(tasks),
            "done": sum(task.status == "done" for task in tasks),
            "in_progress": sum(task.status == "in_progress" for task in tasks),
            "not_started": sum(task.status == "not_started" for task in tasks),
            "overdue": len(self.overdue),
            "agencies": len(self.agencies),
            "agencies_submitted": sum(agency.submitted_at is not None for agency in self.agencies),
            "agencies_late": len(self.late_agencies),
            "agencies_reminder": len(self.reminder_agencies),
        }


# what the yearly report compares: a zone's figures, not its outline or facts (geometry and info entries)
_FIGURE_ENTRY = ZoneUpdate.kind.not_in(("geometry", "info"))
_ENTRY_DAY = func.coalesce(ZoneUpdate.as_of, func.date(ZoneUpdate.created_at))
_OLDEST_FIRST = (ZoneUpdate.as_of.asc().nulls_first(), ZoneUpdate.created_at.asc(), ZoneUpdate.id.asc())
_NEWEST_FIRST = (ZoneUpdate.as_of.desc().nulls_last(), ZoneUpdate.created_at.desc(), ZoneUpdate.id.desc())


def _one_entry_per_zone(name: str, condition, order) -> Subquery:
    """Each zone's first history entry in ``order`` among those meeting ``condition``: its figures."""
    return (
        select(
            ZoneUpdate.zone_id,
            ZoneUpdate.clearance_pct,
            ZoneUpdate.wwtp_status,
            ZoneUpdate.infrastructure_pct,
        )
        .where(_FIGURE_ENTRY, condition)
        .ext(distinct_on(ZoneUpdate.zone_id))
        .order_by(ZoneUpdate.zone_id, *order)
        .subquery(name)
    )


def _figures(entry, row) -> Figures | None:
    if getattr(row, f"{entry.name}_zone_id") is None:
        return None
    return Figures(
        *(
            getattr(row, f"{entry.name}_{name}")
            for name in ("clearance_pct", "wwtp_status", "infrastructure_pct")
        )
    )


def _zone_lines(session: Session, year: int, group: str = "district") -> list[ZoneLine]:
    """Every monitored zone with its figures at the start and end of ``year``: two queries whatever the length of
    the history (the start and end entries are chosen by the database)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    # start: the latest entry before 1 January, else the first one in the year; end: the latest up to 31 December
    before = _one_entry_per_zone("before", _ENTRY_DAY < start, _NEWEST_FIRST)
    first = _one_entry_per_zone("first", _ENTRY_DAY.between(start, end), _OLDEST_FIRST)
    upto = _one_entry_per_zone("upto", _ENTRY_DAY <= end, _NEWEST_FIRST)
    counts = (
        select(ZoneUpdate.zone_id, func.count().label("updates"))
        .where(_FIGURE_ENTRY, ZoneUpdate.kind != "seed", _ENTRY_DAY.between(start, end))
        .group_by(ZoneUpdate.zone_id)
        .subquery("counts")
    )
    entries = (before, first, upto)
    query = select(Zone, counts.c.updates).options(
        selectinload(Zone.district), selectinload(Zone.current_units)
    )
    for entry in entries:
        query = query.add_columns(*(column.label(f"{entry.name}_{column.name}") for column in entry.c))
        query = query.outerjoin(entry, entry.c.zone_id == Zone.id)
    query = (
        query.outerjoin(counts, counts.c.zone_id == Zone.id)
        .where(monitored())
        .order_by(Zone.kind.desc(), Zone.search_text)
    )
    lines = []
    for row in session.execute(query):
        zone = row.Zone
        lines.append(
            ZoneLine(
                code=zone.code,
                name=zone.name,
                kind=zone.kind,
                district=(
                    ", ".join(unit.full_name for unit in zone.current_units)
                    if group == "unit"
                    else (zone.district.name if zone.district else "")
                ),
                start=_figures(before, row) or _figures(first, row) or Figures(),
                end=_figures(upto, row) or Figures(),
                updates_in_year=row.updates or 0,
                geometry=to_shape(zone.geom) if zone.geom is not None else None,
                geometry_source=zone.geometry_source,
            )
        )
    if group == "unit":  # grouped: the zones of one commune/ward together (no unit known: last)
        lines.sort(key=lambda line: (line.district == "", line.district))
    return lines


def gather(
    session: Session,
    year: int,
    today: dt.date,
    tracking_start: dt.date | None = None,
    issuer: ReportIssuer | None = None,
    group: str = "district",
) -> ReportData:
    """The report's content for ``year``; NoReportData when nothing was recorded for it."""
    reporting.check_year(year, today)
    as_of = min(today, dt.date(year, 12, 31))
    reports = list(
        session.scalars(
            select(AgencyReport)
            .where(AgencyReport.year == year)
            .options(selectinload(AgencyReport.items), selectinload(AgencyReport.agency))
        )
    )
    zone_updates = session.scalar(
        select(func.count())
        .select_from(ZoneUpdate)
        .where(
            ZoneUpdate.kind != "seed",
            func.extract("year", func.coalesce(ZoneUpdate.as_of, ZoneUpdate.created_at)) == year,
        )
    )
    rows = task_service.list_tasks(session, today=as_of, tracking_start=tracking_start)
    progress_in_year = [note for row in rows for note in row.progress if note.reported_on.year == year]
    if not reports and not zone_updates and not progress_in_year:
        raise NoReportData(
            _l(
                "Nothing was recorded for %(year)d: no agency report, no zone update and no task "
                "progress. There is nothing to consolidate yet.",
                year=year,
            )
        )

    reported: dict[str, list[tuple[str, str]]] = {}
    for report in sorted(reports, key=lambda r: r.agency.code):
        for item in report.items:
            reported.setdefault(item.task_id, []).append((report.agency.name, item.text))
    sections: dict[str, tuple[str, list[TaskLine]]] = {}
    lines = []
    for row in rows:
        task: Task = row.task
        line = TaskLine(
            id=task.id,
            section=task.section,
            section_title=task.section_title,
            title=task.title,
            text=task.text,
            lead_agency=task.lead_agency.name,
            coordinating_agencies=[a.name for a in task.coordinating_agencies],
            deadline_text=task.deadline_text,
            due_date=task.due_date,
            recurrence=task.recurrence,
            next_due=row.next_due,
            status=row.status,
            missed=row.missed,
            reported=reported.get(task.id, []),
            progress=[
                (n.reported_on, n.agency.name if n.agency else "", n.note)
                for n in row.progress
                if n.reported_on.year == year
            ],
        )
        top = (
            ".".join(task.section.split(".")[:2])
            if task.section.startswith("II.")
            else task.section.split(".")[0]
        )
        sections.setdefault(top, (task.section_title, []))[1].append(line)
        lines.append(line)

    cycle = reporting.cycle_status(session, year, today)
    agencies = [
        AgencyLine(
            code=s.agency.code,
            name=s.agency.name,
            submitted_at=s.report.submitted_at if s.report else None,
            summary=s.report.summary if s.report else "",
            attachment_name=s.report.attachment_name if s.report else "",
            late=s.late(today),
            deadline=s.deadline,
            items=[(item.task_id, item.text) for item in s.report.items] if s.report else [],
        )
        for s in cycle.agencies
    ]
    districts = [
        (d.name, to_shape(d.geom))
        for d in session.scalars(select(District).options(undefer(District.geom)).order_by(District.code))
        if d.geom is not None
    ]
    return ReportData(
        year=year,
        as_of=as_of,
        title=REPORT_TITLE,
        agency_deadline=cycle.agency_deadline,
        board_deadline=cycle.board_deadline,
        zones=_zone_lines(session, year, group),
        sections=[(key, title, tasks) for key, (title, tasks) in sections.items()],
        overdue=[line for line in lines if line.status == "overdue"],
        agencies=agencies,
        districts=districts,
        issuer=issuer or ReportIssuer(),
        grouped_by=group,
    )
