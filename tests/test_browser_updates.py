"""Field updates in a real browser: a phone-sized form, a dropped connection, hostile text, the outline editor."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from khgeo.db import Database
from khgeo.services import accounts
from tests.conftest import LiveServer, PageWatch, make_app, new_database
from tests.helpers import PASSWORD, make_user, make_zone

pytestmark = pytest.mark.browser

# the worker is allowed: the save-without-a-network test needs it
PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "vi-VN", "service_workers": "allow"}
HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script> \"Ba\" 'Phú' &amp;"


def _serve(pg_cluster, prepare=None):
    name = new_database(pg_cluster)
    if prepare is not None:
        database = Database(pg_cluster.url(name))
        with database.session() as session:
            prepare(session)
        database.engine.dispose()
    return name, LiveServer(make_app(pg_cluster.url(name)))


@pytest.fixture(scope="module")
def server(pg_cluster):
    name, live = _serve(pg_cluster)
    yield live
    live.stop()
    pg_cluster.drop_database(name)


def _insert_hostile_zone(session) -> None:
    make_zone(session, "ccn-hostile", HOSTILE, developer=HOSTILE)


@pytest.fixture(scope="module")
def hostile_server(pg_cluster):
    name, live = _serve(pg_cluster, _insert_hostile_zone)
    yield live
    live.stop()
    pg_cluster.drop_database(name)


@pytest.fixture
def phone(browser):
    """A 360 px wide Vietnamese phone browser: (context, watched page)."""
    context = browser.new_context(**PHONE)
    watched = PageWatch(context.new_page())
    yield context, watched
    context.close()


def add_user(server: LiveServer, role: str, *, display_name: str = "") -> str:
    return make_user(server, role, display_name=display_name)


def log_in(page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def status_entries(server: LiveServer, code: str) -> int:
    with server.app.extensions["khgeo.db"].session() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM zone_updates WHERE kind = 'status' "
                "AND zone_id = (SELECT id FROM zones WHERE code = :code)"
            ),
            {"code": code},
        )


def zone_feature(server: LiveServer, code: str) -> dict:
    import requests

    return requests.get(f"{server.url}/api/zones/{code}", timeout=10).json()


def open_popup(watch: PageWatch, server: LiveServer, code: str):
    watch.goto_map(f"{server.url}/")
    watch.page.locator(f"path.khgeo-zone-{code}").click()
    popup = watch.page.locator(".leaflet-popup-content .popup")
    popup.wait_for()
    return popup


def test_field_user_updates_a_zone_from_a_phone(server, phone):
    code = "kcn-van-trung"
    _, watch = phone
    page = watch.page
    log_in(page, server, add_user(server, "field", display_name="Trần Văn Minh"))
    entries = status_entries(server, code)

    page.goto(f"{server.url}/zones/{code}")
    page.click(f"main a[href='/zones/{code}/update']")
    page.wait_for_url(f"{server.url}/zones/{code}/update")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no horizontal scrolling"
    save = page.locator("#update-form button[type=submit]")
    assert save.bounding_box()["height"] >= 44, "a thumb-sized Save button"

    page.fill("input[name=clearance_area_ha]", "200")
    page.fill("input[name=cleared_area_ha]", "150")
    page.fill("textarea[name=note]", "Đã bàn giao thêm 30 ha")
    save.click()
    page.wait_for_url(f"{server.url}/zones/{code}")

    newest = page.locator("ol.timeline > li").first
    assert re.search(r"— → 150([.,]0+)?$", newest.inner_text(), re.MULTILINE), "area cleared: old → new"
    assert "Đã bàn giao thêm 30 ha" in newest.inner_text()
    assert "Trần Văn Minh" in newest.inner_text()
    assert "75 % (150 / 200 ha)" in page.locator("table.figures").inner_text()
    assert status_entries(server, code) == entries + 1

    popup = open_popup(watch, server, code)
    assert "75 %" in popup.inner_text()
    assert watch.errors == []


def test_saving_the_form_in_the_browser_confirms_it_was_saved(server, phone):
    code = "kcn-dinh-tram"
    _, watch = phone
    page = watch.page
    log_in(page, server, add_user(server, "field"))
    page.goto(f"{server.url}/zones/{code}/update")
    page.fill("input[name=occupancy_pct]", "88")
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")
    assert zone_feature(server, code)["properties"]["occupancy_pct"] == 88, "the save itself went through"
    assert page.locator(".flash-success").count() == 1, "the user is told it was saved (Đã lưu.)"


def test_a_save_without_a_network_waits_on_the_phone_and_is_saved_once_back_online(server, phone):
    """Since the offline app (tests/test_browser_offline.py has the rest): the save waits in the phone's queue
    instead of failing, and goes out by itself when the network returns."""
    code = "kcn-quang-chau"
    context, watch = phone
    page = watch.page
    log_in(page, server, add_user(server, "field"))
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=30_000)
    entries = status_entries(server, code)

    page.goto(f"{server.url}/zones/{code}/update")
    typed = {
        "input[name=clearance_area_ha]": "300",
        "input[name=cleared_area_ha]": "123,45",
        "input[name=households_total]": "80",
        "input[name=households_agreed]": "64",
        "input[name=infrastructure_pct]": "35",
        "textarea[name=note]": "Gửi từ công trường, sóng yếu",
    }
    for selector, value in typed.items():
        page.fill(selector, value)
    page.select_option("select[name=wwtp_status]", "under_construction")

    context.set_offline(True)
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")
    page.wait_for_selector("html[data-queue='1']", state="attached")
    assert "Chờ gửi (1)" in page.locator("#khgeo-queue").inner_text()
    assert status_entries(server, code) == entries

    context.set_offline(False)
    page.wait_for_selector("html[data-queue='0']", state="attached", timeout=20_000)
    assert status_entries(server, code) == entries + 1, "saved exactly once"
    properties = zone_feature(server, code)["properties"]
    assert (properties["cleared_area_ha"], properties["wwtp_status"]) == (123.45, "under_construction")


def test_hostile_text_is_shown_as_text_in_popup_timeline_and_audit_log(hostile_server, page):
    import requests

    code = "ccn-hostile"
    admin = add_user(hostile_server, "admin")
    with hostile_server.app.extensions["khgeo.db"].session() as session:
        token = accounts.new_token(session, admin)
    saved = requests.patch(
        f"{hostile_server.url}/api/zones/{code}",
        json={"note": HOSTILE, "infrastructure_pct": 20, "as_of": "2026-11-20"},
        headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
        timeout=10,
    )
    assert saved.status_code == 200
    log_in(page.page, hostile_server, admin)

    popup = open_popup(page, hostile_server, code)
    assert HOSTILE in popup.inner_text()
    assert popup.locator("img, script").count() == 0

    page.page.goto(f"{hostile_server.url}/zones/{code}")
    assert HOSTILE in page.page.locator("h1").inner_text()
    note = page.page.locator("ol.timeline .note").first
    assert note.inner_text() == HOSTILE
    assert page.page.locator("ol.timeline img, ol.timeline script, main img[src=x]").count() == 0

    page.page.goto(f"{hostile_server.url}/admin/audit")
    logged = page.page.locator("table.audit .note").first
    assert logged.inner_text() == HOSTILE
    assert page.page.locator("table.audit img, table.audit script").count() == 0

    assert page.dialogs == [], "no script from the data ran"
    assert page.errors == []


def test_admin_draws_a_new_outline_in_the_editor(server, page):
    code = "kcn-viet-han"
    before = zone_feature(server, code)
    log_in(page.page, server, add_user(server, "admin"))

    page.page.goto(f"{server.url}/zones/{code}/geometry")
    page.page.wait_for_function("() => window.khgeo && window.khgeo.editor")
    assert page.page.locator(".leaflet-draw-toolbar").count() >= 1, "the Leaflet.draw toolbar is there"
    assert page.page.evaluate("khgeo.editor.group.getLayers().length") == 1, "the current outline is drawn"
    assert page.page.locator(".leaflet-overlay-pane path").count() >= 1

    rings = before["geometry"]["coordinates"][0][0]
    lon = sum(p[0] for p in rings) / len(rings)
    lat = sum(p[1] for p in rings) / len(rings)
    square = [
        [lat - 0.004, lon - 0.004],
        [lat - 0.004, lon + 0.004],
        [lat + 0.004, lon + 0.004],
        [lat + 0.004, lon - 0.004],
    ]
    page.page.evaluate(
        """square => {
            khgeo.editor.group.clearLayers();
            khgeo.editor.group.addLayer(L.polygon(square));
            khgeo.editor.write();
        }""",
        square,
    )
    written = json.loads(page.page.input_value("#geojson"))
    assert written["type"] == "MultiPolygon" and len(written["coordinates"]) == 1
    page.page.click("#outline-form button[type=submit]")
    page.page.wait_for_url(f"{server.url}/zones/{code}")

    assert page.page.locator(".flash-success").is_visible()
    after = zone_feature(server, code)["properties"]
    assert after["geometry_source"] == "surveyed"
    assert after["version"] == before["properties"]["version"] + 1
    assert page.errors == []
