"""Field work without a signal: the installable app (manifest, worker), the user's area kept on the phone, the
queue of updates saved offline and sent once when the network returns, conflicts, and nothing left for the next
user. Chromium with its network switched off (context.set_offline), on one live server for the module."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import requests
from PIL import Image
from sqlalchemy import text

from tests.conftest import LiveServer, PageWatch, make_app, new_database
from tests.helpers import PASSWORD, add_token, client_as, make_user

PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "vi-VN", "service_workers": "allow"}
FIELD_ZONES = ("kcn-van-trung", "kcn-quang-chau", "kcn-dinh-tram")  # Việt Yên: the field users' district
OTHER_DISTRICT = "Hiệp Hòa"
OTHER_DISTRICT_ZONE = "ccn-doan-bai"  # in Hiệp Hòa
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


def photo_file(tmp_path, name: str = "site.jpg", orientation: int = 1):
    """A phone camera's photo: 3000 × 2000 as stored, with its GPS position (21.2917 N, 106.2 E) in Exif, and
    the Exif orientation (6: the phone was held upright, the photo is to be shown turned, 2000 × 3000)."""
    path = tmp_path / name
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 17.0, 30.0), 3: "E", 4: (106.0, 12.0, 0.0)})
    Image.new("RGB", (3000, 2000), (180, 120, 60)).save(path, "JPEG", quality=90, exif=exif)
    return path


def log_in(page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def wait_ready(page) -> None:
    """The worker is installed and knows the user, and the user's area is on the phone."""
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=30_000)
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => Boolean(r && r.active))")


def wait_queue(page, count: int) -> None:
    page.wait_for_selector(f"html[data-queue='{count}']", state="attached", timeout=20_000)


STORAGE = """async () => ({
  caches: await caches.keys(),
  databases: (await indexedDB.databases()).map(d => d.name),
  kept: await Promise.all((await caches.keys()).filter(n => n.startsWith('khgeo-u')).map(async n =>
    (await (await caches.open(n)).keys()).map(r => new URL(r.url).pathname))),
})"""


def settled_storage(page) -> dict:
    """What the browser keeps once the logout's clean-up is done (a few seconds at most)."""
    for _ in range(50):
        left = page.evaluate(STORAGE)
        if not [name for name in left["caches"] if name.startswith("khgeo-u")]:
            return left
        page.wait_for_timeout(100)
    return left


def save_offline(page, server: LiveServer, code: str, note: str, photo) -> None:
    page.goto(f"{server.url}/zones/{code}")
    page.click(f"main a[href='/zones/{code}/update']")
    page.wait_for_url(f"{server.url}/zones/{code}/update")
    page.fill("input[name=infrastructure_pct]", "41")
    page.fill("textarea[name=note]", note)
    page.set_input_files("input[name=photos]", str(photo))
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")


