"""``khgeo notify``: today's events become in-app notifications and queued e-mail, once; then the queue is sent.

Run it from a systemd timer or cron (docs/deployment.md), as often as you like: every notification and message
has a UNIQUE dedupe key (event, object, deadline, offset, recipient) and is inserted with ON CONFLICT DO NOTHING,
so a reminder goes out once whatever the number of runs. A PostgreSQL advisory lock (session level, on a
connection of its own) lets one run at a time through: a second instance started meanwhile says so and stops.
Without KHGEO_SMTP_URL nothing is queued for e-mail: notifications are in the app only (the admin page says so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text

from khgeo.models import MailMessage, Notification
from khgeo.services.followup import events, mail, notifications

# pg_advisory_lock's key for "a notify run": the bytes of "khgeo-nt" read as a signed 64-bit integer
LOCK_KEY = int.from_bytes(b"khgeo-nt", "big", signed=True)


@dataclass
class NotifyResult:
    busy: bool = False  # another run held the lock: this one did nothing
    planned: list[events.Delivery] = field(default_factory=list)  # --dry-run: what would go out
    notifications: int = 0
    queued: int = 0
    smtp: str = ""  # the server, or "" when e-mail is off
    sent: mail.SendResult | None = None


def _new(session, deliveries: list[events.Delivery], email_on: bool) -> list[events.Delivery]:
    """The deliveries not yet written or queued (what --dry-run lists)."""
    keys = [d.key for d in deliveries]
    noted = set(session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))))
    mailed = set(session.scalars(select(MailMessage.dedupe_key).where(MailMessage.dedupe_key.in_(keys))))
    return [
        d
        for d in deliveries
        if (d.in_app and d.user is not None and d.key not in noted)
        or (email_on and d.email and d.key not in mailed)
    ]


def run(
    database,
    settings: Mapping[str, Any],
    *,
    today: dt.date,
    now: dt.datetime,
    tracking_start: dt.date | None,
    dry_run: bool = False,
) -> NotifyResult:
    smtp = mail.SmtpSettings.from_settings(settings)
    result = NotifyResult(smtp=smtp.describe() if smtp else "")
    base_url = settings.get("KHGEO_PUBLIC_URL") or ""
    with database.engine.connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar():
            result.busy = True
            return result
        try:
            with database.session() as session:
                choices = notifications.Choices(session)
                deliveries = events.deliveries(session, today, tracking_start, choices)
                if dry_run:
                    result.planned = _new(session, deliveries, smtp is not None)  # read only: nothing to undo
                    return result
                result.notifications = notifications.write_notifications(session, deliveries)
                if smtp is not None:
                    result.queued = mail.queue(session, deliveries, base_url, now)
            if smtp is not None:
                result.sent = mail.send_queued(database, smtp, now)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            lock.commit()
    return result
