"""Notifications in a real browser at 360×740 and 1366×768: the bell with its unread count is in the header and in
view (on a phone too, outside the folded menu), leads to the list, and marking one read lowers the count."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from khgeo.models import Agency, User
from khgeo.services.followup import notify
from tests.conftest import PageWatch
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(params=[PHONE, LAPTOP], ids=["phone", "laptop"])
def sized(browser, request):
    context = browser.new_context(viewport=request.param, locale="vi-VN")
    watched = PageWatch(context.new_page())
    watched.viewport = request.param
    yield watched
    context.close()


def _box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not displayed"
    return found


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def _agency_user_with_notifications(server) -> str:
    username = make_user(server, "viewer")
    database = server.app.extensions["khgeo.db"]
    with database.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.agency_id = session.scalars(select(Agency.id).where(Agency.code == "UBND_VY")).one()
    with server.app.app_context():
        notify.run(
            database,
            server.app.config,
            today=server.app.config["KHGEO_TODAY"],
            now=dt.datetime.now(dt.UTC),
            tracking_start=dt.date(2026, 1, 1),
        )
    return username


def test_the_bell_shows_unread_notifications_and_marking_one_read_lowers_the_count(live_server, sized):
    username = _agency_user_with_notifications(live_server)
    page = sized.page
    page.goto(live_server.url + "/login?next=/tasks")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(live_server.url + "/tasks")

    viewport = {"x": 0, "y": 0, **sized.viewport}
    bell = page.locator("header .bell")
    count = page.locator("header .bell .bell-count")
    before = int(count.inner_text())
    assert before >= 2
    assert _inside(_box(bell), viewport), "the bell is in view"
    assert _inside(_box(count), _box(bell), slack=4), "the count sits on the bell"
    assert _box(bell)["width"] >= 24 and _box(bell)["height"] >= 24, "big enough to tap"
    assert _inside(_box(bell), _box(page.locator("header.topbar"))), "in the header"

    bell.click()
    page.wait_for_url(live_server.url + "/notifications")
    unread = page.locator(".notification-list li.unread")
    assert unread.count() == before
    first = unread.nth(0)
    title = first.locator(".notification-title").inner_text()
    assert title and _inside(_box(first.locator(".notification-title")), viewport | {"height": 10_000})
    first.locator("button.mark-read").click()
    page.wait_for_url(live_server.url + "/notifications")
    assert page.locator(".notification-list li.unread").count() == before - 1
    assert page.locator(".notification-list li.read .notification-title").first.inner_text() == title
    assert int(page.locator("header .bell .bell-count").inner_text()) == before - 1
    assert "Thông báo" in page.locator("h1").inner_text()
    assert sized.errors == []
