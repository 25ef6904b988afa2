"""What is due for whom on a given day: the events reminders are made of.

An event is computed, never stored: the same day and data give the same events, each with a stable key (event,
object, deadline, offset); a delivery adds its recipient to the key, and that key is what makes a reminder go out
once (the UNIQUE dedupe keys of notifications and mail_outbox).

Reminders before a deadline fall in buckets of days left (30/7/1 for tasks, 30/14/7/1 for reports): on a given
day the event is the smallest bucket the days left fit in, so a day without a run (a server down, a timer
missed) is caught up by the next run without sending the 30-day reminder a week late.

Tracking starts (KHGEO_TRACKING_START): a deadline that passed before it makes no "passed" event, and a zone
counts as updated on that day at the latest.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from khgeo.models import Agency, AgencyReport, Task, User, Zone, ZoneUpdate, user_districts
from khgeo.services import tasks as task_service
from khgeo.services.reports import cycle as reporting
from khgeo.services.zones import monitored

TASK_OFFSETS = (30, 7, 1)
REPORT_OFFSETS = (30, 14, 7, 1)
DEFAULT_STALE_DAYS = 30
# the reporting cycle's own tasks are reminded as reports (report_due, board_due), not as tasks
CYCLE_TASKS = (reporting.AGENCY_REPORT_TASK, reporting.BOARD_REPORT_TASK)


def vn_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def bucket(days_left: int, offsets: tuple[int, ...]) -> int | None:
    """The reminder a deadline ``days_left`` away belongs to (the smallest offset it fits in), None if none."""
    if days_left < 0:
        return None
    fitting = [offset for offset in offsets if days_left <= offset]
    return min(fitting) if fitting else None


def period_vi(recurrence: str | None, deadline: dt.date) -> str:
    """ "tháng 10/2026", "quý III/2026", "năm 2025": the period a recurring deadline closes, in Vietnamese."""
    if recurrence == "monthly":
        return f"tháng {deadline.month:02d}/{deadline.year}"
    if recurrence == "quarterly":
        return f"quý {('I', 'II', 'III', 'IV')[(deadline.month - 1) // 3]}/{deadline.year}"
    return f"năm {deadline.year}"


def _left(days: int) -> str:
    return "hôm nay" if days == 0 else f"còn {days} ngày"


@dataclass(frozen=True)
class Event:
    kind: str  # one of khgeo.models.NOTIFICATION_KINDS
    key: str  # event:object:deadline:offset (the recipient is added per delivery)
    title: str  # Vietnamese: the e-mail subject and the notification's title
    body: str  # Vietnamese plain text (lines)
    link: str  # a path inside khgeo
    deadline: dt.date | None = None
    lines: tuple[str, ...] = field(default=())  # a digest's items


@dataclass
class Audience:
    """Who an event of an agency reaches: its active users, and its contact address for agency-level events."""

    users: list[User]
    contact_email: str | None = None


def _task_events(task: Task, row: task_service.TaskRow, today: dt.date, tracking_start: dt.date | None):
    link = f"/tasks/{task.id}"
    name = f"{task.id} {task.title}"
    if row.status == "overdue":
        deadline = row.missed[1] if row.missed else task.due_date
        if deadline is not None and (tracking_start is None or deadline >= tracking_start):
            what = (
                f"kỳ {period_vi(task.recurrence, deadline)} chưa có báo cáo"
                if row.missed
                else f"hạn {vn_date(deadline)} đã qua"
            )
            yield Event(
                "task_overdue",
                f"task_overdue:{task.id}:{deadline.isoformat()}",
                f"Nhiệm vụ {task.id} quá hạn ({vn_date(deadline)})",
                f"Nhiệm vụ {name}: {what}.\nThời hạn theo Kế hoạch: {task.deadline_text or vn_date(deadline)}.",
                link,
                deadline,
            )
        return
    if task.status == "done" or row.next_due is None or row.next_due < today:
        return
    days = (row.next_due - today).days
    offset = bucket(days, TASK_OFFSETS)
    if offset is None:
        return
    yield Event(
        "task_due",
        f"task_due:{task.id}:{row.next_due.isoformat()}:{offset}",
        f"Nhiệm vụ {task.id} đến hạn ngày {vn_date(row.next_due)} ({_left(days)})",
        f"Nhiệm vụ {name} đến hạn ngày {vn_date(row.next_due)} ({_left(days)}).\n"
        f"Thời hạn theo Kế hoạch: {task.deadline_text or vn_date(row.next_due)}.",
        link,
        row.next_due,
    )


def _report_events(session: Session, agency: Agency, today: dt.date, tracking_start: dt.date | None):
    submitted = set(session.scalars(select(AgencyReport.year).where(AgencyReport.agency_id == agency.id)))
    for year in (today.year - 1, today.year):
        if year < reporting.FIRST_YEAR or year in submitted:
            continue
        deadline = reporting.agency_deadline(session, year)
        link = f"/reports/{year}/{agency.code}"
        if deadline < today:
            if tracking_start is None or deadline >= tracking_start:
                yield Event(
                    "report_late",
                    f"report_late:{agency.code}:{deadline.isoformat()}",
                    f"{agency.name}: chưa gửi báo cáo năm {year} (hạn {vn_date(deadline)} đã qua)",
                    f"{agency.name} chưa gửi Ban Quản lý các khu công nghiệp báo cáo năm {year} về kết quả "
                    f"thực hiện Kế hoạch; hạn gửi là ngày {vn_date(deadline)}.",
                    link,
                    deadline,
                )
            continue
        days = (deadline - today).days
        offset = bucket(days, REPORT_OFFSETS)
        if offset is not None:
            yield Event(
                "report_due",
                f"report_due:{agency.code}:{deadline.isoformat()}:{offset}",
                f"Hạn gửi báo cáo năm {year}: ngày {vn_date(deadline)} ({_left(days)})",
                f"{agency.name} gửi Ban Quản lý các khu công nghiệp báo cáo năm {year} về kết quả thực hiện "
                f"Kế hoạch trước ngày {vn_date(deadline)} ({_left(days)}).",
                link,
                deadline,
            )


def _board_event(session: Session, today: dt.date):
    deadline = reporting.board_deadline(session, today.year)
    days = (deadline - today).days
    offset = bucket(days, REPORT_OFFSETS)
    if offset is None:
        return None
    return Event(
        "board_due",
        f"board_due:{deadline.isoformat()}:{offset}",
        f"Hạn báo cáo tổng hợp năm {today.year}: ngày {vn_date(deadline)} ({_left(days)})",
        f"Ban Quản lý các khu công nghiệp báo cáo UBND tỉnh, HĐND tỉnh kết quả thực hiện Kế hoạch năm "
        f"{today.year} trước ngày {vn_date(deadline)} ({_left(days)}).",
        f"/reports?year={today.year}",
        deadline,
    )


def _digest(agency: Agency, rows: list[task_service.TaskRow], late: list[Event], today: dt.date):
    overdue = [row for row in rows if row.status == "overdue" and row.task.id not in CYCLE_TASKS]
    if not overdue and not late:
        return None
    year, week, _ = today.isocalendar()
    lines = []
    for row in overdue:
        deadline = row.task.deadline_text or (vn_date(row.task.due_date) if row.task.due_date else "")
        missed = f"; kỳ {period_vi(row.task.recurrence, row.missed[1])} chưa có báo cáo" if row.missed else ""
        lines.append(f"- {row.task.id} {row.task.title} (thời hạn: {deadline}{missed})")
    lines += [f"- {event.title}" for event in late]
    return Event(
        "digest",
        f"digest:{agency.code}:{year}-W{week:02d}",
        f"Tổng hợp tuần {week:02d}/{year}: {agency.name} có {len(overdue) + len(late)} việc quá hạn",
        f"Tính đến ngày {vn_date(today)}, {agency.name} có các việc quá hạn sau:\n" + "\n".join(lines),
        f"/agencies/{agency.code}",
        None,
        tuple(lines),
    )


@dataclass
class Delivery:
    """An event for one recipient: a user (in the app and/or by e-mail) or an agency's contact address."""

    event: Event
    user: User | None
    email: str | None
    in_app: bool
    agency_id: int | None = None

    @property
    def key(self) -> str:
        who = f"u{self.user.id}" if self.user is not None else f"a{self.agency_id}"
        return f"{self.event.key}:{who}"


