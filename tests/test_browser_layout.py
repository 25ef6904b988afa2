"""Phones and laptops: the map, the zone page and the small maps in a real browser at 360×740 and 1366×768,
asserted with bounding boxes; Leaflet's own texts in Vietnamese."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from khgeo.models import Task, Zone
from tests.conftest import PageWatch
from tests.helpers import add_user
from tests.test_browser_updates import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 768}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(LAPTOP, id="laptop")]
LONG_POPUP_ZONE = "kcn-quang-chau"  # many plan tasks: its popup is taller than a phone's map


@pytest.fixture
def sized(browser, request):
    """A Vietnamese browser page of the size given by the test's ``size`` parameter."""
    context = browser.new_context(viewport=request.param, locale="vi-VN")
    watched = PageWatch(context.new_page())
    yield watched
    context.close()


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not displayed"
    return found


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def open_popup(page, code: str) -> None:
    """Open a zone's popup as a click would (a zone is a few pixels wide at province scale on a phone)."""
    page.evaluate(
        """code => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            map.eachLayer(l => { if (l.feature && l.feature.properties.code === code) { l.openPopup(); } });
        }""",
        code,
    )
    page.locator(".leaflet-popup-content .popup .popup-actions").wait_for()
    page.wait_for_timeout(700)  # the popup's pan into view is animated


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_a_zone_popup_fits_in_the_map_with_its_name_and_actions_in_view(live_server, sized):
    user = add_user(live_server, "admin")
    log_in(sized.page, live_server, user)
    sized.goto_map(live_server.url + "/")
    page = sized.page
    open_popup(page, LONG_POPUP_ZONE)
    map_box = box(page.locator(".folium-map"))
    popup_box = box(page.locator(".leaflet-popup-content-wrapper"))
    assert inside(popup_box, map_box), (popup_box, map_box)
    title = page.locator(".popup .popup-title")
    assert "KCN Quang Châu" in title.inner_text()
    update = page.get_by_role("link", name="Cập nhật hiện trạng")
    details = page.get_by_role("link", name=re.compile("Xem thông tin chi tiết"))
    for part in (title, update, details):
        assert inside(box(part), popup_box) and inside(box(part), map_box), part
    body = page.locator(".popup .popup-body")
    assert body.evaluate("el => getComputedStyle(el).overflowY") == "auto"
    # no control lies on top of the popup
    for control in page.locator(".leaflet-control").all():
        if control.is_visible():
            assert not overlap(box(control), popup_box), control.get_attribute("class")
    assert sized.errors == []


