"""Parcels on the map in a real browser (Debian's chromium): drawn from the vector tiles at z16 over a test zone,
coloured by stage, a click opens the parcel's popup, the stage filter reaches the tiles, and the "select parcels"
box lists the parcels it holds and sends their stage in one request, on a phone and a laptop screen."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import FROZEN_TODAY, LiveServer, make_app
from tests.helpers import PASSWORD, make_user
from tests.test_parcel_tiles import COMMUNE, insert_parcel_grid

pytestmark = pytest.mark.browser

VIEWPORTS = [(360, 740), (1366, 768)]


def stage_for(i, j):
    stage = "paid" if j < 4 else "notified"
    return COMMUNE, stage, FROZEN_TODAY - dt.timedelta(days=12)


@pytest.fixture(scope="module")
def server(module_database_url):
    live = LiveServer(make_app(module_database_url, KHGEO_PUBLIC_READ=False))
    db = live.app.extensions["khgeo.db"]
    rows = insert_parcel_grid(db, rows=8, cols=8, size_m=30, stage_for=stage_for)
    live.parcels = rows
    yield live
    live.stop()


def log_in(page, server, role: str = "admin") -> None:
    username = make_user(server, role)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def middle_parcel(server):
    """The parcel in the 5th row and 5th column of the 8 × 8 grid: it has neighbours on every side."""
    return server.parcels[4 * 8 + 4].outline


def centre(server) -> tuple[float, float]:
    middle = middle_parcel(server)
    return middle.bounds[0], middle.bounds[1]  # a corner shared by four parcels


def show_parcels(watch, server, zoom: int = 16) -> int:
    page = watch.page
    page.wait_for_selector("html[data-zones-ready]", state="attached", timeout=20_000)
    lon, lat = centre(server)
    page.evaluate(
        "([lat, lon, zoom]) => { window[document.querySelector('.folium-map').id].setView([lat, lon], zoom,"
        " {animate: false}); }",
        [lat, lon, zoom],
    )
    page.wait_for_selector("html[data-parcels-ready]", state="attached", timeout=20_000)
    return int(page.evaluate("() => document.documentElement.dataset.parcelsCount"))


def box_of(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "on the page"
    return found


def open_legend(page):
    """The parcels' legend (folded at first on a phone)."""
    if page.locator(".khgeo-parcels-legend").get_attribute("open") is None:
        page.locator(".khgeo-parcels-legend > summary").click()