def agency_events(
    session: Session, today: dt.date, tracking_start: dt.date | None
) -> dict[int, tuple[Agency, list[Event], list[Event]]]:
    """Per agency: (agency, events for its users, events also for its contact address)."""
    agencies = list(session.scalars(select(Agency).order_by(Agency.code)))
    owing = {agency.id for agency in reporting.reporting_agencies(session)}
    result = {}
    for agency in agencies:
        tasks = [t for t in reporting.agency_tasks(session, agency) if t.id not in CYCLE_TASKS]
        rows = task_service.rows(session, tasks, today, tracking_start)
        user_events = [
            event
            for task, row in zip(tasks, rows, strict=True)
            for event in _task_events(task, row, today, tracking_start)
        ]
        agency_level = (
            list(_report_events(session, agency, today, tracking_start)) if agency.id in owing else []
        )
        late = [event for event in agency_level if event.kind == "report_late"]
        digest = _digest(agency, rows, late, today)
        if digest is not None:
            agency_level.append(digest)
        result[agency.id] = (agency, user_events, agency_level)
    return result


def stale_zones(session: Session, user: User, today: dt.date, days: int, tracking_start: dt.date | None):
    """Zones of a field user's districts with no update for ``days`` days (tracking start counts as one)."""
    district_ids = select(user_districts.c.district_id).where(user_districts.c.user_id == user.id)
    last = (
        select(
            ZoneUpdate.zone_id,
            func.max(func.coalesce(ZoneUpdate.as_of, func.date(ZoneUpdate.created_at))).label("day"),
        )
        .group_by(ZoneUpdate.zone_id)
        .subquery()
    )
    query = (
        select(Zone.code, Zone.kind, Zone.name, last.c.day)
        .outerjoin(last, last.c.zone_id == Zone.id)
        .where(monitored(), Zone.district_id.in_(district_ids))
        .order_by(Zone.code)
    )
    for code, kind, bare_name, day in session.execute(query):
        name = f"{kind} {bare_name}"
        known = [d for d in (day, tracking_start) if d is not None]
        if not known:
            continue
        since = max(known)  # nothing before tracking began counts as "not updated"
        if (today - since).days < days:
            continue
        yield Event(
            "zone_stale",
            f"zone_stale:{code}:{since.isoformat()}",
            f"{name}: chưa cập nhật từ ngày {vn_date(since)} ({(today - since).days} ngày)",
            f"{name} chưa được cập nhật tình hình từ ngày {vn_date(since)} ({(today - since).days} ngày).",
            f"/zones/{code}",
            since,
        )


