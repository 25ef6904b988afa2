"""Calendars, urging letters and in-app notifications, through the pages and the command a user would use.

- an agency's calendar address, made on the agency page, serves an iCalendar that icalendar parses back: the
  task deadlines and reporting dates as all-day events with two alarms each, recurring tasks as RRULEs; a new
  address revokes the old one (410), an unknown one is 404;
- the board's urging letter (DOCX) names every overdue task of the agency with the plan's deadline words, the
  missing yearly report, the Decree 30 form parts; also from `khgeo letter`;
- notifications written by `khgeo notify` show under the bell, are marked read (CSRF required, another user's
  refused) and follow the user's settings; a bad e-mail address is refused in Vietnamese and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
from icalendar import Calendar
from sqlalchemy import func, select

from khgeo.cli import main
from khgeo.models import Agency, Notification, NotificationSetting, User
from khgeo.services import tasks as task_service
from tests.conftest import make_app
from tests.helpers import csrf_of, logged_in, make_user

TODAY = dt.date(2026, 12, 1)


def _agency_user(app, code: str, role: str = "viewer", email: str | None = None) -> str:
    username = make_user(app, role)
    with app.extensions["khgeo.db"].session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.agency_id = session.scalars(select(Agency.id).where(Agency.code == code)).one()
        user.email = email
    return username


def _new_calendar(client, code: str) -> str:
    page = client.get(f"/agencies/{code}").get_data(as_text=True)
    response = client.post(f"/agencies/{code}/calendar", data={"csrf_token": csrf_of(page), "action": "new"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    url = re.search(r'id="calendar-url">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert url.startswith("http://localhost/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://localhost")


def _events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    assert calendar["X-WR-TIMEZONE"] == "Asia/Ho_Chi_Minh"
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_an_agency_calendar_has_its_deadlines_alarms_and_rules_and_can_be_revoked(database_url):
    app = make_app(database_url, KHGEO_TODAY=TODAY)
    try:
        client = logged_in(app, _agency_user(app, "UBND_VY"))
        path = _new_calendar(client, "UBND_VY")
        anonymous = app.test_client()  # a calendar client: no login, the secret is the credential
        response = anonymous.get(path)
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        events = _events(response.get_data())

        report = events["Hạn gửi báo cáo năm 2026 về Ban Quản lý các KCN"]
        assert report.decoded("DTSTART") == dt.date(2026, 12, 15), "an all-day event on 15/12"
        assert report.decoded("DTEND") == dt.date(2026, 12, 16)
        alarms = sorted(alarm.decoded("TRIGGER") for alarm in report.walk("VALARM"))
        assert alarms == [dt.timedelta(days=-7), dt.timedelta(days=-1)]
        assert events["Hạn gửi báo cáo năm 2027 về Ban Quản lý các KCN"].decoded("DTSTART") == dt.date(
            2027, 12, 15
        )

        # the collective's quarterly task (II.3.7.6): one event repeating at every quarter's end since tracking began
        quarterly = next(
            event for summary, event in events.items() if summary.startswith("Hạn nhiệm vụ II.3.7.6")
        )
        assert quarterly.decoded("DTSTART") == dt.date(2026, 3, 31)
        rule = quarterly["RRULE"]
        assert (rule["FREQ"], rule["INTERVAL"], rule["BYMONTHDAY"]) == (["MONTHLY"], [3], [-1])
        # a fixed deadline of the district committees (II.3.7.7, "thực hiện xong trong tháng 12/2022")
        fixed = next(
            event for summary, event in events.items() if summary.startswith("Hạn nhiệm vụ II.3.7.7")
        )
        assert fixed.decoded("DTSTART") == dt.date(2022, 12, 31) and "RRULE" not in fixed
        assert "tháng 12/2022" in str(fixed["DESCRIPTION"])
        assert not any(summary.startswith("Hạn nhiệm vụ II.3.7.1 ") for summary in events), "ongoing: no date"

        # a new address: the old one is gone (410), the new one works; an unknown one is 404
        newer = _new_calendar(client, "UBND_VY")
        assert anonymous.get(path).status_code == 410
        assert "thu hồi" in anonymous.get(path).get_data(as_text=True)
        assert anonymous.get(newer).status_code == 200
        assert anonymous.get("/calendar/khong-co-dia-chi-nay.ics").status_code == 404
        page = client.get("/agencies/UBND_VY").get_data(as_text=True)
        stop = client.post(
            "/agencies/UBND_VY/calendar", data={"csrf_token": csrf_of(page), "action": "revoke"}
        )
        assert stop.status_code == 303
        assert anonymous.get(newer).status_code == 410
        # another agency's user may not make UBND_VY's address
        other = logged_in(app, _agency_user(app, "SCT"))
        page = other.get("/agencies/UBND_VY").get_data(as_text=True)
        assert "agency-calendar-form" not in page
        refused = other.post(
            "/agencies/UBND_VY/calendar", data={"csrf_token": csrf_of(page), "action": "new"}
        )
        assert refused.status_code == 403
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_the_boards_own_calendar_has_the_monthly_task_and_its_31_12(database_url):
    app = make_app(database_url, KHGEO_TODAY=TODAY)
    try:
        client = logged_in(app, make_user(app, "admin"))
        page = client.get("/notifications/settings").get_data(as_text=True)
        made = client.post(
            "/notifications/settings", data={"csrf_token": csrf_of(page), "action": "calendar-new"}
        )
        url = re.search(r'id="calendar-url">([^<]+)<', made.get_data(as_text=True)).group(1)
        events = _events(app.test_client().get(url.removeprefix("http://localhost")).get_data())
        board = events["Hạn báo cáo tổng hợp năm 2026 gửi UBND tỉnh, HĐND tỉnh"]
        assert board.decoded("DTSTART") == dt.date(2026, 12, 31)
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def _docx_text(body: bytes) -> str:
    document = docx.Document(io.BytesIO(body))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts += [p.text for p in cell.paragraphs]
    return "\n".join(parts)


def test_the_urging_letter_lists_every_overdue_task_and_the_missing_report(database_url, tmp_path):
    app = make_app(database_url, KHGEO_TODAY=dt.date(2027, 1, 11))  # SCT has not sent its 2026 report
    try:
        with app.app_context(), app.extensions["khgeo.db"].session() as session:
            overdue = [
                row.task
                for row in task_service.list_tasks(
                    session,
                    task_service.TaskFilter(agency="SCT", status="overdue"),
                    dt.date(2027, 1, 11),
                    dt.date(2026, 1, 1),
                )
                if row.task.id != "III.1"
            ]
        assert len(overdue) >= 3, "SCT has overdue tasks in the plan"
        board = logged_in(app, make_user(app, "admin"))
        assert 'id="letter-download"' in board.get("/agencies/SCT").get_data(as_text=True)
        response = board.get("/agencies/SCT/letter.docx")
        assert response.status_code == 200
        assert "cong-van-don-doc-sct-20270111.docx" in response.headers["Content-Disposition"]
        text = _docx_text(response.get_data())
        for task in overdue:
            assert task.id in text and task.title in text, task.id
            if task.deadline_text:
                assert task.deadline_text[1:] in text, task.deadline_text
        assert "Kính gửi: Sở Công Thương." in text
        assert "V/v đôn đốc thực hiện Kế hoạch" in text and "Số: …/" in text
        assert "Bắc Giang, ngày 11 tháng 01 năm 2027" in text
        assert "Báo cáo năm 2026 về kết quả thực hiện Kế hoạch (hạn 15/12/2026)" in text
        assert "Nơi nhận:" in text and "UBND TỈNH BẮC GIANG" in text

        output = tmp_path / "don-doc.docx"
        result = app.test_cli_runner().invoke(main, ["letter", "--agency", "sct", "--output", str(output)])
        assert result.exit_code == 0, result.output
        assert f"{len(overdue)} overdue tasks, 1 missing reports" in result.output
        assert all(task.id in _docx_text(output.read_bytes()) for task in overdue)
        every = app.test_cli_runner().invoke(
            main, ["letter", "--all-late", "--output", str(tmp_path / "all")]
        )
        assert every.exit_code == 0, every.output
        assert "SCT, " in every.output and (tmp_path / "all" / "cong-van-don-doc-sct-20270111.docx").exists()
        unknown = app.test_cli_runner().invoke(main, ["letter", "--agency", "XYZ", "--output", str(output)])
        assert unknown.exit_code != 0 and "Traceback" not in unknown.output and "XYZ" in unknown.output
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_notifications_show_under_the_bell_and_are_marked_read(database_url):
    app = make_app(database_url, KHGEO_TODAY=TODAY)
    try:
        username = _agency_user(app, "UBND_VY")
        assert "0 e-mails" not in (out := app.test_cli_runner().invoke(main, ["notify"]).output), out
        client = logged_in(app, username)
        page = client.get("/tasks").get_data(as_text=True)
        with app.extensions["khgeo.db"].session() as session:
            user_id = session.scalars(select(User.id).where(User.username == username)).one()
            unread = session.scalar(select(func.count()).where(Notification.user_id == user_id))
        assert unread >= 2, "the 15/12 report and the quarterly task II.3.7.6 missed on 30/09"
        assert f'<span class="bell-count">{unread}</span>' in page
        listing = client.get("/notifications").get_data(as_text=True)
        assert "Hạn gửi báo cáo năm 2026: ngày 15/12/2026 (còn 14 ngày)" in listing
        assert 'href="/reports/2026/UBND_VY"' in listing
        with app.extensions["khgeo.db"].session() as session:
            first = session.scalars(
                select(Notification.id).where(Notification.user_id == user_id).order_by(Notification.id)
            ).first()
        assert client.post(f"/notifications/{first}/read").status_code == 400, "CSRF required"
        done = client.post(f"/notifications/{first}/read", data={"csrf_token": csrf_of(listing)})
        assert done.status_code == 303
        assert f'<span class="bell-count">{unread - 1}</span>' in client.get("/tasks").get_data(as_text=True)
        # another user cannot mark it (or see it)
        stranger = logged_in(app, make_user(app, "viewer"))
        token = csrf_of(stranger.get("/notifications").get_data(as_text=True))
        assert stranger.post(f"/notifications/{first}/read", data={"csrf_token": token}).status_code == 404
        all_read = client.post("/notifications/read", data={"csrf_token": csrf_of(listing)})
        assert all_read.status_code == 303
        assert "bell-count" not in client.get("/tasks").get_data(as_text=True)
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_settings_decide_what_is_written_and_a_bad_address_changes_nothing(database_url):
    app = make_app(database_url, KHGEO_TODAY=TODAY)
    try:
        username = _agency_user(app, "SCT")
        client = logged_in(app, username)
        page = client.get("/notifications/settings").get_data(as_text=True)
        assert 'name="app-report_due" aria-label' in page and "checked" in page
        form = {"csrf_token": csrf_of(page), "action": "save", "stale_days": "30"}
        bad = client.post(
            "/notifications/settings", data={**form, "email": "khong-phai-dia-chi", "app-task_due": "on"}
        )
        assert bad.status_code == 400
        assert "Nhập địa chỉ thư điện tử" in bad.get_data(as_text=True)
        with app.extensions["khgeo.db"].session() as session:
            assert session.scalar(select(func.count()).select_from(NotificationSetting)) == 0
        # only task deadlines in the app: the report reminder is not written for this user
        saved = client.post(
            "/notifications/settings",
            data={**form, "email": "an@sct.bacgiang.gov.vn", "app-task_overdue": "on"},
        )
        assert saved.status_code == 303
        app.test_cli_runner().invoke(main, ["notify"])
        with app.extensions["khgeo.db"].session() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            assert user.email == "an@sct.bacgiang.gov.vn"
            kinds = set(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))
        assert kinds <= {"task_overdue"}
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_the_consolidated_report_proposes_the_units_with_overdue_tasks_with_the_facts(app, db):
    from khgeo.services.reports import data as report_data
    from khgeo.services.reports.docx import render_docx
    from tests.test_report_documents import docx_text, record_year

    with app.app_context(), db.session() as session:
        record_year(session)
        data = report_data.gather(session, 2026, dt.date(2026, 12, 20), dt.date(2026, 1, 1))
    text = docx_text(docx.Document(io.BytesIO(render_docx(data))))
    (proposal,) = [
        line
        for line in text
        if line.startswith("Đề xuất nhắc nhở các cơ quan, đơn vị chủ trì nhiệm vụ quá hạn")
    ]
    sct_overdue = [task for task in data.overdue if task.lead_agency == "Sở Công Thương"]
    assert sct_overdue
    assert f"Sở Công Thương ({len(sct_overdue)} nhiệm vụ: " in proposal
    for task in sct_overdue:
        assert f"{task.id} – hạn {task.due_date:%d/%m/%Y}" in proposal
    # a recurring task is named with the period it has no report for
    assert "II.3.7.6 – kỳ quý III/2026 chưa có báo cáo" in proposal


def test_the_board_sets_an_agencys_reminder_address_on_its_page(app, db):
    from khgeo.models import AuditEvent

    board = logged_in(app, make_user(app, "admin"))
    page = board.get("/agencies/SCT").get_data(as_text=True)
    assert 'id="agency-contact-form"' in page
    bad = board.post(
        "/agencies/SCT/contact", data={"csrf_token": csrf_of(page), "contact_email": "sct at bacgiang"}
    )
    assert bad.status_code == 303
    assert "Nhập địa chỉ thư điện tử" in board.get("/agencies/SCT").get_data(as_text=True)
    with db.session() as session:
        assert session.scalars(select(Agency.contact_email).where(Agency.code == "SCT")).one() is None
    good = board.post(
        "/agencies/SCT/contact",
        data={"csrf_token": csrf_of(page), "contact_email": "vanphong@sct.bacgiang.gov.vn"},
    )
    assert good.status_code == 303
    assert 'value="vanphong@sct.bacgiang.gov.vn"' in board.get("/agencies/SCT").get_data(as_text=True)
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "agency.contact")).one()
        assert event.changes == {"contact_email": [None, "vanphong@sct.bacgiang.gov.vn"]}
    # a user of another agency may not
    other = logged_in(app, _agency_user(app, "CA"))
    token = csrf_of(other.get("/agencies/CA").get_data(as_text=True))
    assert (
        other.post("/agencies/SCT/contact", data={"csrf_token": token, "contact_email": "x@y.vn"}).status_code
        == 403
    )
