"""One clock, in Vietnam: "today" is Bắc Giang's date whatever the server's time zone.

At 20:00 UTC on 14/12/2026 it is already 03:00 on 15/12 in Bắc Giang: a field officer reporting the situation
"as of 15/12/2026" is reporting today, not the future, and the agencies' deadline (15/12) is today.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from khgeo import clock
from khgeo.config import load_settings
from khgeo.errors import ConfigError
from khgeo.jinja import date_vn
from tests.conftest import FROZEN_TODAY, make_app
from tests.helpers import add_token, add_user
from tests.test_updates_rules import CODE, field_client, form_fields, state

EVENING_UTC = dt.datetime(2026, 12, 14, 20, 0, tzinfo=dt.UTC)  # = 15/12/2026 03:00 in Bắc Giang


@pytest.fixture
def server_in_utc(monkeypatch):
    """The process runs in UTC, as servers and containers often do."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def evening_app(database_url, server_in_utc):
    application = make_app(database_url, KHGEO_TODAY=None, KHGEO_NOW=EVENING_UTC)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


def test_the_provinces_date_is_already_the_15th(evening_app):
    with evening_app.app_context():
        assert clock.today() == dt.date(2026, 12, 15)
        assert clock.now().utcoffset() == dt.timedelta(hours=7)
        assert clock.now() == EVENING_UTC


def test_the_form_offers_and_accepts_the_provinces_today(evening_app):
    db, field = evening_app.extensions["khgeo.db"], field_client(evening_app)
    html = field.get(f"/zones/{CODE}/update").get_data(as_text=True)
    assert re.search(r'name="as_of" type="date" [^>]*max="2026-12-15"', html), "the browser may pick 15/12"
    before = state(db)
    data = {**form_fields(field), "as_of": "2026-12-15", "infrastructure_pct": "61"}
    response = field.post(f"/zones/{CODE}/update", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)[:500]
    assert state(db)[0] == before[0] + 1
    properties = evening_app.test_client().get(f"/api/zones/{CODE}").get_json()["properties"]
    assert properties["as_of"] == "2026-12-15"


def test_the_api_accepts_the_provinces_today_and_refuses_tomorrow(evening_app):
    db, client = evening_app.extensions["khgeo.db"], evening_app.test_client()
    token = add_token(db, add_user(db, "field"))

    def patch(as_of: str):
        etag = client.get(f"/api/zones/{CODE}").headers["ETag"]
        headers = {"Authorization": f"Bearer {token}", "If-Match": etag}
        return client.patch(
            f"/api/zones/{CODE}?lang=en", json={"as_of": as_of, "occupancy_pct": 40}, headers=headers
        )

    tomorrow = patch("2026-12-16")
    assert tomorrow.status_code == 422
    assert "cannot be in the future" in tomorrow.get_json()["error"]["fields"]["as_of"]
    assert patch("2026-12-15").status_code == 200


def test_the_reporting_page_says_the_agencies_deadline_is_today(evening_app):
    client = field_client(evening_app)  # the reporting cycle is for logged-in users
    html = client.get("/reports?lang=en").get_data(as_text=True)
    card = re.search(r"15/12/2026</strong>.*?<em[^>]*>([^<]*)</em>", html, re.S)
    assert card and card.group(1).strip() == "due today"
    board = re.search(r"31/12/2026</strong>.*?<em[^>]*>([^<]*)</em>", html, re.S)
    assert board and board.group(1).strip() == "16 days left"
    vietnamese = client.get("/reports?lang=vi").get_data(as_text=True)
    assert "hạn chót hôm nay" in vietnamese


def test_times_are_shown_in_the_provinces_zone_whatever_the_servers(evening_app):
    with evening_app.app_context():
        assert date_vn(EVENING_UTC) == "15/12/2026 03:00"
        assert date_vn(dt.datetime(2026, 12, 14, 20, 0)) == "15/12/2026 03:00"  # naive = UTC, as stored


def test_the_time_zone_is_a_setting(database_url, server_in_utc):
    app = make_app(database_url, KHGEO_TODAY=None, KHGEO_NOW=EVENING_UTC, KHGEO_TIMEZONE="Europe/Paris")
    with app.app_context():
        assert clock.today() == dt.date(2026, 12, 14)
        assert date_vn(EVENING_UTC) == "14/12/2026 21:00"
    app.extensions["khgeo.db"].engine.dispose()


def test_khgeo_today_still_freezes_the_date(app):
    with app.app_context():
        assert clock.today() == FROZEN_TODAY


def test_settings_are_read_from_the_environment():
    settings = load_settings(
        environ={
            "KHGEO_TODAY": "15/12/2026",
            "KHGEO_NOW": "2026-12-14T20:00:00Z",
            "KHGEO_TIMEZONE": "Asia/Bangkok",
        }
    )
    assert settings["KHGEO_TODAY"] == dt.date(2026, 12, 15)
    assert settings["KHGEO_NOW"] == EVENING_UTC
    assert settings["KHGEO_TIMEZONE"] == ZoneInfo("Asia/Bangkok")
    defaults = load_settings(environ={})
    assert defaults["KHGEO_TIMEZONE"] == ZoneInfo("Asia/Ho_Chi_Minh")
    assert defaults["KHGEO_TODAY"] is None and defaults["KHGEO_NOW"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KHGEO_TIMEZONE", "Asia/Hanoi_City"),
        ("KHGEO_TIMEZONE", "../etc/passwd"),
        ("KHGEO_TODAY", "31/02/2026"),
        ("KHGEO_NOW", "2026-12-14T20:00:00"),  # no offset: ambiguous
    ],
)
def test_bad_clock_settings_fail_fast_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={name: value})


def test_no_code_reads_the_servers_clock_directly():
    """Every "today" and "now" goes through khgeo.clock; the server's own zone never decides a date."""
    root = Path(__file__).resolve().parent.parent / "khgeo"
    pattern = re.compile(
        r"date\.today\(|datetime\.now\(|datetime\.utcnow\(|datetime\.today\(|time\.localtime\("
    )
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