def deliveries(
    session: Session,
    today: dt.date,
    tracking_start: dt.date | None,
    choice,  # (user, kind) -> (in_app, email, days) from khgeo.services.followup.notifications
) -> list[Delivery]:
    """Every (event, recipient) due on ``today``, each with the channels its recipient chose."""
    users = list(
        session.scalars(
            select(User).where(User.active.is_(True)).options(selectinload(User.agency)).order_by(User.id)
        )
    )
    by_agency: dict[int, list[User]] = defaultdict(list)
    for user in users:
        if user.agency_id is not None:
            by_agency[user.agency_id].append(user)
    result: list[Delivery] = []

    def to_user(event: Event, user: User) -> None:
        in_app, email, _days = choice(user, event.kind)
        email_to = user.email if email and user.email else None
        if in_app or email_to:
            result.append(Delivery(event, user, email_to, in_app, user.agency_id))

    for agency_id, (agency, user_events, agency_level) in agency_events(
        session, today, tracking_start
    ).items():
        for event in [*user_events, *agency_level]:
            for user in by_agency.get(agency_id, []):
                to_user(event, user)
        if agency.contact_email:
            for event in agency_level:
                result.append(Delivery(event, None, agency.contact_email, False, agency.id))
    board = _board_event(session, today)
    if board is not None:
        for user in users:
            if user.role == "admin" or (user.agency is not None and user.agency.kind == "board"):
                to_user(board, user)
        for agency in session.scalars(
            select(Agency).where(Agency.kind == "board", Agency.contact_email.is_not(None))
        ):
            result.append(Delivery(board, None, agency.contact_email, False, agency.id))
    for user in users:
        if user.role != "field":
            continue
        _in_app, _email, days = choice(user, "zone_stale")
        for event in stale_zones(session, user, today, days or DEFAULT_STALE_DAYS, tracking_start):
            to_user(event, user)
    return result