@pytest.mark.browser
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
        photo = photo_file(tmp_path, f"{code}.jpg", orientation=6 if number == 2 else 1)
        save_offline(page, server, code, f"Ghi ngoại tuyến {number}", photo)
        wait_queue(page, number)
        assert "đang chờ gửi" in page.locator("#khgeo-zone-waiting").inner_text(), "the zone page says so"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no horizontal scrolling"
        if number == 1:
            page.reload()  # the queue survives a reload without a network
            wait_queue(page, 1)
            # the photo waits already made smaller on the phone (the server would take up to 10 MB)
            size = page.evaluate(
                "khgeoQueue.all(khgeoOffline.userId).then(items => createImageBitmap(items[0].photos[0].blob))"
                ".then(bitmap => [bitmap.width, bitmap.height])"
            )
            assert size == [2048, 1365]
    indicator = page.locator("#khgeo-queue")
    assert indicator.inner_text().startswith("Chờ gửi (3)")
    box = indicator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (
        "the indicator fits the phone"
    )
    assert {code: status_rows(server, code) for code in FIELD_ZONES} == before, "nothing reached the server"
    # (Chromium's own update check of the worker script ignores the emulated offline state: not a page load)
    worker_check = {"/sw.js", "/static/js/offline/queue.js", "/static/js/offline/sync.js"}
    assert [hit for hit in server.hits if hit not in worker_check] == [], "every page came from the phone"

    context.set_offline(False)
    wait_queue(page, 0)
    for code in FIELD_ZONES:
        new_rows = status_rows(server, code)[len(before[code]) :]
        assert len(new_rows) == 1, f"{code}: exactly one new history row"
        assert new_rows[0][1] == 1, f"{code}: with its photo"
    page.reload()
    assert page.locator("#khgeo-queue").is_hidden(), "nothing waits any more"
    # the offline panel says what is kept, how big, and when; its button downloads again
    page.goto(f"{server.url}/offline")
    page.click("#offline-download")  # disabled while it downloads
    page.wait_for_selector("#offline-download:enabled")
    page.locator("#offline-stored", has_text=re.compile(r"Đã lưu \d+ trang")).wait_for()
    stored = page.locator("#offline-stored").inner_text()
    assert "KB" in stored or "MB" in stored
    assert page.locator("#offline-download").bounding_box()["width"] <= 360
    page.locator("#offline-stored", has_text="KB").or_(
        page.locator("#offline-stored", has_text="MB")
    ).wait_for()
    kept = {path for cache in page.evaluate(STORAGE)["kept"] for path in cache}
    assert len([path for path in kept if path.startswith("/photos/")]) >= 3, "the new photos' thumbnails too"
    # made smaller on the phone, the photo kept its GPS position
    width, lat, lon = _sql(
        server,
        "SELECT p.width, p.gps_lat, p.gps_lon FROM photos p JOIN zone_updates u ON u.id = p.update_id "
        "JOIN zones z ON z.id = u.zone_id WHERE z.code = :code ORDER BY p.id DESC LIMIT 1",
        code=FIELD_ZONES[0],
    )[0]
    assert width == 2048 and (round(lat, 4), round(lon, 4)) == (21.2917, 106.2)
    turned = _sql(
        server,
        "SELECT p.width, p.height FROM photos p JOIN zone_updates u ON u.id = p.update_id "
        "JOIN zones z ON z.id = u.zone_id WHERE z.code = :code ORDER BY p.id DESC LIMIT 1",
        code=FIELD_ZONES[1],
    )[0]
    assert tuple(turned) == (1365, 2048), "shown upright, turned once (not twice)"
    assert [e for e in watch.errors if "CSP" in e or "Content Security Policy" in e or "pageerror" in e] == []


def press_log_out(page) -> None:
    """The "Log out" button of the phone's menu."""
    if page.locator("#site-nav button[type=submit]").is_hidden():
        page.click(".menu-toggle")
    page.click("#site-nav button[type=submit]")


def csp_problems(watch: PageWatch) -> list[str]:
    return [e for e in watch.errors if "CSP" in e or "Content Security Policy" in e or "pageerror" in e]


def queue_offline(context, page, server: LiveServer, code: str, occupancy: str) -> None:
    """Open the zone's form from the phone's copy, without a network, and save: it waits in the queue."""
    context.set_offline(True)
    page.goto(f"{server.url}/zones/{code}/update")
    page.fill("input[name=occupancy_pct]", occupancy)
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")


@pytest.mark.browser
def test_a_queued_update_of_a_zone_changed_meanwhile_is_shown_beside_the_current_values(server, phone):
    code = "kcn-viet-han"
    context, watch = phone
    page = watch.page
    log_in(page, server, make_user(server, "field"))
    wait_ready(page)
    queue_offline(context, page, server, code, "77")
    wait_queue(page, 1)

    # meanwhile someone else saves the zone
    admin = make_user(server, "admin")
    version = requests.get(
        f"{server.url}/api/zones/{code}",
        headers={"Authorization": "Bearer " + add_token(server, admin)},
        timeout=10,
    ).json()["properties"]["version"]
    changed = requests.patch(
        f"{server.url}/api/zones/{code}",
        json={"occupancy_pct": 12, "infrastructure_pct": 33},
        headers={"Authorization": "Bearer " + add_token(server, admin), "If-Match": f'"{version}"'},
        timeout=10,
    )
    assert changed.status_code == 200
    before = status_rows(server, code)

    context.set_offline(False)
    page.wait_for_selector("#khgeo-queue.has-conflicts", timeout=20_000)
    assert status_rows(server, code) == before, "nothing overwritten silently"
    page.goto(f"{server.url}/offline")
    # shown at once with what the API says, then with every field as the zone's form writes it
    conflict = page.locator("#offline-queue li.state-conflict[data-current=form]")
    conflict.wait_for()
    table = conflict.locator("table.compare").inner_text()
    assert f"phiên bản {version + 1}" in table
    assert "12" in table and "77" in table, "the current value beside mine"
    box = conflict.locator("table.compare").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360

    conflict.locator("button[data-action=reapply]").click()
    wait_queue(page, 0)
    assert len(status_rows(server, code)) == len(before) + 1, "mine, once, on the new version"
    properties = requests.get(
        f"{server.url}/api/zones/{code}",
        headers={"Authorization": "Bearer " + add_token(server, admin)},
        timeout=10,
    ).json()["properties"]
    assert properties["occupancy_pct"] == 77, "mine"
    assert properties["infrastructure_pct"] == 33, "what the other save changed and I did not stays"
    assert csp_problems(watch) == []


