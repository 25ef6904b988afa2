"""E-mail: the SMTP settings, the messages and the outbox (mail_outbox: the queue and the sent-log in one table).

A message is queued once: its dedupe key is UNIQUE and queuing is INSERT … ON CONFLICT DO NOTHING, so any number
of runs (or instances) queue it once. Sending takes one queued message at a time (FOR UPDATE SKIP LOCKED), sends
it with smtplib and marks it sent in the same transaction; the caller also holds an advisory lock
(notify.py), so two runs never send side by side. A failed attempt keeps the message queued with the error and a
later next_attempt_at (doubling from 5 minutes up to 6 hours); after MAX_ATTEMPTS, or when the server refuses the
recipient for good (5xx), it is "failed" and the admin page shows it.

If the process dies between the server's acceptance and the commit, the message goes out again on the next run:
delivery is at least once, and that window is one SMTP transaction wide.
"""

from __future__ import annotations

import datetime as dt
import html
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from khgeo import clock
from khgeo.models import MailMessage
from khgeo.services.followup.events import Delivery

MAX_ATTEMPTS = 10
FIRST_RETRY = dt.timedelta(minutes=5)
LONGEST_RETRY = dt.timedelta(hours=6)
SMTP_TIMEOUT = 20  # seconds: a hung server must not hold the timer's run for ever
SENDER_NAME = "khgeo – Ban Quản lý các KCN tỉnh Bắc Giang"


@dataclass(frozen=True)
class SmtpSettings:
    url: str
    sender: str
    starttls: bool

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SmtpSettings | None:
        url = settings.get("KHGEO_SMTP_URL") or ""
        if not url:
            return None
        return cls(
            url=url,
            sender=settings.get("KHGEO_MAIL_FROM") or "",
            starttls=bool(settings.get("KHGEO_SMTP_STARTTLS")),
        )

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def describe(self) -> str:
        """The server without its password, for the admin page and the command's output."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or self.default_port}"

    @property
    def default_port(self) -> int:
        return 465 if urlsplit(self.url).scheme == "smtps" else 587

    def connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or self.default_port
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
            if self.starttls:
                server.starttls(context=ssl.create_default_context())
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        return server


def absolute(link: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{link}" if base_url else link


def message_bodies(delivery: Delivery, base_url: str) -> tuple[str, str]:
    """The plain-text and HTML bodies (everything from the data escaped in the HTML)."""
    event = delivery.event
    url = absolute(event.link, base_url)
    greeting = (
        f"Kính gửi {delivery.user.display_name or delivery.user.username},"
        if delivery.user is not None
        else "Kính gửi Quý cơ quan,"
    )
    footer = (
        "Thư này do hệ thống khgeo gửi tự động; thay đổi loại thông báo nhận qua thư tại trang "
        "“Thông báo” → “Cài đặt”."
    )
    text = f"{greeting}\n\n{event.body}\n\nXem chi tiết: {url}\n\n--\n{footer}\n"
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in event.body.split("\n\n")
    )
    body_html = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"></head><body>'
        f"<p>{html.escape(greeting)}</p>{paragraphs}"
        f'<p><a href="{html.escape(url, quote=True)}">Xem chi tiết</a></p>'
        f'<hr><p style="color:#555;font-size:small">{html.escape(footer)}</p></body></html>'
    )
    return text, body_html


def queue(session: Session, items: list[Delivery], base_url: str, now: dt.datetime) -> int:
    """Queue the e-mails not queued before (ON CONFLICT on the dedupe key); how many are new."""
    rows = []
    for item in items:
        if not item.email:
            continue
        text, body_html = message_bodies(item, base_url)
        rows.append(
            {
                "dedupe_key": item.key,
                "user_id": item.user.id if item.user is not None else None,
                "agency_id": item.agency_id,
                "recipient": item.email,
                "subject": item.event.title,
                "body_text": text,
                "body_html": body_html,
                "status": "queued",
                "attempts": 0,
                "last_error": "",
                "next_attempt_at": now,
            }
        )
    if not rows:
        return 0
    result = session.execute(
        insert(MailMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(MailMessage.id)
    )
    return len(result.all())


def build_message(row: MailMessage, smtp: SmtpSettings) -> EmailMessage:
    message = EmailMessage()  # the default policy: UTF-8 headers (RFC 2047) and bodies
    message["Subject"] = " ".join(row.subject.split())  # one line, whatever a name held
    message["From"] = formataddr((SENDER_NAME, smtp.sender)) if smtp.sender else smtp.sender
    message["To"] = row.recipient
    message["Date"] = format_datetime(clock.now())  # the province's time, with its offset
    message["Message-ID"] = make_msgid(
        idstring=f"khgeo{row.id}", domain=smtp.sender.rpartition("@")[2] or None
    )
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


def _retry_delay(attempts: int) -> dt.timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def _failed(row: MailMessage, error: str, now: dt.datetime, *, permanent: bool = False) -> None:
    row.attempts += 1
    row.last_error = error[:1000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + _retry_delay(row.attempts)


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    error: str = ""


def _due(session: Session, now: dt.datetime, after_id: int):
    return (
        select(MailMessage)
        .where(MailMessage.status == "queued", MailMessage.next_attempt_at <= now, MailMessage.id > after_id)
        .order_by(MailMessage.id)
        .with_for_update(skip_locked=True)
    )


def send_queued(database, smtp: SmtpSettings, now: dt.datetime) -> SendResult:
    """Send every queued message that is due, one transaction per message. When the server cannot be reached (or
    breaks off), this message and every other due one record the error and wait for a later run."""
    result = SendResult()
    server: smtplib.SMTP | None = None
    last_id = 0
    try:
        while True:
            with database.session() as session:
                row = session.scalars(_due(session, now, last_id).limit(1)).one_or_none()
                if row is None:
                    return result
                last_id = row.id
                try:
                    if server is None:
                        server = smtp.connect()
                    server.send_message(build_message(row, smtp))
                except smtplib.SMTPRecipientsRefused as exc:
                    _failed(row, f"recipient refused: {exc.recipients}", now, permanent=True)
                    result.failed += 1
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    result.error = f"{type(exc).__name__}: {exc}"
                    _close(server)
                    server = None
                    for waiting in [row, *session.scalars(_due(session, now, last_id))]:
                        _failed(waiting, result.error, now)
                        result.retried += waiting.status == "queued"
                        result.failed += waiting.status == "failed"
                    return result
                row.status, row.sent_at, row.last_error = "sent", now, ""
                row.attempts += 1
                result.sent += 1
    finally:
        _close(server)


def _close(server: smtplib.SMTP | None) -> None:
    if server is not None:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()


def outbox(session: Session, limit: int = 200) -> list[MailMessage]:
    """The admin page's list: failures and waiting messages first, then the latest sent."""
    return list(
        session.scalars(
            select(MailMessage)
            .order_by((MailMessage.status == "sent"), MailMessage.created_at.desc(), MailMessage.id.desc())
            .limit(limit)
        )
    )