def pixel_of(watch, lon: float, lat: float) -> tuple[float, float]:
    """Where a point is on the screen."""
    return tuple(
        watch.page.evaluate(
            """([lat, lon]) => {
                const map = window[document.querySelector('.folium-map').id];
                const p = map.latLngToContainerPoint([lat, lon]);
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [lat, lon],
        )
    )


@pytest.fixture(params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def watch(browser, request):
    from tests.conftest import PageWatch

    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    watched = PageWatch(context.new_page())
    yield watched
    context.close()


def test_parcels_are_drawn_from_tiles_and_a_click_opens_the_popup(server, watch):
    page = watch.page
    log_in(page, server, "viewer")
    count = show_parcels(watch, server)
    assert count == len(server.parcels), "every parcel of the grid is in the tiles of the view"
    tile_requests = [url for url in watch.requests if "/tiles/parcels/16/" in url]
    assert tile_requests, "drawn from the vector tiles"

    legend = page.locator(".khgeo-parcels-legend")
    open_legend(page)
    assert "Thửa đất theo bước" in legend.inner_text()
    assert "Đã chi trả" in legend.inner_text()

    target = next(row for row in server.parcels if row.stage == "paid")
    x, y = pixel_of(watch, *target.outline.centroid.coords[0])
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content .khgeo-parcel-popup")
    popup.wait_for()
    text_shown = popup.inner_text()
    assert f"Tờ {target.sheet}, thửa {target.number}" in text_shown
    assert "Đã chi trả" in text_shown
    assert "12 ngày ở bước này" in text_shown
    assert popup.get_attribute("data-uid") == target.uid
    assert popup.locator("a.khgeo-parcel-open").get_attribute("href") == f"/parcels/{target.uid}"
    assert popup.locator("a.khgeo-parcel-update").count() == 0, "a viewer updates nothing"
    box = popup.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, "the popup fits the screen"
    assert watch.external_requests() == []
    assert watch.errors == []


def test_the_stage_filter_reaches_the_tiles(server, watch):
    page = watch.page
    log_in(page, server, "viewer")
    show_parcels(watch, server)
    open_legend(page)
    page.select_option("select[name=parcel_stage]", "paid")
    page.wait_for_function("() => document.documentElement.dataset.parcelsReady === 'true'", timeout=20_000)
    page.wait_for_function(
        f"() => document.documentElement.dataset.parcelsCount === '{sum(r.stage == 'paid' for r in server.parcels)}'",
        timeout=20_000,
    )
    assert any("stage=paid" in url for url in watch.requests)
    assert watch.errors == []


def test_a_box_selects_parcels_and_lists_them(server, watch):
    page = watch.page
    log_in(page, server, "admin")
    show_parcels(watch, server, zoom=17)
    open_legend(page)
    page.click("button.khgeo-parcel-select")
    # a box around the four parcels that meet at the view's centre
    rows = server.parcels
    middle = middle_parcel(server)
    west, south, east, north = middle.bounds
    size_lon, size_lat = east - west, north - south
    x0, y0 = pixel_of(watch, west - size_lon * 0.9, north + size_lat * 0.9)
    x1, y1 = pixel_of(watch, east - size_lon * 0.1, south + size_lat * 0.1)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    panel = page.locator(".khgeo-parcel-panel")
    panel.wait_for()
    expected = {
        row.uid
        for row in rows
        if west - size_lon * 0.9 < row.outline.centroid.x < east - size_lon * 0.1
        and south + size_lat * 0.1 < row.outline.centroid.y < north + size_lat * 0.9
    }
    assert len(expected) == 4
    listed = set(panel.locator("ol.khgeo-parcel-list li").evaluate_all("els => els.map(e => e.dataset.uid)"))
    assert listed == expected
    assert "4 thửa đã chọn" in panel.inner_text()
    assert page.locator(".khgeo-batch-form select[name=stage]").count() == 1
    box = panel.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, "the panel fits the screen"
    assert watch.errors == []


def test_selected_parcels_get_their_stage_in_one_request(server, watch):
    if not any(rule.rule == "/api/parcels/stage" for rule in server.app.url_map.iter_rules()):
        pytest.skip("POST /api/parcels/stage is not in this tree yet (issue 14, U1)")
    page = watch.page
    log_in(page, server, "admin")
    show_parcels(watch, server, zoom=17)
    open_legend(page)
    page.click("button.khgeo-parcel-select")
    middle = middle_parcel(server)
    west, south, east, north = middle.bounds
    x0, y0 = pixel_of(watch, west - (east - west) * 0.9, north + (north - south) * 0.9)
    x1, y1 = pixel_of(watch, east - (east - west) * 0.1, south + (north - south) * 0.1)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    panel = page.locator(".khgeo-parcel-panel")
    panel.wait_for()
    uids = panel.locator("ol.khgeo-parcel-list li").evaluate_all("els => els.map(e => e.dataset.uid)")
    assert len(uids) == 4
    before = versions(server, uids)
    # two of the four are paid already: plan_approved goes backwards for them (refused), forwards for the others
    page.select_option(".khgeo-batch-form select[name=stage]", "plan_approved")
    page.fill(".khgeo-batch-form input[name=document_number]", "15/QĐ-UBND")
    page.click(".khgeo-batch-form button[type=submit]")
    page.locator(".khgeo-batch-saved").wait_for()
    after = versions(server, uids)
    saved = {uid for uid in uids if after[uid][0] > before[uid][0]}
    assert all(after[uid][1] == "plan_approved" for uid in saved)
    result = page.locator(".khgeo-batch-result")
    assert f"{len(saved)} thửa đã được lưu." in result.inner_text()
    refused = result.locator(".khgeo-batch-conflicts li")
    assert set(refused.evaluate_all("els => els.map(e => e.dataset.uid)")) == set(uids) - saved
    assert {uid for uid in uids if before[uid][1] == "paid"} <= set(uids) - saved, "no stage goes backwards"
    assert watch.errors == []


def versions(server, uids) -> dict[str, tuple[int, str]]:
    with server.app.extensions["khgeo.db"].session() as session:
        rows = session.execute(
            text("SELECT uid, version, stage FROM parcels WHERE uid = ANY(:u)"), {"u": list(uids)}
        ).all()
    return {uid: (version, stage) for uid, version, stage in rows}


# -- issue 14's "done when", on the demo data ---------------------------------------------------------------------
DEMO_ZONE = "kcn-quang-chau"


@pytest.fixture(scope="module")
def demo_server(pg_cluster):
    from khgeo.services.parcels.demo import seed_demo_parcels
    from tests.conftest import new_database

    name = new_database(pg_cluster)
    live = LiveServer(make_app(pg_cluster.url(name), KHGEO_PUBLIC_READ=False))
    with live.app.extensions["khgeo.db"].session() as session:
        seed_demo_parcels(session, FROZEN_TODAY)
        session.commit()
    yield live
    live.stop()
    pg_cluster.drop_database(name)


def zone_figures(server, code: str) -> tuple[float | None, int]:
    with server.app.extensions["khgeo.db"].session() as session:
        row = session.execute(
            text("""SELECT z.clearance_pct, count(*) FILTER (WHERE p.stage = 'handed_over')
                    FROM zones z JOIN parcels p ON p.zone_id = z.id WHERE z.code = :c GROUP BY z.id"""),
            {"c": code},
        ).one()
    return (None if row[0] is None else float(row[0])), row[1]


def test_a_board_member_hands_over_parcels_of_quang_chau_from_the_map(demo_server, browser):
    """On the demo data: KCN Quang Châu's parcels by stage on the map, a box of them handed over in one go, and the
    zone's clearance percentage follows."""
    from tests.conftest import PageWatch

    server = demo_server
    with server.app.extensions["khgeo.db"].session() as session:
        lon, lat = session.execute(
            text("""SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(p.geom)) AS c FROM parcels p
                    JOIN zones z ON z.id = p.zone_id WHERE z.code = :c) s"""),
            {"c": DEMO_ZONE},
        ).one()
    pct_before, handed_before = zone_figures(server, DEMO_ZONE)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    watch = PageWatch(context.new_page())
    page = watch.page
    try:
        log_in(page, server, "admin")
        page.wait_for_selector("html[data-zones-ready]", state="attached", timeout=20_000)
        page.evaluate(
            "([lat, lon]) => window[document.querySelector('.folium-map').id].setView([lat, lon], 16, {animate: false})",
            [lat, lon],
        )
        page.wait_for_selector("html[data-parcels-ready]", state="attached", timeout=20_000)
        assert int(page.evaluate("() => document.documentElement.dataset.parcelsCount")) > 0
        open_legend(page)
        page.click("button.khgeo-parcel-select")
        box = page.locator(".folium-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx - 150, cy - 100)
        page.mouse.down()
        page.mouse.move(cx + 150, cy + 100, steps=6)
        page.mouse.up()
        panel = page.locator(".khgeo-parcel-panel")
        panel.wait_for()
        listed = panel.locator("ol.khgeo-parcel-list li").count()
        assert listed >= 5, "a box of parcels at zoom 16"
        page.select_option(".khgeo-batch-form select[name=stage]", "handed_over")
        page.fill(".khgeo-batch-form input[name=document_number]", "22/BB-BGMB")
        page.click(".khgeo-batch-form button[type=submit]")
        page.locator(".khgeo-batch-saved").wait_for()
        saved_text = page.locator(".khgeo-batch-saved").inner_text()
        saved = int(saved_text.split()[0])
        pct_after, handed_after = zone_figures(server, DEMO_ZONE)
        assert saved >= 5 and handed_after == handed_before + saved
        assert pct_before is not None and pct_after is not None and pct_after > pct_before, (
            "the zone's clearance follows its parcels"
        )
        page.wait_for_selector("html[data-parcels-ready]", state="attached", timeout=20_000)
        assert watch.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("size", VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def test_a_zone_page_shows_its_parcels_by_stage(demo_server, browser, size):
    from tests.conftest import PageWatch

    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="vi-VN")
    watch = PageWatch(context.new_page())
    try:
        log_in(watch.page, demo_server, "viewer")
        watch.page.goto(f"{demo_server.url}/zones/{DEMO_ZONE}")
        watch.page.wait_for_selector("html[data-parcels-ready]", state="attached", timeout=20_000)
        assert int(watch.page.evaluate("() => document.documentElement.dataset.parcelsCount")) > 100
        legend = box_of(watch.page.locator(".khgeo-parcels-legend"))
        map_box = box_of(watch.page.locator(".folium-map"))
        assert legend["y"] >= map_box["y"] + map_box["height"] - 1, "under the small map: it hides no parcel"
        assert watch.errors == []
    finally:
        context.close()
