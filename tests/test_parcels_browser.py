"""The zone page's parcels section and the parcel page in a real browser at 360×740 and 1366×768 (bounding boxes):
the pipeline bar spans the section, its steps sit side by side inside it, tables and the search fit the screen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from khgeo.services.parcels.demo import seed_demo_parcels
from tests.conftest import FROZEN_TODAY, PageWatch
from tests.helpers import add_user
from tests.test_browser_layout import LAPTOP, PHONE, box, inside
from tests.test_browser_updates import log_in

pytestmark = pytest.mark.browser
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(LAPTOP, id="laptop")]
ZONE = "kcn-quang-chau"


@pytest.fixture(scope="module")
def demo(live_server):
    with live_server.app.extensions["khgeo.db"].session() as session:
        seed_demo_parcels(session, FROZEN_TODAY)
    return live_server


@pytest.fixture
def sized(browser, request):
    context = browser.new_context(viewport=request.param, locale="vi-VN")
    watched = PageWatch(context.new_page())
    yield watched
    context.close()


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_the_parcels_section_fits_the_screen(demo, sized):
    page = sized.page
    log_in(page, demo, add_user(demo, "field"))
    page.goto(f"{demo.url}/zones/{ZONE}")
    viewport = page.viewport_size
    section = page.locator("#parcels")
    section.scroll_into_view_if_needed()
    section_box = box(section)
    assert section_box["x"] >= 0 and section_box["x"] + section_box["width"] <= viewport["width"], section_box
    bar = box(page.locator(".pipeline-bar"))
    assert inside(bar, section_box) and bar["width"] >= section_box["width"] * 0.9
    steps = page.locator(".pipeline-step")
    assert steps.count() >= 5
    previous = None
    for i in range(steps.count()):
        step = box(steps.nth(i))
        assert inside(step, bar, slack=1.5), (i, step, bar)
        if previous is not None:
            assert step["x"] >= previous["x"] + previous["width"] - 1.5, "side by side, in the stages' order"
        previous = step
    for selector in (".pipeline-table", ".parcels-overdue", ".parcel-search"):
        found = box(page.locator(selector).first)
        assert found["x"] >= -1 and found["x"] + found["width"] <= viewport["width"] + 1, (selector, found)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1, (
        "no sideways scrolling"
    )
    # the search by sheet/parcel on the phone leads to the parcel's page and its form
    with demo.app.extensions["khgeo.db"].session() as session:
        sheet, number = session.execute(
            text(
                "SELECT p.sheet, p.number FROM parcels p JOIN zones z ON z.id = p.zone_id "
                "WHERE z.code = :code AND p.stage = 'paid' ORDER BY p.id LIMIT 1"
            ),
            {"code": ZONE},
        ).one()
    page.fill(".parcel-search input[name=q]", f"{sheet}/{number}")
    page.click(".parcel-search button")
    page.locator(".parcel-results a").first.click()
    form = box(page.locator(".parcel-form"))
    assert form["x"] >= -1 and form["x"] + form["width"] <= viewport["width"] + 1
    page.click(".parcel-facts summary")  # the flags and amounts, folded under the step form
    facts = box(page.locator(".parcel-facts-form"))
    assert facts["x"] >= -1 and facts["x"] + facts["width"] <= viewport["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    assert not sized.errors, sized.errors