@pytest.mark.browser
def test_a_queued_update_the_server_refuses_waits_with_its_message_and_goes_back_to_the_form(server, phone):
    code = "kcn-quang-chau"
    context, watch = phone
    page = watch.page
    log_in(page, server, make_user(server, "field"))
    wait_ready(page)
    queue_offline(context, page, server, code, "150")  # no percentage above 100: the server says so
    wait_queue(page, 1)
    before = status_rows(server, code)
    context.set_offline(False)
    page.wait_for_selector("#khgeo-queue.has-conflicts", timeout=20_000)
    page.goto(f"{server.url}/offline")
    refused = page.locator("#offline-queue li.state-invalid")
    assert "100" in refused.locator(".field-error").inner_text(), "the server's message"
    refused.locator("button[data-action=correct]").click()
    page.wait_for_url(f"{server.url}/zones/{code}/update")
    assert page.input_value("input[name=occupancy_pct]") == "150", "what was typed, back in the form"
    page.fill("input[name=occupancy_pct]", "50")
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")
    wait_queue(page, 0)
    assert len(status_rows(server, code)) == len(before) + 1
    assert csp_problems(watch) == []


@pytest.mark.browser
def test_background_sync_sends_the_queue_with_no_page_open(server, phone):
    """The worker sends the queue on its own (Background Sync, fired here through the DevTools protocol)."""
    code = FIELD_ZONES[0]
    context, watch = phone
    page = watch.page
    log_in(page, server, make_user(server, "field"))
    wait_ready(page)
    queue_offline(context, page, server, code, "47")
    wait_queue(page, 1)
    before = status_rows(server, code)
    devtools = context.new_cdp_session(page)
    registrations: list[str] = []
    devtools.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(r["registrationId"] for r in event["registrations"]),
    )
    devtools.send("ServiceWorker.enable")
    page.goto("about:blank")  # no khgeo page runs: only the worker can send
    context.set_offline(False)
    page.wait_for_timeout(300)
    assert registrations, "the worker is registered"
    devtools.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": server.url,
            "registrationId": registrations[-1],
            "tag": "khgeo-queue",
            "lastChance": False,
        },
    )
    for _ in range(100):
        if len(status_rows(server, code)) > len(before):
            break
        page.wait_for_timeout(100)
    assert len(status_rows(server, code)) == len(before) + 1, "sent by the worker, once"
    page.goto(f"{server.url}/offline")
    wait_queue(page, 0)
    assert csp_problems(watch) == []