@pytest.mark.parametrize("sized", [pytest.param(PHONE, id="phone")], indirect=True)
def test_on_a_phone_the_zone_list_is_one_tap_away_and_scrolls(live_server, sized):
    sized.goto_map(live_server.url + "/")
    page = sized.page
    zone_list = page.locator(".zone-list")
    assert not zone_list.is_visible()  # the map has the screen first
    page.locator(".view-switch button[data-view=list]").click()
    assert zone_list.is_visible()
    list_box = box(zone_list)
    assert inside(list_box, {"x": 0, "y": 0, **PHONE})
    assert zone_list.evaluate("el => el.scrollHeight > el.clientHeight")
    zone_list.hover()
    page.mouse.wheel(0, 600)
    page.wait_for_function("() => document.querySelector('.zone-list').scrollTop > 0")
    page.locator(".view-switch button[data-view=map]").click()
    assert page.locator(".folium-map").is_visible() and not zone_list.is_visible()


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_the_zone_page_never_scrolls_sideways_and_the_header_stays_small(live_server, sized):
    page = sized.page
    viewport = page.viewport_size
    sized.goto_map(f"{live_server.url}/zones/{LONG_POPUP_ZONE}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"]
    header = box(page.locator("header.topbar"))
    assert header["height"] <= 0.2 * viewport["height"]
    if viewport == PHONE:
        menu = page.locator(".menu-toggle")
        assert menu.is_visible() and not page.locator("#site-nav").is_visible()
        menu.click()
        assert (
            page.get_by_role("link", name="Kế hoạch", exact=False).first.is_visible()
            or page.locator("#site-nav a").first.is_visible()
        )
    sized.goto_map(live_server.url + "/")
    assert box(page.locator("header.topbar"))["height"] <= 0.2 * viewport["height"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"]


def _task_with_located_zone(server) -> tuple[str, str]:
    with server.app.extensions["khgeo.db"].session() as session:
        task = session.scalars(
            select(Task).where(Task.zones.any(Zone.geom.is_not(None))).order_by(Task.id)
        ).first()
        zone = next(zone for zone in task.zones if zone.geom is not None)
        return task.id, zone.code


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_legends_of_small_maps_never_hide_a_zone(live_server, sized):
    task_id, task_zone = _task_with_located_zone(live_server)
    pages = [
        (f"/zones/{LONG_POPUP_ZONE}", f"path.khgeo-zone-{LONG_POPUP_ZONE}"),
        (f"/tasks/{task_id}", f"path.khgeo-zone-{task_zone}"),
        ("/planning", "path.khgeo-zone"),
    ]
    page = sized.page
    log_in(page, live_server, add_user(live_server, "planner"))  # tasks and planning are for logged-in users
    for url, zone_selector in pages:
        sized.goto_map(live_server.url + url)
        legend = page.locator(
            ".khgeo-legend:not(.khgeo-parcels-legend)"
        )  # the zones'; a zone page adds the parcels'
        assert legend.count() == 1 and legend.is_visible(), url
        legends = [box(legend)] + [box(other) for other in page.locator(".khgeo-parcels-legend").all()]
        for zone in page.locator(zone_selector).all():
            assert not any(overlap(box(zone), legend_box) for legend_box in legends), url
    assert sized.errors == []


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_text_boxes_use_the_page_font(live_server, sized):
    user = add_user(live_server, "admin")
    log_in(sized.page, live_server, user)
    page = sized.page
    page.goto(f"{live_server.url}/zones/{LONG_POPUP_ZONE}/update")
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    fields = page.locator("main input:not([type=hidden]):not([type=file]), main textarea, main select")
    assert fields.count() >= 3
    fonts = set(fields.evaluate_all("els => els.map(e => getComputedStyle(e).fontFamily)"))
    assert fonts == {body_font}
    assert page.locator("main textarea").count() >= 1
    # the photo field offers the gallery as well as the camera
    photos = page.locator("input[type=file][name=photos]")
    assert photos.get_attribute("accept") == "image/*" and photos.get_attribute("capture") is None


def test_map_controls_speak_vietnamese_with_vietnamese_numbers(live_server, page):
    page.goto_map(live_server.url + "/")
    p = page.page
    titles = {
        "zoom in": p.locator(".leaflet-control-zoom-in").get_attribute("title"),
        "zoom out": p.locator(".leaflet-control-zoom-out").get_attribute("title"),
        "layers": p.locator(".leaflet-control-layers-toggle").get_attribute("title"),
        "locate": p.locator(".leaflet-control-locate a").get_attribute("title"),
        "fullscreen": p.locator(
            ".leaflet-control-zoom-fullscreen, .leaflet-fullscreen-control a, a.fullscreen-icon"
        ).first.get_attribute("title"),
        "minimap": p.locator(".leaflet-control-minimap-toggle-display").get_attribute("title"),
        "polyline": p.locator(".leaflet-draw-draw-polyline").get_attribute("title"),
        "polygon": p.locator(".leaflet-draw-draw-polygon").get_attribute("title"),
    }
    assert titles == {
        "zoom in": "Phóng to",
        "zoom out": "Thu nhỏ",
        "layers": "Lớp bản đồ",
        "locate": "Vị trí của tôi",
        "fullscreen": "Toàn màn hình",
        "minimap": "Hiện bản đồ nhỏ",
        "polyline": "Đo khoảng cách",
        "polygon": "Đo diện tích",
    }
    # the drawing toolbar's own texts and its measurements
    p.locator(".leaflet-draw-draw-polygon").click()
    actions = p.locator(".leaflet-draw-actions a").all_inner_texts()
    assert "Hủy" in actions and not {"Cancel", "Finish", "Delete last point"} & set(actions)
    assert p.evaluate("L.GeometryUtil.readableArea(1234.5)") == "1.234,5 m²"
    assert p.evaluate("L.GeometryUtil.readableArea(123456)") == "12,35 ha"
    assert p.evaluate("L.GeometryUtil.readableDistance(1234.5)") == "1,23 km"
    assert page.errors == []


def test_legend_counts_zones_without_a_figure_and_hatches_them(live_server, page):
    collection = requests.get(f"{live_server.url}/api/zones", timeout=10).json()
    without = sum(1 for f in collection["features"] if f["properties"]["clearance_pct"] is None)
    assert without > 0
    page.goto_map(live_server.url + "/?color=clearance")
    legend = page.page.locator(".khgeo-legend")
    assert f"{without} khu chưa có số liệu" in legend.inner_text()
    assert (
        page.page.locator(".khgeo-legend .khgeo-swatch-hatch").count() == 2
    )  # no data; unfinished, no figure
    fills = page.page.locator("path.khgeo-zone").evaluate_all("els => els.map(e => e.getAttribute('fill'))")
    hatched = [fill for fill in fills if fill.startswith("url(#khgeo-hatch-")]
    located_without = sum(
        1 for f in collection["features"] if f["geometry"] and f["properties"]["clearance_pct"] is None
    )
    assert len(hatched) == located_without


def test_search_lists_a_zone_without_an_outline_as_having_no_location(live_server, page):
    page.goto_map(live_server.url + "/")
    p = page.page
    p.locator(".leaflet-control-search .search-button").click()
    p.locator(".leaflet-control-search input.search-input").type("dong dinh", delay=20)
    tip = p.locator(".leaflet-control-search .search-tip").filter(has_text="Đồng Đình").first
    tip.wait_for()
    assert tip.inner_text() == "CCN Đồng Đình — chưa có vị trí"
    tip.click()
    alert = p.locator(".leaflet-control-search .search-alert")
    alert.wait_for()
    assert "chưa có vị trí" in alert.inner_text()
    assert page.errors == []


def test_my_location_shows_the_nearest_zones_not_a_street(live_server, browser):
    here = {"latitude": 21.262, "longitude": 106.19}  # in Việt Yên, a few km from several zones
    context = browser.new_context(
        viewport=LAPTOP, locale="vi-VN", geolocation=here, permissions=["geolocation"]
    )
    try:
        watched = PageWatch(context.new_page())
        watched.goto_map(live_server.url + "/")
        p = watched.page
        p.evaluate(
            """() => { const map = Object.values(window).find(v => v instanceof L.Map);
                       window._khgeoMoved = 0; map.on('moveend', () => { window._khgeoMoved += 1; }); }"""
        )
        p.locator(".leaflet-control-locate a").click()
        p.wait_for_function("() => window._khgeoMoved > 0")
        p.wait_for_timeout(500)
        view = p.evaluate(
            """here => { const map = Object.values(window).find(v => v instanceof L.Map);
                         let near = 0;
                         map.eachLayer(l => { if (l.feature && l.feature.properties.code && l.getBounds
                             && map.getBounds().intersects(l.getBounds())) { near += 1; } });
                         return {zoom: map.getZoom(), contains: map.getBounds().contains([here.latitude, here.longitude]),
                                 near: near}; }""",
            here,
        )
        assert view["zoom"] <= 13
        assert view["contains"]
        assert view["near"] >= 3
    finally:
        context.close()


# pages this round added: the missing-data view, failed logins, retired zones, the account page, the zone form
NEW_PAGES = [
    ("/planning/missing", "Số liệu còn thiếu"),
    ("/admin/logins", None),
    ("/admin/zones/retired", None),
    ("/account", None),
    ("/zones/new", None),
    (f"/zones/{LONG_POPUP_ZONE}/edit", None),
    ("/admin/parcels/import", "Nhập thửa đất"),
    # this round's pages: reminders, successions, the parcels' timers and stage sheet, offline, grouping by unit
    ("/notifications", None),
    ("/notifications/settings", None),
    ("/admin/outbox", None),
    ("/admin/agencies/successions", None),
    ("/admin/parcel-timers", None),
    ("/offline", None),
    ("/parcels?q=1/1", None),
    (f"/zones/{LONG_POPUP_ZONE}/parcels/stages", None),
    ("/agencies/SCT", None),
    ("/planning?group=unit", None),
]


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_the_pages_added_for_the_board_fit_phones_and_laptops(live_server, sized):
    """In Vietnamese, no page scrolls sideways, its heading and its first table or form sit inside the width,
    and the header keeps to a fifth of the height."""
    page = sized.page
    viewport = page.viewport_size
    log_in(page, live_server, add_user(live_server, "admin"))
    for path, heading in NEW_PAGES:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        assert page.evaluate("document.documentElement.lang") == "vi", path
        assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"], path
        assert box(page.locator("header.topbar"))["height"] <= 0.2 * viewport["height"], path
        title = box(page.locator("main h1").first)
        assert title["x"] >= 0 and title["x"] + title["width"] <= viewport["width"] + 1, path
        if heading:
            assert heading in page.locator("main h1").first.inner_text(), path
        content = page.locator("main table, main form:not(.inline)").first
        if content.count():
            found = box(content)
            assert found["x"] >= 0 and found["x"] + found["width"] <= viewport["width"] + 1, path
    assert sized.errors == []
