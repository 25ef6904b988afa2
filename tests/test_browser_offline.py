"""Field work without a signal: the installable app (manifest, worker), the user's area kept on the phone, the
queue of updates saved offline and sent once when the network returns, conflicts, and nothing left for the next
user. Chromium with its network switched off (context.set_offline), on one live server for the module."""

from __future__ import annotations

import pytest
from PIL import Image
from sqlalchemy import text

from tests.conftest import LiveServer, PageWatch, make_app, new_database
from tests.helpers import PASSWORD, make_user

PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "vi-VN"}
FIELD_ZONES = ("kcn-van-trung", "kcn-quang-chau", "kcn-dinh-tram")  # Việt Yên: the field users' district
OTHER_DISTRICT_ZONE = "ccn-doan-bai"
# reports a Content-Security-Policy violation as a console error (PageWatch collects them)
CSP_PROBE = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(pg_cluster):
    name = new_database(pg_cluster)
    live = LiveServer(make_app(pg_cluster.url(name), KHGEO_PUBLIC_READ=False))
    live.hits = []  # every path the server was asked for: offline, the phone must ask it nothing
    inner = live.app.wsgi_app

    def recording(environ, start_response):
        live.hits.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    live.app.wsgi_app = recording
    yield live
    live.stop()
    pg_cluster.drop_database(name)


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    context.add_init_script(CSP_PROBE)
    watched = PageWatch(context.new_page())
    yield context, watched
    context.close()


def _sql(server: LiveServer, query: str, **params):
    with server.app.extensions["khgeo.db"].session() as session:
        return session.execute(text(query), params).all()


def status_rows(server: LiveServer, code: str) -> list[tuple[int, int]]:
    """(entry id, number of photos) of the zone's field updates."""
    return [
        tuple(row)
        for row in _sql(
            server,
            "SELECT u.id, (SELECT count(*) FROM photos p WHERE p.update_id = u.id) FROM zone_updates u "
            "WHERE u.kind = 'status' AND u.zone_id = (SELECT id FROM zones WHERE code = :code) ORDER BY u.id",
            code=code,
        )
    ]


def user_id(server: LiveServer, username: str) -> int:
    return _sql(server, "SELECT id FROM users WHERE username = :u", u=username)[0][0]


def photo_file(tmp_path, name: str = "site.jpg"):
    path = tmp_path / name
    Image.new("RGB", (3000, 2000), (180, 120, 60)).save(path, "JPEG", quality=90)
    return path


def log_in(page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def wait_ready(page) -> None:
    """The worker controls the page and the user's area is on the phone."""
    page.wait_for_function(
        "navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=20_000
    )
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=30_000)


def wait_queue(page, count: int) -> None:
    page.wait_for_selector(f"html[data-queue='{count}']", state="attached", timeout=20_000)


STORAGE = """async () => ({
  caches: await caches.keys(),
  databases: (await indexedDB.databases()).map(d => d.name),
  kept: await Promise.all((await caches.keys()).filter(n => n.startsWith('khgeo-u')).map(async n =>
    (await (await caches.open(n)).keys()).map(r => new URL(r.url).pathname))),
})"""


def save_offline(page, server: LiveServer, code: str, note: str, photo) -> None:
    page.goto(f"{server.url}/zones/{code}")
    page.click(f"main a[href='/zones/{code}/update']")
    page.wait_for_url(f"{server.url}/zones/{code}/update")
    page.fill("input[name=infrastructure_pct]", "41")
    page.fill("textarea[name=note]", note)
    page.set_input_files("input[name=photos]", str(photo))
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")


def test_three_zones_updated_offline_on_a_phone_arrive_once_with_their_photos(server, phone, tmp_path):
    context, watch = phone
    page = watch.page
    log_in(page, server, make_user(server, "field"))
    wait_ready(page)
    before = {code: status_rows(server, code) for code in FIELD_ZONES}

    context.set_offline(True)
    server.hits.clear()
    page.reload()
    assert page.locator(".zone-list").count() == 1, "the map page opens without a network"
    assert "Ngoại tuyến" in page.locator("#khgeo-offline-banner").inner_text()
    for number, code in enumerate(FIELD_ZONES, start=1):
        save_offline(page, server, code, f"Ghi ngoại tuyến {number}", photo_file(tmp_path, f"{code}.jpg"))
        wait_queue(page, number)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no horizontal scrolling"
        if number == 1:
            page.reload()  # the queue survives a reload without a network
            wait_queue(page, 1)
    indicator = page.locator("#khgeo-queue")
    assert indicator.inner_text().startswith("Chờ gửi (3)")
    box = indicator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (
        "the indicator fits the phone"
    )
    assert {code: status_rows(server, code) for code in FIELD_ZONES} == before, "nothing reached the server"
    assert server.hits == [], "every page came from the phone"

    context.set_offline(False)
    wait_queue(page, 0)
    for code in FIELD_ZONES:
        new_rows = status_rows(server, code)[len(before[code]) :]
        assert len(new_rows) == 1, f"{code}: exactly one new history row"
        assert new_rows[0][1] == 1, f"{code}: with its photo"
    page.reload()
    assert page.locator("#khgeo-queue").is_hidden(), "nothing waits any more"
    # the photo was made smaller on the phone before it waited in the queue
    width = _sql(
        server,
        "SELECT p.width FROM photos p JOIN zone_updates u ON u.id = p.update_id "
        "JOIN zones z ON z.id = u.zone_id WHERE z.code = :code ORDER BY p.id DESC LIMIT 1",
        code=FIELD_ZONES[0],
    )[0][0]
    assert width <= 2048
    assert [e for e in watch.errors if "CSP" in e or "Content Security Policy" in e or "pageerror" in e] == []
