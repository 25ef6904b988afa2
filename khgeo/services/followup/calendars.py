"""iCalendar feeds (RFC 5545, written with the icalendar library) of an agency's or a user's deadlines.

A feed lives at a secret address (/calendar/<secret>.ics) a calendar client (Outlook, Thunderbird, a phone)
subscribes to without logging in: the secret is the credential, so only its SHA-256 is stored, it is shown once,
and making a new one revokes the old (a revoked address answers 410 Gone, an unknown one 404).

Deadlines are all-day events (VALUE=DATE), not timed ones: the plan's deadlines are calendar days in Bắc Giang
("trước ngày 15/12") with no hour, and a DATE is the same day in every client whatever its time zone, where a
timed event would need an invented hour and would move to the previous evening for a reader abroad. The calendar
still names the province's zone (X-WR-TIMEZONE: Asia/Ho_Chi_Minh) for clients that show it. Each event carries
two alarms (7 days and 1 day before); a recurring task is one event with a recurrence rule (monthly and quarterly:
the last day of the month; yearly: the plan's day), the plan's special dates as EXDATE + RDATE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import cast

from flask_babel import lazy_gettext as _l
from icalendar import Alarm, Calendar, Event, vRecur
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from khgeo.errors import KhgeoError, NotFound
from khgeo.models import Agency, CalendarFeed, Task, User
from khgeo.services.followup.events import CYCLE_TASKS, vn_date
from khgeo.services.reports import cycle as reporting
from khgeo.services.tasks import yearly_due_date

PRODID = "-//khgeo Bac Giang//Han nhiem vu//VI"
ALARM_DAYS = (7, 1)


class Gone(KhgeoError):
    status = 410

    def __init__(self):
        super().__init__(_l("This calendar address was revoked: ask for the new one."))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _owner(agency: Agency | None, user: User | None) -> ColumnElement[bool]:
    if agency is not None:
        return CalendarFeed.agency_id == agency.id
    if user is None:
        raise ValueError("a calendar feed belongs to an agency or a user")
    return CalendarFeed.user_id == user.id


def new_feed(
    session: Session, *, agency: Agency | None = None, user: User | None = None, now: dt.datetime
) -> str:
    """A new secret address for the agency's or the user's feed; the previous one stops working. The secret is
    returned once and never stored."""
    revoke_feeds(session, agency=agency, user=user, now=now)
    secret = secrets.token_urlsafe(32)
    session.add(
        CalendarFeed(
            agency_id=agency.id if agency is not None else None,
            user_id=user.id if user is not None else None,
            secret_sha256=_hash(secret),
        )
    )
    session.flush()
    return secret


def revoke_feeds(
    session: Session, *, agency: Agency | None = None, user: User | None = None, now: dt.datetime
) -> int:
    statement = update(CalendarFeed).where(_owner(agency, user), CalendarFeed.revoked_at.is_(None))
    return cast(CursorResult, session.execute(statement.values(revoked_at=now))).rowcount


def active_feed(
    session: Session, *, agency: Agency | None = None, user: User | None = None
) -> CalendarFeed | None:
    return session.scalars(
        select(CalendarFeed).where(_owner(agency, user), CalendarFeed.revoked_at.is_(None))
    ).first()


def find_feed(session: Session, secret: str) -> CalendarFeed:
    feed = session.scalars(
        select(CalendarFeed).where(CalendarFeed.secret_sha256 == _hash(secret))
    ).one_or_none()
    if feed is None:
        raise NotFound(_l("No such calendar."))
    if feed.revoked_at is not None:
        raise Gone()
    return feed


# -- the calendar ---------------------------------------------------------------------------------------------------
def _first_on_or_after(task: Task, start: dt.date) -> dt.date:
    """The first regular (non-exceptional) deadline of a recurring task on or after ``start``."""
    if task.recurrence == "yearly":
        regular = Task(yearly_due=task.yearly_due, due_exceptions={})
        year = start.year
        while yearly_due_date(regular, year) < start:
            year += 1
        return yearly_due_date(regular, year)
    month_step = 1 if task.recurrence == "monthly" else 3
    year, month = start.year, start.month
    if month_step == 3:
        month = ((month - 1) // 3 + 1) * 3  # the quarter's last month
    last = _month_end(year, month)
    if last < start:
        month += month_step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        last = _month_end(year, month)
    return last


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _rule(task: Task, first: dt.date) -> vRecur:
    if task.recurrence == "monthly":
        return vRecur(freq="MONTHLY", bymonthday=-1)
    if task.recurrence == "quarterly":
        return vRecur(freq="MONTHLY", interval=3, bymonthday=-1)
    return vRecur(freq="YEARLY", bymonth=first.month, bymonthday=first.day)


def _event(uid: str, day: dt.date, summary: str, description: str, url: str, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", day)  # a date: an all-day event
    event.add("dtend", day + dt.timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    if url:
        event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    for days in ALARM_DAYS:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Còn {days} ngày: {summary}")
        alarm.add("trigger", dt.timedelta(days=-days))
        event.add_component(alarm)
    return event


def _task_events(task: Task, start: dt.date, base_url: str, stamp: dt.datetime) -> list[Event]:
    if task.status == "done" or task.recurrence == "ongoing":
        return []
    url = f"{base_url}/tasks/{task.id}" if base_url else ""
    description = f"Nhiệm vụ {task.id} của Kế hoạch thực hiện NQ 24/NQ-HĐND: {task.title}."
    if task.deadline_text:
        description += f"\nThời hạn theo Kế hoạch: {task.deadline_text}."
    summary = f"Hạn nhiệm vụ {task.id}: {task.title}"
    if task.due_date is not None:
        return [_event(f"task-{task.id}@khgeo", task.due_date, summary, description, url, stamp)]
    first = _first_on_or_after(task, start)
    event = _event(f"task-{task.id}@khgeo", first, summary, description, url, stamp)
    event.add("rrule", _rule(task, first))
    for year, special in sorted((task.due_exceptions or {}).items()):
        regular = yearly_due_date(Task(yearly_due=task.yearly_due, due_exceptions={}), int(year))
        if regular >= first:
            event.add("exdate", regular)
            event.add("rdate", dt.date.fromisoformat(special))
    return [event]


def _cycle_events(
    session: Session, agency: Agency | None, board: bool, today: dt.date, base_url: str, stamp: dt.datetime
) -> list[Event]:
    events = []
    for year in (today.year, today.year + 1):
        if agency is not None:
            deadline = reporting.agency_deadline(session, year)
            events.append(
                _event(
                    f"report-{agency.code}-{year}@khgeo",
                    deadline,
                    f"Hạn gửi báo cáo năm {year} về Ban Quản lý các KCN",
                    f"{agency.name} gửi báo cáo năm {year} về kết quả thực hiện Kế hoạch trước ngày "
                    f"{vn_date(deadline)}.",
                    f"{base_url}/reports/{year}/{agency.code}" if base_url else "",
                    stamp,
                )
            )
        if board:
            deadline = reporting.board_deadline(session, year)
            events.append(
                _event(
                    f"board-{year}@khgeo",
                    deadline,
                    f"Hạn báo cáo tổng hợp năm {year} gửi UBND tỉnh, HĐND tỉnh",
                    f"Ban Quản lý các KCN báo cáo kết quả thực hiện Kế hoạch năm {year} trước ngày "
                    f"{vn_date(deadline)}.",
                    f"{base_url}/reports?year={year}" if base_url else "",
                    stamp,
                )
            )
    return events


def calendar_for(
    session: Session,
    feed: CalendarFeed,
    *,
    today: dt.date,
    now: dt.datetime,
    tracking_start: dt.date | None,
    base_url: str,
) -> bytes:
    """The feed's calendar: the agency's (or the user's agency's) task deadlines and reporting dates."""
    user = session.get(User, feed.user_id) if feed.user_id is not None else None
    agency = (
        session.get(Agency, feed.agency_id) if feed.agency_id is not None else (user.agency if user else None)
    )
    board = (agency is not None and agency.kind == "board") or (user is not None and user.role == "admin")
    owing = agency is not None and agency.id in {a.id for a in reporting.reporting_agencies(session)}
    start = max(d for d in (tracking_start, dt.date(reporting.FIRST_YEAR, 1, 1)) if d is not None)
    stamp = now.astimezone(dt.UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    owner = agency.name if agency is not None else (user.display_name or user.username) if user else ""
    calendar.add("x-wr-calname", f"Hạn nhiệm vụ – {owner}")
    calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    calendar.add("x-published-ttl", "PT12H")
    tasks = [t for t in reporting.agency_tasks(session, agency) if t.id not in CYCLE_TASKS] if agency else []
    for task in tasks:
        for event in _task_events(task, start, base_url, stamp):
            calendar.add_component(event)
    for event in _cycle_events(session, agency if owing else None, board, today, base_url, stamp):
        calendar.add_component(event)
    return calendar.to_ical()
