"""Notification settings (which events, in the app and/or by e-mail) and the in-app notifications.

A user with no saved choice for a kind gets the default of their role (DEFAULTS); which events reach a user at all
follows from who they are (their agency's tasks and reports, the board's deadline for admins, their districts'
zones for field staff): see events.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from khgeo.codes import NOTIFICATION_KIND
from khgeo.errors import NotFound, ValidationFailed
from khgeo.models import NOTIFICATION_KINDS, Agency, Notification, NotificationSetting, User
from khgeo.services.audit import record
from khgeo.services.followup.events import DEFAULT_STALE_DAYS, Delivery

PAGE_SIZE = 50
MAX_EMAIL = 254
# a pragmatic address check (one @, a dotted domain, no spaces or angle brackets): the SMTP server has the last word
EMAIL_PATTERN = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+$")

# (in the app, by e-mail) per kind; a role not listed takes "*"
DEFAULTS: dict[str, dict[str, tuple[bool, bool]]] = {
    "task_due": {"*": (True, True)},
    "task_overdue": {"*": (True, True)},
    "report_due": {"*": (True, True)},
    "report_late": {"*": (True, True)},
    "board_due": {"*": (True, True)},
    "zone_stale": {"field": (True, True), "*": (True, False)},
    "digest": {"admin": (True, False), "*": (False, True)},  # a weekly e-mail; the bell has the items already
}
KIND_LABELS = NOTIFICATION_KIND.labels()  # the one table: khgeo/codes.py


def default_choice(role: str, kind: str) -> tuple[bool, bool]:
    table = DEFAULTS[kind]
    return table.get(role, table["*"])


class Choices:
    """Every user's choices, read once for a notify run: (in_app, email, days) for (user, kind)."""

    def __init__(self, session: Session):
        self._saved = {(s.user_id, s.kind): s for s in session.scalars(select(NotificationSetting))}

    def __call__(self, user: User, kind: str) -> tuple[bool, bool, int | None]:
        saved = self._saved.get((user.id, kind))
        if saved is None:
            return (*default_choice(user.role, kind), DEFAULT_STALE_DAYS if kind == "zone_stale" else None)
        return saved.in_app, saved.email, saved.days


def user_settings(session: Session, user: User) -> list[dict]:
    """The settings form's rows: kind, label, in the app, by e-mail (saved or the role's default)."""
    choices = Choices(session)
    rows = []
    for kind in NOTIFICATION_KINDS:
        in_app, email, days = choices(user, kind)
        rows.append(
            {"kind": kind, "label": KIND_LABELS[kind], "in_app": in_app, "email": email, "days": days}
        )
    return rows


def check_email(value: str, field: str = "email") -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL or not EMAIL_PATTERN.match(value):
        raise ValidationFailed({field: _l("Enter an e-mail address such as ten@bacgiang.gov.vn.")})
    return value


def set_agency_contact(session: Session, agency: Agency, email: str, user: User) -> None:
    """The address an agency's reminders (reporting cycle, weekly digest) go to; empty removes it. Audited."""
    address = check_email(email, field="contact_email")
    if address == agency.contact_email:
        return
    record(
        session,
        user,
        "agency.contact",
        "agency",
        agency.code,
        {"contact_email": [agency.contact_email, address]},
    )
    agency.contact_email = address
    session.flush()


def save_settings(
    session: Session, user: User, *, email: str, channels: dict[str, tuple[bool, bool]], stale_days: str
) -> None:
    """Save a user's address and choices (every kind; a kind missing from ``channels`` is switched off)."""
    address = check_email(email)
    days: int | None = DEFAULT_STALE_DAYS
    if stale_days.strip():
        if not stale_days.strip().isdigit() or not 1 <= int(stale_days) <= 365:
            raise ValidationFailed({"stale_days": _l("Enter a number of days from 1 to 365.")})
        days = int(stale_days)
    user.email = address
    for kind in NOTIFICATION_KINDS:
        in_app, by_email = channels.get(kind, (False, False))
        values = {
            "user_id": user.id,
            "kind": kind,
            "in_app": in_app,
            "email": by_email,
            "days": days if kind == "zone_stale" else None,
        }
        statement = insert(NotificationSetting).values(**values)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "kind"],
                set_={k: statement.excluded[k] for k in ("in_app", "email", "days")},
            )
        )
    session.flush()


def write_notifications(session: Session, items: list[Delivery]) -> int:
    """Insert the in-app notifications not written before (ON CONFLICT on the dedupe key); how many are new."""
    rows = [
        {
            "user_id": item.user.id,
            "kind": item.event.kind,
            "dedupe_key": item.key,
            "title": item.event.title,
            "body": item.event.body,
            "link": item.event.link,
        }
        for item in items
        if item.in_app and item.user is not None
    ]
    if not rows:
        return 0
    result = session.execute(
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    return len(result.all())


def unread_count(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def user_notifications(session: Session, user: User) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(
                Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc()
            )
            .limit(PAGE_SIZE)
        )
    )


def mark_read(session: Session, user: User, notification_id: int | None, now: dt.datetime) -> int:
    """Mark one of the user's notifications (or all of them, with None) read; another user's is not found."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        owned = session.scalar(
            select(Notification.id).where(Notification.id == notification_id, Notification.user_id == user.id)
        )
        if owned is None:
            raise NotFound(_l("No such notification."))
        query = query.where(Notification.id == notification_id)
    return cast(CursorResult, session.execute(query.values(read_at=now))).rowcount
