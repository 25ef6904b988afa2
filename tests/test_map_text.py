"""What users type reaches a map as text: branca never evaluates it as a Jinja template (khgeo/geo/branca_text.py).

Before the fix, a zone named "{{ 7*7 }}" was shown as "49" on its page's map, and a name with "{%" made every
map page that drew it answer 500."""

from __future__ import annotations

import json
import re

import branca.element
import pytest

from khgeo.geo import mapbuilder  # noqa: F401  (installs the fix, as the app does)
from tests.conftest import LiveServer, PageWatch, make_app, new_database
from tests.helpers import make_zone

EXPRESSION = "CCN {{ 7*7 }} Tân"
STATEMENT = "CCN {% raw %} Hà"
COMMENT = "CCN {# note #} Sơn"


def _zones_in_script(body: str) -> set[str]:
    """The names in the data the zones layer embeds (khgeo.zonesLayer({...}))."""
    found = set()
    for options in re.findall(r"khgeo\.zonesLayer\((\{.*?\})\)\.addTo", body, flags=re.S):
        data = json.loads(options).get("data") or {"features": []}
        found |= {feature["properties"]["name"] for feature in data["features"]}
    return found


def test_names_with_template_syntax_are_shown_as_typed_on_every_map(app, db, client):
    with db.session() as session:
        make_zone(session, "ccn-expression", EXPRESSION, lon=106.20)
        make_zone(session, "ccn-statement", STATEMENT, lon=106.25)
        make_zone(session, "ccn-comment", COMMENT, lon=106.30)
    home = client.get("/")
    assert home.status_code == 200
    assert {EXPRESSION, STATEMENT, COMMENT} <= _zones_in_script(home.get_data(as_text=True))
    for code, name in (
        ("ccn-expression", EXPRESSION),
        ("ccn-statement", STATEMENT),
        ("ccn-comment", COMMENT),
    ):
        page = client.get(f"/zones/{code}")
        assert page.status_code == 200, code
        body = page.get_data(as_text=True)
        assert name in _zones_in_script(body), code
    assert "CCN 49 Tân" not in client.get("/zones/ccn-expression").get_data(as_text=True)


def test_branca_keeps_rendered_text_as_it_is_and_still_lays_out_its_own_children():
    """The fix depends on branca looking up ``Template`` in its module when an element is made from a string:
    if an upgrade stops doing so, this fails instead of the protection silently going away."""
    assert branca.element.Element("{{ 7*7 }} {% if x %}").render() == "{{ 7*7 }} {% if x %}"
    figure = branca.element.Figure()
    div = branca.element.Div()
    div.html.add_child(branca.element.Element("<p>{{ 1 + 1 }}</p>"))  # laid out by Div's own template
    figure.add_child(div)
    rendered = figure.render()
    assert re.search(r'<div id="div_\w+"><p>\{\{ 1 \+ 1 \}\}</p></div>', rendered), rendered


@pytest.fixture(scope="module")
def braces_server(pg_cluster):
    """A live server whose map holds a zone named with template syntax, far from the other zones."""
    name = new_database(pg_cluster)
    server = LiveServer(make_app(pg_cluster.url(name)))
    with server.app.extensions["khgeo.db"].session() as session:
        make_zone(session, "ccn-expression", EXPRESSION, lon=106.85, lat=21.35)
    yield server
    server.stop()
    pg_cluster.drop_database(name)


@pytest.mark.browser
@pytest.mark.parametrize("size", [(360, 740), (1366, 768)], ids=["phone", "laptop"])
def test_the_map_shows_the_name_as_typed_in_its_tooltip_on_phones_and_laptops(braces_server, browser, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        watch = PageWatch(context.new_page())
        watch.goto_map(braces_server.url + "/")
        shape = watch.page.locator("path.khgeo-zone-ccn-expression")
        shape.hover()
        tooltip = watch.page.locator(".leaflet-tooltip .khgeo-tooltip")
        tooltip.wait_for()
        assert EXPRESSION in tooltip.inner_text()
        found = tooltip.bounding_box()
        assert found is not None
        assert 0 <= found["x"] and found["x"] + found["width"] <= width, found
        assert 0 <= found["y"] and found["y"] + found["height"] <= height, found
        assert watch.page.evaluate("document.documentElement.scrollWidth") <= width
        assert watch.errors == []
    finally:
        context.close()
