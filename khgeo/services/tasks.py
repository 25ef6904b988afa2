"""Plan tasks: deadlines (fixed or recurring), computed status, filters, progress notes, the JSON shape.

Overdue is computed from today's date, never stored:
- a task with a fixed due date is overdue once that date has passed and the task is not done;
- a recurring task (monthly, quarterly, yearly) is overdue when its latest deadline has passed with no
  progress note dated within the period that deadline closes (and the task is not marked done);
- an ongoing ("thường xuyên") task is never overdue;
- a recurring period whose deadline came before tracking began (KHGEO_TRACKING_START, "theo dõi từ ngày") is
  never overdue: nobody recorded progress then, and a new installation must not start with every task late.

An overdue recurring task says which period has no report ("Kỳ tháng 10/2026 chưa có báo cáo"), not the next
deadline.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from khgeo import clock
from khgeo.errors import BadRequest, NotFound, ValidationFailed
from khgeo.models import TASK_STATUSES, Agency, Task, TaskProgress, User, Zone, task_coordinators, task_zones
from khgeo.services.audit import record
from khgeo.services.zones import monitored
from khgeo.text import reported_date_problem

DUE_SOON_DAYS = 30
STATUS_FILTERS = (*TASK_STATUSES, "overdue")
MAX_NOTE = 4000
EARLIEST_PROGRESS = dt.date(2022, 1, 1)  # the plan's first year: no task has progress before it


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def yearly_due_date(task: Task, year: int) -> dt.date:
    if str(year) in (task.due_exceptions or {}):
        return dt.date.fromisoformat(task.due_exceptions[str(year)])
    if task.yearly_due:
        month, day = (int(part) for part in task.yearly_due.split("-"))
        return dt.date(year, month, day)
    return dt.date(year, 12, 31)  # "hàng năm" with no stated day: by the end of the year


def _deadlines_around(task: Task, day: dt.date) -> list[dt.date]:
    """The recurring deadlines of the periods around ``day`` (enough to find the previous and next)."""
    if task.recurrence == "monthly":
        months = [
            (day.year + (day.month - 1 + k) // 12, (day.month - 1 + k) % 12 + 1) for k in (-2, -1, 0, 1)
        ]
        return [_month_end(y, m) for y, m in months]
    if task.recurrence == "quarterly":
        quarter_end = ((day.month - 1) // 3 + 1) * 3
        ends = []
        for k in (-2, -1, 0, 1):
            index = day.year * 4 + quarter_end // 3 - 1 + k
            ends.append(_month_end(index // 4, (index % 4 + 1) * 3))
        return ends
    if task.recurrence == "yearly":
        return [yearly_due_date(task, year) for year in (day.year - 2, day.year - 1, day.year, day.year + 1)]
    return []


def next_due(task: Task, today: dt.date) -> dt.date | None:
    """The deadline that matters today: a fixed date (even when past), or the next occurrence of a recurrence."""
    if task.due_date is not None:
        return task.due_date
    upcoming = [d for d in _deadlines_around(task, today) if d >= today]
    return min(upcoming) if upcoming else None


def previous_period(task: Task, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """(first day, deadline) of the latest recurring period whose deadline has passed."""
    deadlines = sorted(_deadlines_around(task, today))
    passed = [d for d in deadlines if d < today]
    if len(passed) < 2:
        return None
    return passed[-2] + dt.timedelta(days=1), passed[-1]


def missed_period(
    task: Task,
    today: dt.date,
    progress: list[TaskProgress] | None = None,
    tracking_start: dt.date | None = None,
) -> tuple[dt.date, dt.date] | None:
    """(first day, deadline) of the recurring period that is overdue: it closed, no note is dated in it, and its
    deadline is on or after the day tracking began. None when the task is not overdue for a period."""
    if task.status == "done" or task.due_date is not None:
        return None
    period = previous_period(task, today)
    if period is None:
        return None
    start, deadline = period
    if tracking_start is not None and deadline < tracking_start:
        return None
    if any(start <= note.reported_on <= deadline for note in progress or ()):
        return None
    return period


def is_overdue(
    task: Task,
    today: dt.date,
    progress: list[TaskProgress] | None = None,
    tracking_start: dt.date | None = None,
) -> bool:
    if task.status == "done":
        return False
    if task.due_date is not None:
        return task.due_date < today
    return missed_period(task, today, progress, tracking_start) is not None


def task_status(
    task: Task,
    today: dt.date,
    progress: list[TaskProgress] | None = None,
    tracking_start: dt.date | None = None,
) -> str:
    return "overdue" if is_overdue(task, today, progress, tracking_start) else task.status


_ROMAN_QUARTERS = ("I", "II", "III", "IV")


def period_name(recurrence: str | None, deadline: dt.date):
    """How people name the period a deadline closes: "tháng 10/2026", "quý III/2026", "năm 2025"."""
    if recurrence == "monthly":
        return _l("month %(month)s", month=f"{deadline.month:02d}/{deadline.year}")
    if recurrence == "quarterly":
        quarter = _ROMAN_QUARTERS[(deadline.month - 1) // 3]
        return _l("quarter %(quarter)s", quarter=f"{quarter}/{deadline.year}")
    return _l("year %(year)s", year=str(deadline.year))


def missed_period_text(recurrence: str | None, deadline: dt.date):
    """ "Kỳ tháng 10/2026 chưa có báo cáo": what an overdue recurring task is late with."""
    return _l("Period %(period)s has no report yet", period=period_name(recurrence, deadline))


def is_due_soon(task: Task, today: dt.date, days: int = DUE_SOON_DAYS) -> bool:
    due = next_due(task, today)
    return task.status != "done" and due is not None and today <= due <= today + dt.timedelta(days=days)


# -- listing and filters ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskFilter:
    agency: str | None = None  # agency code: tasks it leads or coordinates
    section: str | None = None  # "II.3" or "II.3.4"
    status: str | None = None  # a stored status or "overdue"
    zone: str | None = None  # zone code
    due: str | None = None  # "overdue" or "soon"
    sort: str = "plan"  # "plan" (plan order) or "due"

    def as_args(self) -> dict[str, str]:
        args = {
            "agency": self.agency,
            "section": self.section,
            "status": self.status,
            "zone": self.zone,
            "due": self.due,
            "sort": None if self.sort == "plan" else self.sort,
        }
        return {k: v for k, v in args.items() if v}


def parse_task_filter(session: Session, args: Mapping[str, str]) -> TaskFilter:
    agency = (args.get("agency") or "").strip().upper() or None
    if agency and session.scalar(select(Agency.id).where(Agency.code == agency)) is None:
        raise BadRequest(_l("Unknown agency %(value)s", value=args.get("agency")), field="agency")
    section = (args.get("section") or "").strip() or None
    if section and not session.scalar(
        select(Task.id).where(
            or_(Task.section == section, Task.section.startswith(section + ".", autoescape=True))
        )
    ):
        raise BadRequest(_l("Unknown section %(value)s", value=section), field="section")
    status = (args.get("status") or "").strip() or None
    if status and status not in STATUS_FILTERS:
        raise BadRequest(
            _l(
                "Unknown status %(value)s: use one of %(allowed)s",
                value=status,
                allowed=", ".join(STATUS_FILTERS),
            ),
            field="status",
        )
    zone = (args.get("zone") or "").strip() or None
    if zone and session.scalar(select(Zone.id).where(Zone.code == zone)) is None:
        raise BadRequest(_l("No zone with code %(code)s", code=zone), field="zone")
    due = (args.get("due") or "").strip() or None
    if due and due not in ("overdue", "soon"):
        raise BadRequest(_l("Unknown deadline filter %(value)s: use overdue or soon", value=due), field="due")
    sort = (args.get("sort") or "plan").strip()
    if sort not in ("plan", "due"):
        raise BadRequest(_l("Unknown sort order %(value)s: use plan or due", value=sort), field="sort")
    return TaskFilter(agency=agency, section=section, status=status, zone=zone, due=due, sort=sort)


def _task_query():
    return (
        select(Task)
        .options(
            selectinload(Task.lead_agency),
            selectinload(Task.coordinating_agencies),
            # a retired zone leaves the register's zone lists (its history keeps the link)
            selectinload(Task.zones.and_(monitored())).load_only(Zone.code, Zone.name, Zone.kind),
        )
        .order_by(Task.position)
    )


@dataclass
class TaskRow:
    """A task with what depends on today: status, next deadline, its progress notes."""

    task: Task
    status: str
    next_due: dt.date | None
    due_soon: bool
    progress: list[TaskProgress]
    missed: tuple[dt.date, dt.date] | None = None  # the overdue recurring period (first day, deadline)

    @property
    def missed_text(self):
        return missed_period_text(self.task.recurrence, self.missed[1]) if self.missed else None


def progress_by_task(session: Session, task_ids: list[str] | None = None) -> dict[str, list[TaskProgress]]:
    query = (
        select(TaskProgress)
        .options(selectinload(TaskProgress.user), selectinload(TaskProgress.agency))
        .order_by(TaskProgress.reported_on.desc(), TaskProgress.id.desc())
    )
    if task_ids is not None:
        query = query.where(TaskProgress.task_id.in_(task_ids))
    notes: dict[str, list[TaskProgress]] = {}
    for note in session.scalars(query):
        notes.setdefault(note.task_id, []).append(note)
    return notes


def rows(
    session: Session, tasks: list[Task], today: dt.date, tracking_start: dt.date | None = None
) -> list[TaskRow]:
    notes = progress_by_task(session, [task.id for task in tasks])
    return [
        TaskRow(
            task=task,
            status=task_status(task, today, notes.get(task.id, []), tracking_start),
            next_due=next_due(task, today),
            due_soon=is_due_soon(task, today),
            progress=notes.get(task.id, []),
            missed=missed_period(task, today, notes.get(task.id, []), tracking_start),
        )
        for task in tasks
    ]


def list_tasks(
    session: Session,
    task_filter: TaskFilter = TaskFilter(),
    today: dt.date | None = None,
    tracking_start: dt.date | None = None,
) -> list[TaskRow]:
    today = today or clock.today()
    query = _task_query()
    if task_filter.agency:
        agency_id = select(Agency.id).where(Agency.code == task_filter.agency).scalar_subquery()
        coordinated = select(task_coordinators.c.task_id).where(task_coordinators.c.agency_id == agency_id)
        query = query.where(
            or_(
                Task.lead_agency_id == agency_id,
                Task.id.in_(coordinated),
                Task.applies_to_all_agencies.is_(True),
            )
        )
    if task_filter.section:
        query = query.where(
            or_(
                Task.section == task_filter.section,
                Task.section.startswith(task_filter.section + ".", autoescape=True),
            )
        )
    if task_filter.zone:
        zone_id = select(Zone.id).where(Zone.code == task_filter.zone).scalar_subquery()
        query = query.where(Task.id.in_(select(task_zones.c.task_id).where(task_zones.c.zone_id == zone_id)))
    result = rows(session, list(session.scalars(query)), today, tracking_start)
    if task_filter.status:
        result = [row for row in result if row.status == task_filter.status]
    if task_filter.due == "overdue":
        result = [row for row in result if row.status == "overdue"]
    elif task_filter.due == "soon":
        result = [row for row in result if row.due_soon]
    if task_filter.sort == "due":
        result.sort(key=lambda row: (row.next_due is None, row.next_due or dt.date.max, row.task.position))
    return result


def task_sections(session: Session) -> list[tuple[str, str]]:
    """The register's sections in the plan's order, with their titles: "I", "II.1", "II.2", … "III" (part II
    is split one level deeper)."""
    seen: dict[str, str] = {}
    for section, title in session.execute(select(Task.section, Task.section_title).order_by(Task.position)):
        top = ".".join(section.split(".")[:2]) if section.startswith("II.") else section.split(".")[0]
        seen.setdefault(top, title)
    return list(seen.items())


def get_task(session: Session, task_id: str) -> Task:
    task = session.scalars(_task_query().where(Task.id == task_id)).one_or_none()
    if task is None:
        raise NotFound(_l("No task %(id)s", id=task_id))
    return task


def task_zone_list(session: Session, task: Task) -> list[tuple[Zone, bool]]:
    """The task's zones in code order, each with whether it has a location (an outline) to show on a map."""
    located = set(
        session.scalars(
            select(Zone.id)
            .join(task_zones, task_zones.c.zone_id == Zone.id)
            .where(task_zones.c.task_id == task.id, Zone.geom.is_not(None))
        )
    )
    return [(zone, zone.id in located) for zone in task.zones]