@pytest.mark.browser
def test_logging_out_warns_about_unsent_updates_then_leaves_nothing_for_the_next_user(server, browser):
    context = browser.new_context(**PHONE)
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    dialogs: list[str] = []
    try:
        first = make_user(server, "field")
        log_in(page, server, first)
        wait_ready(page)
        first_id = user_id(server, first)
        queue_offline(context, page, server, FIELD_ZONES[0], "55")
        wait_queue(page, 1)
        kept = page.evaluate(STORAGE)
        assert f"khgeo-u{first_id}" in kept["caches"] and f"khgeo-queue-u{first_id}" in kept["databases"]

        # still without a network: the warning first; "Cancel" keeps everything
        page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        press_log_out(page)
        page.wait_for_timeout(300)
        assert dialogs and "1 cập nhật" in dialogs[0]
        wait_queue(page, 1)

        context.set_offline(False)
        # the queue goes out on the online event; make a new one stay (refused: waits for the user)
        wait_queue(page, 0)
        page.evaluate(
            "khgeoQueue.add(khgeoOffline.userId, {zone: 'x', zoneName: 'x', action: '/zones/x/update', fields: {},"
            " photos: [], version: 1}).then(item => { item.state = 'invalid'; return khgeoQueue.put(khgeoOffline.userId, item); })"
        )
        page.reload()
        wait_queue(page, 1)
        page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        press_log_out(page)
        page.wait_for_url(f"{server.url}/login")
        assert len(dialogs) == 2
        left = settled_storage(page)
        assert not [name for name in left["caches"] if name.startswith("khgeo-u")], "the kept pages are gone"
        assert not [name for name in left["databases"] if name.startswith("khgeo-queue")], "so is the queue"

        second = make_user(server, "field", districts=[OTHER_DISTRICT])
        log_in(page, server, second)
        wait_ready(page)
        now = page.evaluate(STORAGE)
        assert f"khgeo-u{first_id}" not in now["caches"]
        assert f"khgeo-queue-u{first_id}" not in now["databases"]
        paths = {path for cache in now["kept"] for path in cache}
        assert f"/zones/{OTHER_DISTRICT_ZONE}" in paths, "the second user's own area is kept"
        assert not [path for path in paths if any(code in path for code in FIELD_ZONES)], (
            "none of the first's"
        )
    finally:
        context.close()


@pytest.mark.browser
def test_a_browser_that_refuses_the_worker_logs_out_without_waiting_for_it(server, browser):
    """Private windows and locked-down browsers refuse service workers. Logging out asks the worker to forget the
    user, with a 5-second fallback for a worker that never answers; a refused worker must not cost that wait. The
    page's clock is frozen, so the fallback timer can never fire: the logout goes through only if nobody waits."""
    context = browser.new_context(viewport=PHONE["viewport"], locale="vi-VN", service_workers="block")
    try:
        page = context.new_page()
        log_in(page, server, make_user(server, "field"))
        page.clock.install()
        page.clock.pause_at(dt.datetime.now() + dt.timedelta(minutes=1))
        press_log_out(page)
        page.wait_for_url(re.compile(r".*/login$"), timeout=10_000)
        assert page.evaluate("navigator.serviceWorker.controller") is None
    finally:
        context.close()


@pytest.mark.browser
def test_another_account_signing_in_on_the_phone_drops_the_first_ones_pages(server, phone):
    context, watch = phone
    page = watch.page
    first = make_user(server, "field")
    log_in(page, server, first)
    wait_ready(page)
    first_id = user_id(server, first)
    assert f"khgeo-u{first_id}" in page.evaluate(STORAGE)["caches"]
    # the district is taken away from the user: its zones leave the phone at the next opening
    _sql_write(
        server,
        "UPDATE user_districts SET district_id = (SELECT district_id FROM zones WHERE code = :zone) WHERE user_id = :id",
        zone=OTHER_DISTRICT_ZONE,
        id=first_id,
    )
    page.evaluate("document.documentElement.removeAttribute('data-offline-ready')")
    page.reload()
    wait_ready(page)
    paths = {path for cache in page.evaluate(STORAGE)["kept"] for path in cache}
    assert f"/zones/{OTHER_DISTRICT_ZONE}" in paths
    assert not [path for path in paths if any(code in path for code in FIELD_ZONES)]
    context.clear_cookies()  # the session ends without a logout (expired, or the cookie was cleared)
    log_in(page, server, make_user(server, "field", districts=[OTHER_DISTRICT]))
    wait_ready(page)
    assert f"khgeo-u{first_id}" not in page.evaluate(STORAGE)["caches"]
    assert csp_problems(watch) == []


