"""Plan tasks: their deadlines (fixed or recurring) and the one JSON shape of a task."""

from __future__ import annotations

import calendar
import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from khgeo.errors import NotFound
from khgeo.models import Task, Zone


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _yearly_due(task: Task, year: int) -> dt.date | None:
    if str(year) in (task.due_exceptions or {}):
        return dt.date.fromisoformat(task.due_exceptions[str(year)])
    if task.yearly_due:
        month, day = (int(part) for part in task.yearly_due.split("-"))
        return dt.date(year, month, day)
    return dt.date(year, 12, 31)  # "hàng năm" with no stated day: by the end of the year


def next_due(task: Task, today: dt.date) -> dt.date | None:
    """The deadline that matters today: a fixed date (even when past), or the next occurrence of a recurrence."""
    if task.due_date is not None:
        return task.due_date
    if task.recurrence == "monthly":
        return _month_end(today.year, today.month)
    if task.recurrence == "quarterly":
        quarter_end_month = ((today.month - 1) // 3 + 1) * 3
        return _month_end(today.year, quarter_end_month)
    if task.recurrence == "yearly":
        this_year = _yearly_due(task, today.year)
        return this_year if this_year >= today else _yearly_due(task, today.year + 1)
    return None  # ongoing: a standing duty


def is_overdue(task: Task, today: dt.date) -> bool:
    """Overdue is computed, never stored: a fixed deadline passed without the task being done."""
    return task.status != "done" and task.due_date is not None and task.due_date < today


def task_status(task: Task, today: dt.date) -> str:
    return "overdue" if is_overdue(task, today) else task.status


def task_json(task: Task, today: dt.date) -> dict:
    due = next_due(task, today)
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
        "next_due": due.isoformat() if due else None,
        "status": task_status(task, today),
        "zones": [zone.code for zone in task.zones],
    }


def _task_query():
    return (
        select(Task)
        .options(
            selectinload(Task.lead_agency),
            selectinload(Task.coordinating_agencies),
            selectinload(Task.zones).load_only(Zone.code),
        )
        .order_by(Task.position)
    )


def list_tasks(session: Session) -> list[Task]:
    return list(session.scalars(_task_query()))


def get_task(session: Session, task_id: str) -> Task:
    task = session.scalars(_task_query().where(Task.id == task_id)).one_or_none()
    if task is None:
        raise NotFound(_l("No task %(id)s", id=task_id))
    return task
