"""The map in a real browser (Debian's chromium via Playwright), as an official or planner would use it."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer, make_app

pytestmark = pytest.mark.browser


def located_zone_codes(live_server, query: str = "") -> set[str]:
    import requests

    collection = requests.get(f"{live_server.url}/api/zones{query}", timeout=10).json()
    return {f["properties"]["code"] for f in collection["features"] if f["geometry"] is not None}


def test_map_draws_one_interactive_shape_per_zone_offline(live_server, page):
    page.goto_map(live_server.url + "/")
    expected = located_zone_codes(live_server)
    assert len(expected) == 23
    shapes = page.page.locator("path.khgeo-zone.leaflet-interactive")
    assert shapes.count() == len(expected)
    drawn = {
        cls.split("khgeo-zone-")[1].split()[0]
        for cls in shapes.evaluate_all("els => els.map(e => e.getAttribute('class'))")
    }
    assert drawn == expected
    assert page.page.locator(".khgeo-legend").is_visible()
    assert page.external_requests() == [], "only basemap tiles may leave loopback"
    assert page.errors == []


def test_clicking_a_zone_opens_its_popup_with_name_and_figures(live_server, page):
    page.goto_map(live_server.url + "/")
    page.page.locator("path.khgeo-zone-ccn-doan-bai").click()
    popup = page.page.locator(".leaflet-popup-content .popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "CCN Đoàn Bái" in text
    assert "40 %" in text  # infrastructure, as the plan states
    assert "Chưa có hệ thống XLNT tập trung" in text  # wastewater status, in Vietnamese by default
    assert "Ranh giới minh họa" in text or "minh họa" in text  # the outline is said to be illustrative
    assert "II.3.4" in text  # its plan task
    assert page.errors == []


def test_tooltip_shows_name_kind_and_indicator(live_server, page):
    page.goto_map(live_server.url + "/?color=infrastructure")
    page.page.locator("path.khgeo-zone-ccn-my-an").hover()
    tooltip = page.page.locator(".leaflet-tooltip .khgeo-tooltip")
    tooltip.wait_for()
    assert "CCN Mỹ An" in tooltip.inner_text()
    assert "60 %" in tooltip.inner_text()


def test_planners_filter_leaves_only_clusters_without_wastewater_treatment(live_server, page):
    page.goto_map(live_server.url + "/?kind=CCN&wwtp=none")
    shapes = page.page.locator("path.khgeo-zone")
    assert shapes.count() == 2  # Đoàn Bái and Mỹ An; Đồng Đình has no known location
    assert page.page.locator("path.khgeo-zone-ccn-doan-bai").count() == 1
    assert page.page.locator("path.khgeo-kind-kcn").count() == 0
    listed = page.page.locator(".zone-list li[data-code]")
    assert sorted(listed.evaluate_all("els => els.map(e => e.dataset.code)")) == [
        "ccn-doan-bai",
        "ccn-dong-dinh",
        "ccn-my-an",
    ]
    assert page.errors == []


def test_filter_form_round_trips_through_bookmarkable_url(live_server, page):
    page.goto_map(live_server.url + "/")
    page.page.select_option("select[name=kind]", "KCN")
    page.page.fill("input[name=q]", "hoa phu")
    page.page.click("form.filters button[type=submit]")
    page.page.wait_for_selector("html[data-zones-ready]", state="attached")
    assert "kind=KCN" in page.page.url and "q=hoa+phu" in page.page.url
    codes = page.page.locator(".zone-list li[data-code]").evaluate_all("els => els.map(e => e.dataset.code)")
    assert sorted(codes) == ["kcn-hoa-phu", "kcn-hoa-phu-mo-rong-gd1"]


def test_search_control_finds_zones_without_diacritics(live_server, page):
    page.goto_map(live_server.url + "/")
    page.page.locator(".leaflet-control-search .search-button").click()
    page.page.locator(".leaflet-control-search input.search-input").type("doan bai", delay=20)
    tip = page.page.locator(".leaflet-control-search .search-tip").first
    tip.wait_for()
    assert tip.inner_text() == "CCN Đoàn Bái"
    tip.click()
    page.page.locator(".leaflet-popup-content .popup").wait_for()
    assert "CCN Đoàn Bái" in page.page.locator(".leaflet-popup-content").inner_text()


def test_english_is_available(live_server, page):
    page.goto_map(live_server.url + "/?lang=en")
    assert "Wastewater treatment" in page.page.locator(".khgeo-legend").inner_text()
    page.goto_map(live_server.url + "/")  # the choice is remembered
    assert page.page.locator("html").get_attribute("lang") == "en"


def test_zone_page_shows_figures_small_map_and_tasks(live_server, page):
    page.goto_map(live_server.url + "/zones/kcn-quang-chau")
    body = page.page.locator("main").inner_text()
    assert "KCN Quang Châu" in body
    assert "426" in body and "31/10/2022" in body  # stated area and as-of date, dd/mm/yyyy
    assert page.page.locator("path.khgeo-zone").count() == 1
    assert page.page.locator(".tasks-table tr.overdue").count() >= 1
    assert page.errors == []


def test_large_maps_fetch_geojson_in_the_browser_with_the_canvas_renderer(module_database_url, page):
    server = LiveServer(make_app(module_database_url, KHGEO_EMBED_MAX_FEATURES=5))
    try:
        html = __import__("requests").get(server.url + "/", timeout=10).text
        assert '"url":"/api/zones?kind=KCN"' in html
        # the features are not embedded in the map script
        assert "Quang Châu" not in html.split("<script nonce=")[-1]
        page.goto_map(server.url + "/")
        assert page.page.evaluate("khgeo.drawn") == 23
        assert page.page.locator(".leaflet-overlay-pane canvas").count() >= 1
        assert page.page.locator("path.khgeo-zone").count() == 0
        assert any("/api/zones?kind=CCN" in url for url in page.requests)
        assert page.errors == []
    finally:
        server.stop()
