"""Security headers that the pages actually satisfy, and error responses that never leak internals."""

from __future__ import annotations

import re

import pytest

from khgeo.services import accounts
from tests.conftest import TEST_TILES_URL
from tests.helpers import csrf_of


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/", "/api/zones", "/zones/kcn-quang-chau", "/healthz", "/zones/nope"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = csp(response)
    assert "'nonce-" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert TEST_TILES_URL.split("/{z}")[0] in policy["img-src"]  # the basemap, and no other host
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_inline_scripts_carry_this_responses_nonce(client):
    response = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    executable = [attrs for attrs in inline if "application/json" not in attrs]
    assert executable, "the map script is inline"
    assert all(f'nonce="{nonce}"' in attrs for attrs in executable)
    assert client.get("/").headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]


@pytest.mark.browser
def test_pages_show_no_csp_violation_in_the_browser(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    try:
        for path in (
            "/",
            "/?kind=CCN&wwtp=none",
            "/zones/ccn-doan-bai",
            "/tasks/II.3.1.2",
            "/planning",
            "/tasks",
        ):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
        page.goto(live_server.url + "/")
        page.wait_for_selector("html[data-zones-ready]", state="attached")
        page.locator("path.khgeo-zone-ccn-doan-bai").click()
        page.locator(".leaflet-popup-content .popup").wait_for()
        page.locator(".leaflet-draw-draw-polygon").click()  # the measuring tool starts
        assert violations == []
    finally:
        context.close()


def _junk_urls(app) -> list[tuple[str, str]]:
    junk = {
        "code": "x'\"<>%00",
        "task_id": "../../etc",
        "agency_code": "ZZZ",
        "photo_id": "999999",
        "year": "1999",
        "fmt": "exe",
        "view": "nope",
        "filename": "../app.py",
        "collection_id": "nope",
        "feature_id": "nope",
    }
    requests = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for name in rule.arguments:
            value = junk.get(name, "nope")
            if "int:" in path and name in ("photo_id", "year"):
                path = re.sub(rf"<int:{name}>", "999999" if name == "photo_id" else "1999", path)
            else:
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", value, path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}) + ["DELETE", "PUT"]:
            requests.append((method, path + "?bbox=a&limit=-1&offset=x&year=abc&days=0&kind=%00&crs=zzz"))
    return requests


def test_no_error_response_leaks_internals(app, db):
    with db.session() as session:
        accounts.create_user(session, "boss", "correct horse battery", "admin")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = csrf_of(page)
    client.post("/login", data={"username": "boss", "password": "correct horse battery", "csrf_token": token})
    for method, url in _junk_urls(app):
        for body in (None, b"{not json", b'{"cleared_area_ha": "NaN"}'):
            response = client.open(
                url, method=method, data=body, headers={"Content-Type": "application/json", "If-Match": '"1"'}
            )
            text = response.get_data(as_text=True)
            assert response.status_code < 500, (method, url, response.status_code, text[:300])
            assert "Traceback" not in text and 'File "' not in text and "sqlalchemy" not in text.lower(), (
                method,
                url,
            )
