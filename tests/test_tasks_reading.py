"""Tasks that read right: which period is overdue, tracking start, a task's zones, who sees which report buttons."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from khgeo.models import Zone
from khgeo.services import accounts
from tests.conftest import make_app
from tests.helpers import add_token, add_user, login


@pytest.fixture
def client(app, db):
    """A logged-in official: the task register and the planners' views are for logged-in users."""
    client = app.test_client()
    assert login(client, add_user(db, "viewer")).status_code == 302
    return client


def _row(page: str, task_id: str) -> str:
    match = re.search(rf'<tr class="task-row[^"]*" data-task="{re.escape(task_id)}">(.*?)</tr>', page, re.S)
    assert match, task_id
    return match.group(1)


def test_an_overdue_recurring_task_names_the_period_without_a_report(client):
    # frozen today 26/11/2026 (tests/conftest.py); tracking starts 01/01/2026 by default
    page = client.get("/tasks").get_data(as_text=True)
    monthly = _row(page, "II.3.1.2")
    assert "Kỳ tháng 10/2026 chưa có báo cáo" in monthly
    assert "30/11/2026" not in monthly  # not the next deadline beside "Quá hạn"
    quarterly = _row(page, "II.3.7.6")
    assert "Kỳ quý III/2026 chưa có báo cáo" in quarterly
    task = client.get("/api/tasks/II.3.1.2").get_json()
    assert task["status"] == "overdue"
    assert (
        task["overdue_period"]["start"] == "2026-10-01" and task["overdue_period"]["deadline"] == "2026-10-31"
    )
    detail = client.get("/tasks/II.3.7.6").get_data(as_text=True)
    assert "Kỳ quý III/2026 chưa có báo cáo" in detail and "01/07/2026 – 30/09/2026" in detail
    english = client.get("/tasks/II.3.1.2?lang=en").get_data(as_text=True)
    assert "Period month 10/2026 has no report yet" in english


def test_periods_before_tracking_began_are_not_overdue(database_url, db):
    token = add_token(db, add_user(db, "viewer"))  # the register is for logged-in users

    def status(start: str, task_id: str) -> dict:
        app = make_app(database_url, KHGEO_TRACKING_START=start)
        try:
            return (
                app.test_client()
                .get(f"/api/tasks/{task_id}", headers={"Authorization": f"Bearer {token}"})
                .get_json()
            )
        finally:
            app.extensions["khgeo.db"].engine.dispose()

    # the yearly period that closed on 31/12/2025 came before the default tracking start (01/01/2026)
    assert status("2026-01-01", "II.3.2.1")["status"] != "overdue"
    earlier = status("2025-01-01", "II.3.2.1")
    assert (
        earlier["status"] == "overdue" and earlier["overdue_period"]["text"] == "Kỳ năm 2025 chưa có báo cáo"
    )
    # a monthly task tracked only from November is not late for October
    assert status("2026-11-01", "II.3.1.2")["status"] != "overdue"
    assert status("2026-10-31", "II.3.1.2")["status"] == "overdue"
    # fixed deadlines are not touched by the setting
    assert status("2026-11-01", "II.3.1.3")["status"] == "overdue"


def test_a_tracking_start_that_is_not_a_date_fails_naming_the_setting():
    import pytest

    from khgeo.config import load_settings
    from khgeo.errors import ConfigError

    with pytest.raises(ConfigError, match="KHGEO_TRACKING_START"):
        load_settings(environ={"KHGEO_TRACKING_START": "01/2026"})


def test_the_task_page_lists_its_zones_and_those_without_a_location(app, db, client):
    with db.session() as session:
        session.execute(update(Zone).where(Zone.code == "kcn-yen-lu").values(geom=None))
        session.commit()
    page = client.get("/tasks/II.3.1.2").get_data(as_text=True)
    listing = re.search(r'<ul class="task-zones" id="task-zones">(.*?)</ul>', page, re.S).group(1)
    items = dict(re.findall(r'<li data-code="([^"]+)">(.*?)</li>', listing, re.S))
    assert set(items) == {
        "kcn-quang-chau",
        "kcn-song-khe-noi-hoang-nam",
        "kcn-van-trung",
        "kcn-hoa-phu",
        "kcn-viet-han",
        "kcn-yen-lu",
        "kcn-hoa-phu-mo-rong-gd1",
    }
    assert 'href="/zones/kcn-yen-lu"' in items["kcn-yen-lu"] and "chưa có vị trí" in items["kcn-yen-lu"]
    assert "chưa có vị trí" not in items["kcn-quang-chau"]


def _login(client, username: str) -> None:
    assert login(client, username, "correct horse battery").status_code == 302


def test_an_agency_sees_its_own_report_first_and_only_the_board_sees_the_board_buttons(app, db):
    with db.session() as session:
        accounts.create_user(session, "sct", "correct horse battery", "viewer", agency="SCT")
        accounts.create_user(session, "board", "correct horse battery", "admin", agency="BQL")
    agency = app.test_client()
    _login(agency, "sct")
    page = agency.get("/reports").get_data(as_text=True)
    assert "Lập báo cáo của đơn vị" in page and 'href="/reports/2026/SCT"' in page
    assert page.index("Lập báo cáo của đơn vị") < page.index('class="tasks-table agencies-table"')
    assert "consolidated.docx" not in page and "consolidated.xlsx" not in page
    board = app.test_client()
    _login(board, "board")
    page = board.get("/reports").get_data(as_text=True)
    assert "consolidated.docx" in page and "consolidated.xlsx" in page
    assert "Lập báo cáo của đơn vị" not in page  # the board receives reports, it does not owe one
    anonymous = app.test_client().get("/reports").get_data(as_text=True)
    assert "consolidated.docx" not in anonymous


def test_the_reading_helpers_name_periods_as_people_do():
    from types import SimpleNamespace

    from khgeo.services.tasks import missed_period

    task = SimpleNamespace(status="not_started", due_date=None, recurrence="quarterly", yearly_due=None)
    assert missed_period(task, dt.date(2027, 1, 2), []) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert missed_period(task, dt.date(2027, 1, 2), [], tracking_start=dt.date(2027, 1, 1)) is None