def task_row(session: Session, task: Task, today: dt.date, tracking_start: dt.date | None = None) -> TaskRow:
    return rows(session, [task], today, tracking_start)[0]


def task_json(row: TaskRow) -> dict:
    task = row.task
    return {
        "id": task.id,
        "section": task.section,
        "section_title": task.section_title,
        "title": task.title,
        "text": task.text,
        "lead_agency": task.lead_agency.code,
        "lead_agency_name": task.lead_agency.name,
        "coordinating_agencies": [agency.code for agency in task.coordinating_agencies],
        "applies_to_all_agencies": task.applies_to_all_agencies,
        "deadline_text": task.deadline_text,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "recurrence": task.recurrence,
        "next_due": row.next_due.isoformat() if row.next_due else None,
        "status": row.status,
        "overdue_period": (
            {
                "start": row.missed[0].isoformat(),
                "deadline": row.missed[1].isoformat(),
                "text": str(row.missed_text),
            }
            if row.missed
            else None
        ),
        "zones": [zone.code for zone in task.zones],
        "progress": [
            {
                "reported_on": note.reported_on.isoformat(),
                "status": note.status,
                "note": note.note,
                "agency": note.agency.code if note.agency else None,
            }
            for note in row.progress
        ],
    }


# -- progress notes -----------------------------------------------------------------------------------------------
def add_progress(
    session: Session,
    task: Task,
    user: User,
    *,
    note: str,
    status: str | None,
    reported_on: dt.date,
    today: dt.date,
) -> TaskProgress:
    """Append a progress note (and a status change); the caller has checked the user may (services.authz)."""
    errors = {}
    note = note.strip()
    if status is not None and status not in TASK_STATUSES:
        errors["status"] = _l("Choose one of the listed statuses.")
    if not note and status in (None, task.status):
        errors["note"] = _l("Write what was done, or change the status.")
    if len(note) > MAX_NOTE:
        errors["note"] = _l("The note is too long (%(n)d characters at most).", n=MAX_NOTE)
    if problem := reported_date_problem(reported_on, today, EARLIEST_PROGRESS):
        errors["reported_on"] = problem
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    if status is not None and status != task.status:
        changes["status"] = [task.status, status]
        task.status = status
    entry = TaskProgress(
        task=task,
        user=user,
        agency_id=user.agency_id,
        reported_on=reported_on,
        status=status if changes else None,
        note=note,
    )
    session.add(entry)
    record(
        session,
        user,
        "task.progress",
        "task",
        task.id,
        changes,
        {"note": note, "reported_on": reported_on.isoformat()},
    )
    session.flush()
    return entry