@pytest.mark.browser
def test_a_session_that_expired_while_offline_asks_for_the_password_then_sends(server, phone):
    code = FIELD_ZONES[1]
    context, watch = phone
    page = watch.page
    username = make_user(server, "field")
    log_in(page, server, username)
    wait_ready(page)
    queue_offline(context, page, server, code, "66")
    wait_queue(page, 1)
    # a second save of the same zone, typed over the same stored form: it builds on the first
    page.goto(f"{server.url}/zones/{code}/update")
    page.fill("input[name=infrastructure_pct]", "29")
    page.click("#update-form button[type=submit]")
    page.wait_for_url(f"{server.url}/zones/{code}")
    wait_queue(page, 2)
    before = status_rows(server, code)
    _sql_write(server, "DELETE FROM user_sessions WHERE user_id = :id", id=user_id(server, username))

    context.set_offline(False)
    link = page.locator("#khgeo-offline-banner a")
    link.wait_for(timeout=20_000)
    assert "đăng nhập lại" in page.locator("#khgeo-offline-banner").inner_text().lower()
    assert status_rows(server, code) == before
    link.click()
    page.wait_for_url(f"{server.url}/login**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/offline")
    wait_queue(page, 0)
    assert len(status_rows(server, code)) == len(before) + 2, "both, once each"
    properties = requests.get(
        f"{server.url}/api/zones/{code}",
        headers={"Authorization": "Bearer " + add_token(server, make_user(server, "admin"))},
        timeout=10,
    ).json()["properties"]
    assert (properties["occupancy_pct"], properties["infrastructure_pct"]) == (66, 29), (
        "the second kept the first"
    )
    assert csp_problems(watch) == []


def _sql_write(server: LiveServer, query: str, **params) -> None:
    with server.app.extensions["khgeo.db"].session() as session:
        session.execute(text(query), params)
        session.commit()


# -- what the server says, without a browser -----------------------------------------------------------------
def test_the_manifest_names_the_app_in_vietnamese_with_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert "Bắc Giang" in manifest["name"] and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["theme_color"].startswith("#")
    for icon in manifest["icons"][:2]:
        image = client.get(icon["src"])
        assert image.status_code == 200
        size = Image.open(io.BytesIO(image.data)).size
        assert f"{size[0]}x{size[1]}" == icon["sizes"]


def test_the_worker_is_served_from_the_root_under_the_same_strict_policy(app):
    app.config["KHGEO_PUBLIC_READ"] = False
    response = app.test_client().get("/sw.js")  # before logging in: the login page registers it too
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in policy and "worker-src 'self'" in policy
    first_line = response.get_data(as_text=True).split("\n", 1)[0]
    shell = json.loads(first_line.removeprefix("self.KHGEO = ").removesuffix(";"))
    assert "/static/css/khgeo.css" in shell["shell"] and "/static/js/update-form.js" in shell["shell"]


def test_only_the_users_own_area_is_marked_for_keeping(app):
    field = client_as(app, "field")
    own = field.get("/zones/kcn-van-trung")
    assert own.headers["X-Khgeo-Offline"] == "keep" and own.headers["X-Khgeo-User"].isdigit()
    assert field.get("/zones/kcn-van-trung/update").headers.get("X-Khgeo-Offline") == "keep"
    assert "X-Khgeo-Offline" not in field.get(f"/zones/{OTHER_DISTRICT_ZONE}").headers, (
        "another district's zone"
    )
    assert "X-Khgeo-Offline" not in field.get("/account").headers, "personal pages"
    state = field.get("/offline/state.json").get_json()
    assert "/zones/kcn-van-trung/update" in state["urls"]
    assert not [url for url in state["urls"] if OTHER_DISTRICT_ZONE in url]
    admin = client_as(app, "admin")
    assert "X-Khgeo-Offline" not in admin.get("/admin/audit").headers, "admin pages are never kept"
    # an admin's area is every zone: each form opens (one with a wastewater status set used to be a 500)
    assert admin.get("/zones/ccn-my-an/update").status_code == 200
    assert "X-Khgeo-User" not in app.test_client().get("/zones/kcn-van-trung").headers, "anonymous: nobody's"


