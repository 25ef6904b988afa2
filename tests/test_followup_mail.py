"""`khgeo notify` against a real SMTP server (aiosmtpd on loopback), with today frozen at 01/12/2026.

Each agency that owes the yearly report gets the reminder of 15/12 exactly once, across two runs and across two
concurrent runs; the messages are Vietnamese (UTF-8 subject, text and HTML with the user's text escaped, dates
dd/mm/yyyy, an absolute link); an outage keeps them queued and the next run after it sends them; --dry-run
writes nothing; without SMTP the reminders are in the app only.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from khgeo.cli import main
from khgeo.models import Agency, MailMessage, Notification, User
from khgeo.services.followup import notify
from khgeo.services.reports import cycle as reporting
from tests.conftest import make_app
from tests.helpers import logged_in, make_user

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 08:00 in Bắc Giang
BASE_URL = "https://khgeo.example.gov.vn"


class Inbox:
    """aiosmtpd's handler: every message the server accepted, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this hook by name
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((tuple(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str):
        return [message for rcpts, message in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port():
    return _free_port()


@pytest.fixture
def inbox(smtp_port):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def _app(database_url, port, **overrides):
    settings = {
        "KHGEO_TODAY": TODAY,
        "KHGEO_NOW": NOW,
        "KHGEO_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "KHGEO_SMTP_STARTTLS": False,
        "KHGEO_MAIL_FROM": "khgeo@bqlkcn.bacgiang.gov.vn",
        "KHGEO_PUBLIC_URL": BASE_URL,
    }
    settings.update(overrides)
    return make_app(database_url, **settings)


def _contacts(app) -> dict[str, str]:
    """A contact address for every agency that owes the yearly report: {address: agency code}."""
    with app.extensions["khgeo.db"].session() as session:
        addresses = {}
        for agency in reporting.reporting_agencies(session):
            agency.contact_email = f"{agency.code.lower()}@bacgiang.gov.vn"
            addresses[agency.contact_email] = agency.code
        return addresses


def _sct_user(app, name: str = "Trần <b>Văn</b> An") -> str:
    username = make_user(app, "viewer", display_name=name)
    with app.extensions["khgeo.db"].session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.email = "an.tv@sct.bacgiang.gov.vn"
        user.agency_id = session.scalars(select(Agency.id).where(Agency.code == "SCT")).one()
    return username


def _notify(app, *args):
    result = app.test_cli_runner().invoke(main, ["notify", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_each_agency_gets_the_reminder_of_15_12_once_across_two_runs(database_url, smtp_port, inbox):
    app = _app(database_url, smtp_port)
    try:
        contacts = _contacts(app)
        _sct_user(app)
        first = _notify(app)
        count = len(inbox.messages)
        assert count > len(contacts), first
        second = _notify(app)
        assert len(inbox.messages) == count, "the second run sends nothing again"
        assert "0 e-mails queued" in second and "sent 0" in second

        for address, code in contacts.items():
            reminders = [m for m in inbox.to(address) if "15/12/2026" in m["Subject"]]
            assert len(reminders) == 1, (code, [m["Subject"] for m in inbox.to(address)])
            message = reminders[0]
            assert message["Subject"] == "Hạn gửi báo cáo năm 2026: ngày 15/12/2026 (còn 14 ngày)"
            plain = message.get_body(("plain",)).get_content()
            assert "trước ngày 15/12/2026 (còn 14 ngày)" in plain
            assert f"{BASE_URL}/reports/2026/{code}" in plain
            page = message.get_body(("html",)).get_content()
            assert f'href="{BASE_URL}/reports/2026/{code}"' in page
        raw = inbox.to("sct@bacgiang.gov.vn")[0].as_bytes()
        assert b"=?utf-8?" in raw.lower(), "a UTF-8 encoded subject"

        # the SCT user: the same reminder addressed to them, their name escaped in the HTML
        mine = inbox.to("an.tv@sct.bacgiang.gov.vn")
        subjects = [m["Subject"] for m in mine]
        assert subjects.count("Hạn gửi báo cáo năm 2026: ngày 15/12/2026 (còn 14 ngày)") == 1
        page = mine[0].get_body(("html",)).get_content()
        assert "Trần &lt;b&gt;Văn&lt;/b&gt; An" in page and "<b>Văn</b>" not in page
        assert "Kính gửi Trần <b>Văn</b> An," in mine[0].get_body(("plain",)).get_content()
        # no address received the same subject twice
        for rcpts, message in inbox.messages:
            same = [m for m in inbox.to(rcpts[0]) if m["Subject"] == message["Subject"]]
            assert len(same) == 1, (rcpts, message["Subject"])
        with app.extensions["khgeo.db"].session() as session:
            statuses = set(session.scalars(select(MailMessage.status)))
            assert statuses == {"sent"}
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_two_concurrent_runs_send_each_reminder_once(database_url, smtp_port, inbox):
    app = _app(database_url, smtp_port)
    try:
        contacts = _contacts(app)
        database = app.extensions["khgeo.db"]
        results = []
        barrier = threading.Barrier(2)

        def run():
            barrier.wait()
            with app.app_context():
                results.append(
                    notify.run(database, app.config, today=TODAY, now=NOW, tracking_start=dt.date(2026, 1, 1))
                )

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == 2
        for address in contacts:
            reminders = [m for m in inbox.to(address) if "15/12/2026" in m["Subject"]]
            assert len(reminders) == 1, address
        keys = [(rcpts, m["Subject"]) for rcpts, m in inbox.messages]
        assert len(keys) == len(set(keys)), "no message twice"
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(MailMessage)) == len(inbox.messages)
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_an_outage_keeps_the_messages_queued_and_the_next_run_sends_them(database_url, smtp_port):
    app = _app(database_url, smtp_port)  # nothing listens on the port yet: the server is down
    try:
        contacts = _contacts(app)
        output = _notify(app)
        assert "waiting to retry" in output
        database = app.extensions["khgeo.db"]
        with database.session() as session:
            waiting = list(session.scalars(select(MailMessage)))
            assert waiting and {m.status for m in waiting} == {"queued"}
            assert all(m.attempts == 1 and "Connection" in m.last_error for m in waiting)
            assert all(m.next_attempt_at > NOW for m in waiting), "retried later, not at once"
        admin = logged_in(app, make_user(app, "admin"))
        page = admin.get("/admin/outbox").get_data(as_text=True)
        assert "Connection" in page and "sct@bacgiang.gov.vn" in page

        handler = Inbox()
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            later = _app(database_url, smtp_port, KHGEO_NOW=NOW + dt.timedelta(hours=1))
            try:
                _notify(later)
            finally:
                later.extensions["khgeo.db"].engine.dispose()
        finally:
            controller.stop()
        for address in contacts:
            assert len([m for m in handler.to(address) if "15/12/2026" in m["Subject"]]) == 1
        with database.session() as session:
            assert set(session.scalars(select(MailMessage.status))) == {"sent"}
            assert set(session.scalars(select(MailMessage.attempts))) == {2}
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_dry_run_lists_and_writes_nothing(database_url, smtp_port, inbox):
    app = _app(database_url, smtp_port)
    try:
        _contacts(app)
        output = _notify(app, "--dry-run")
        assert "report_due" in output and "e-mail sct@bacgiang.gov.vn" in output
        assert "dry run: nothing written" in output
        assert inbox.messages == []
        with app.extensions["khgeo.db"].session() as session:
            assert session.scalar(select(func.count()).select_from(MailMessage)) == 0
            assert session.scalar(select(func.count()).select_from(Notification)) == 0
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_without_smtp_the_reminders_are_in_the_app_only(database_url):
    app = make_app(database_url, KHGEO_TODAY=TODAY, KHGEO_NOW=NOW)
    try:
        _contacts(app)
        username = _sct_user(app)
        output = _notify(app)
        assert "in the app only" in output
        with app.extensions["khgeo.db"].session() as session:
            assert session.scalar(select(func.count()).select_from(MailMessage)) == 0
            titles = session.scalars(
                select(Notification.title)
                .join(User, User.id == Notification.user_id)
                .where(User.username == username)
            ).all()
            assert "Hạn gửi báo cáo năm 2026: ngày 15/12/2026 (còn 14 ngày)" in titles
            session.execute(text("SELECT 1"))
        again = _notify(app)
        assert "0 new notifications" in again
        admin = logged_in(app, make_user(app, "admin"))
        page = admin.get("/admin/outbox").get_data(as_text=True)
        assert "Chưa cấu hình máy chủ thư (KHGEO_SMTP_URL)" in page
    finally:
        app.extensions["khgeo.db"].engine.dispose()
