"""A zone name containing markup or quotes is shown as text everywhere: list, tooltip, popup, zone page, JSON."""

from __future__ import annotations

import pytest

from khgeo.db import Database
from tests.conftest import LiveServer, make_app, new_database
from tests.helpers import make_zone

HOSTILE = """<script>alert("xss")</script><img src=x onerror=alert(1)> "Ba" 'Phú' </script><!--"""


@pytest.fixture(scope="module")
def hostile_server(pg_cluster):
    name = new_database(pg_cluster)
    database = Database(pg_cluster.url(name))
    with database.session() as session:
        make_zone(
            session,
            "ccn-hostile",
            HOSTILE,
            aliases=[HOSTILE],
            note=HOSTILE,
            developer=HOSTILE,
            notes=HOSTILE,
        )
    database.engine.dispose()
    server = LiveServer(make_app(pg_cluster.url(name)))
    yield server
    server.stop()
    pg_cluster.drop_database(name)


def test_json_carries_the_name_verbatim(hostile_server):
    import requests

    feature = requests.get(hostile_server.url + "/api/zones/ccn-hostile", timeout=10).json()
    assert feature["properties"]["name"] == HOSTILE


def test_server_html_escapes_the_name(hostile_server):
    import requests

    for path in ("/", "/zones/ccn-hostile", "/zones/ccn-hostile/popup"):
        html = requests.get(hostile_server.url + path, timeout=10).text
        assert '<script>alert("xss")' not in html, path
        assert "<img src=x" not in html, path
    # inside the map's <script>, the embedded JSON cannot close the script element
    assert "</script><img" not in requests.get(hostile_server.url + "/", timeout=10).text


@pytest.mark.browser
def test_browser_shows_markup_as_text_in_list_tooltip_popup_and_page(hostile_server, page):
    page.goto_map(hostile_server.url + "/")
    list_item = page.page.locator(".zone-list li[data-code=ccn-hostile]")
    assert HOSTILE.strip() in list_item.inner_text()

    shape = page.page.locator("path.khgeo-zone-ccn-hostile")
    shape.hover()
    tooltip = page.page.locator(".leaflet-tooltip .khgeo-tooltip")
    tooltip.wait_for()
    assert HOSTILE.strip() in tooltip.inner_text()

    shape.click()
    popup = page.page.locator(".leaflet-popup-content .popup")
    popup.wait_for()
    assert HOSTILE.strip() in popup.inner_text()
    assert page.page.locator(".leaflet-popup-content img").count() == 0

    page.goto_map(hostile_server.url + "/zones/ccn-hostile")
    assert HOSTILE.strip() in page.page.locator("h1").inner_text()
    assert page.page.locator("main img[src=x]").count() == 0
    assert page.dialogs == [], "no script from the data ran"
    assert page.errors == []