def test_basemap_tiles_are_kept_only_when_the_setting_allows_and_within_its_limit(app):
    from khgeo.services.offline import tile_urls

    bounds = (106.05, 21.20, 106.15, 21.30)  # some 10 km of Việt Yên
    template = "https://{s}.tiles.example/{z}/{x}/{y}.png"
    assert tile_urls(bounds, template, 0) == []
    urls = tile_urls(bounds, template, 200)
    assert 0 < len(urls) <= 200 and len(set(urls)) == len(urls)
    assert all(url.startswith("https://a.tiles.example/1") for url in urls)
    zooms = {int(url.split("/")[3]) for url in urls}
    assert min(zooms) == 10 and zooms == set(range(10, max(zooms) + 1)), "whole zoom levels from 10 up"

    field = client_as(app, "field")
    assert field.get("/offline/state.json").get_json()["tiles"] == [], "off by default"
    policy = field.get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self';" in policy, "no other host may be fetched"

    allowed = make_app(app.config["KHGEO_DATABASE_URL"], KHGEO_OFFLINE_TILES=300)
    try:
        field = client_as(allowed, "field")
        tiles = field.get("/offline/state.json").get_json()["tiles"]
        assert 0 < len(tiles) <= 300
        assert (
            "https://tiles.invalid"
            in field.get("/").headers["Content-Security-Policy"].split("connect-src")[1]
        )
        assert '"tilesOrigin": "https://tiles.invalid"' in field.get("/sw.js").get_data(as_text=True)
    finally:
        allowed.extensions["khgeo.db"].engine.dispose()


def test_a_page_downloaded_for_later_leaves_the_next_pages_message_and_the_session_cookie_alone(app):
    field = client_as(app, "field")
    field.get("/")  # the page that starts the download (its CSRF token is in the session from then on)
    with field.session_transaction() as session:
        session["_flashes"] = [("success", "Đã lưu.")]
    later = field.get("/zones/kcn-van-trung", headers={"X-Khgeo-Precache": "1"})
    assert later.status_code == 200 and "Đã lưu." not in later.get_data(as_text=True)
    assert "Set-Cookie" not in later.headers, "the session it read is not written back"
    assert "Đã lưu." in field.get("/zones/kcn-van-trung").get_data(as_text=True), "the page the user opens"


@pytest.mark.browser
def test_chromium_finds_the_app_installable_and_the_offline_panel_fits(server, phone):
    """A Lighthouse-style check: Chromium's own verdict on the manifest, icons and worker."""
    context, watch = phone
    page = watch.page
    log_in(page, server, make_user(server, "field"))
    wait_ready(page)
    page.reload()  # now controlled by the worker
    devtools = context.new_cdp_session(page)
    manifest = devtools.send("Page.getAppManifest")
    assert manifest["errors"] == [] and "Bắc Giang" in manifest["data"]
    errors = devtools.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito profiles, where nothing installs: that is the only objection
    assert [error["errorId"] for error in errors] == ["in-incognito"]
    # the offline panel on a phone and on a laptop: its button and status in view, no sideways scrolling
    for width, height in ((360, 740), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{server.url}/offline")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for selector in ("#offline-download", "#offline-stored", "h1"):
            box = page.locator(selector).bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, (width, selector)
            assert box["y"] + box["height"] <= height, (width, selector)
    assert csp_problems(watch) == []


def test_a_queued_save_sent_twice_arrives_once(app, tmp_path):
    """What sync.js sends (the form, its photo, the item's own request id): a resend after a lost answer is
    answered like the first send, and the zone's history has one new row."""
    import uuid

    from tests.helpers import csrf_of, hidden

    code = FIELD_ZONES[2]
    field = client_as(app, "field")
    form = field.get(f"/zones/{code}/update").get_data(as_text=True)
    key = str(uuid.uuid4())
    before = _rows_in_app(app, code)
    answers = []
    for _ in range(2):
        data = {
            "csrf_token": csrf_of(form),
            "version": hidden(form, "version"),
            "request_id": key,
            "as_of": "",
            "occupancy_pct": "52",
            "note": "Gửi từ hàng chờ",
            "photos": (photo_file(tmp_path).open("rb"), "site.jpg"),
        }
        response = field.post(
            f"/zones/{code}/update",
            data=data,
            headers={"X-Requested-With": "khgeo-queue"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 200
        answers.append(response.get_json())
    assert (
        answers[0] == answers[1]
        and answers[0]["saved"]
        and answers[0]["version"] > int(hidden(form, "version"))
    )
    assert _rows_in_app(app, code) == before + 1
    assert "Đã lưu." not in field.get(f"/zones/{code}").get_data(as_text=True), "the queue says it itself"


def _rows_in_app(app, code: str) -> int:
    with app.extensions["khgeo.db"].session() as session:
        return session.execute(
            text(
                "SELECT count(*) FROM zone_updates WHERE kind = 'status' "
                "AND zone_id = (SELECT id FROM zones WHERE code = :code)"
            ),
            {"code": code},
        ).scalar_one()
