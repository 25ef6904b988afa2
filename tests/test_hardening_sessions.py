"""Issue 10 (ASVS L2 hardening): each test replays an attack from the security review and shows it now does no harm.

Sessions end on the server (logout, "log out of all devices", password change) and last KHGEO_SESSION_HOURS from
the login however busy; API tokens expire and are revoked one by one; login guesses are counted atomically per
(username, address) with a growing delay, never a lockout of the owner; passwords follow a policy; the secret key
must be long and random. Time is moved by editing the stored times, never by sleeping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import text

from khgeo import migrate
from khgeo.cli import main
from khgeo.config import load_settings, resolve_secret_key
from khgeo.db import Database
from khgeo.errors import ConfigError
from khgeo.services import accounts, throttle
from tests import helpers
from tests.conftest import LiveServer, make_app, new_database
from tests.helpers import PASSWORD, csrf_of, make_user

NEW_PASSWORD = "cay-da-o-dau-lang-ven-song"


# --- helpers --------------------------------------------------------------------------------------------------


@pytest.fixture
def app(database_url):
    """Login required (KHGEO_PUBLIC_READ off), so "/" answers 200 only to a live session."""
    application = make_app(database_url, KHGEO_PUBLIC_READ=False)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


def add_user(db, username: str = "lan", role: str = "viewer", password: str = PASSWORD) -> str:
    return make_user(db, role, username=username, password=password, districts=[])


def login(client, username: str = "lan", password: str = PASSWORD, address: str = "127.0.0.1"):
    return helpers.login(client, username, password, address=address)


def logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def session_cookie(client) -> str:
    return client.get_cookie("khgeo_session").value


def post_form(client, url: str, data: dict | None = None):
    token = csrf_of(client.get("/account").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def sql(db, statement: str, **params):
    with db.engine.begin() as conn:
        return conn.execute(text(statement), params)


# --- 1. logout and session lifetime -----------------------------------------------------------------------------


def test_replaying_a_cookie_captured_before_logout_is_not_logged_in(app, db):
    add_user(db)
    victim = app.test_client()
    assert login(victim).status_code == 302
    assert logged_in(victim)
    captured = session_cookie(victim)

    token = csrf_of(victim.get("/").get_data(as_text=True))
    assert victim.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not logged_in(victim)

    attacker = app.test_client()
    attacker.set_cookie("khgeo_session", captured)
    assert not logged_in(attacker), "the stolen cookie died with the logout"
    assert attacker.get("/account").status_code == 302


def test_log_out_of_all_devices_kills_another_clients_cookie(app, db):
    add_user(db)
    phone, office = app.test_client(), app.test_client()
    assert login(phone).status_code == 302 and login(office).status_code == 302
    page = office.get("/account").get_data(as_text=True)
    assert 'action="/account/logout-all"' in page and "Đăng xuất khỏi mọi thiết bị" in page

    response = post_form(office, "/account/logout-all")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert not logged_in(office)
    assert not logged_in(phone), "the other device is logged out too"
    assert login(phone).status_code == 302, "logging in again works"


def test_log_out_of_all_devices_needs_the_csrf_token(app, db):
    add_user(db)
    phone, office = app.test_client(), app.test_client()
    login(phone), login(office)
    assert office.post("/account/logout-all").status_code == 400
    assert logged_in(phone) and logged_in(office)


def test_a_session_older_than_its_absolute_lifetime_is_dead_even_if_used_constantly(app, db):
    add_user(db)
    client = app.test_client()
    login(client)
    # constant use for (nearly) the whole lifetime: the login time stays what it was
    sql(db, "UPDATE user_sessions SET created_at = now() - interval '7 hours 58 minutes'")
    for _ in range(3):
        assert logged_in(client)
    (started,) = sql(db, "SELECT now() - created_at FROM user_sessions").scalars()
    assert started >= dt.timedelta(hours=7, minutes=58), "using a session does not renew it"

    sql(db, "UPDATE user_sessions SET created_at = now() - interval '8 hours 1 minute'")
    assert not logged_in(client), "KHGEO_SESSION_HOURS (8) counts from the login"


def test_the_lifetime_follows_the_setting(database_url, db):
    application = make_app(database_url, KHGEO_PUBLIC_READ=False, KHGEO_SESSION_HOURS=1)
    try:
        add_user(db)
        client = application.test_client()
        login(client)
        sql(db, "UPDATE user_sessions SET created_at = now() - interval '61 minutes'")
        assert not logged_in(client)
    finally:
        application.extensions["khgeo.db"].engine.dispose()


def test_password_change_kills_other_sessions_and_keeps_this_one(app, db):
    add_user(db)
    mine, stolen = app.test_client(), app.test_client()
    login(mine), login(stolen)
    response = post_form(
        mine,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert "Đã đổi mật khẩu" in mine.get("/account").get_data(as_text=True)
    assert logged_in(mine), "the device that changed the password stays logged in"
    assert not logged_in(stolen), "every other session ended"
    assert login(app.test_client(), password=PASSWORD).status_code == 401
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302
    (action,) = sql(db, "SELECT action FROM audit_events WHERE action = 'user.password'").scalars()
    assert action == "user.password"


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("sai-mat-khau-roi", NEW_PASSWORD, NEW_PASSWORD, "Mật khẩu hiện tại không đúng"),
        (PASSWORD, "ngan-qua", "ngan-qua", "ít nhất 12 ký tự"),
        (PASSWORD, "qwerty123456", "qwerty123456", "quá dễ đoán"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "không khớp"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(app, db, current, new, confirm, message):
    add_user(db)
    mine, other = app.test_client(), app.test_client()
    login(mine), login(other)
    response = post_form(
        mine, "/account/password", {"current_password": current, "new_password": new, "confirm": confirm}
    )
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert logged_in(mine) and logged_in(other)
    assert login(app.test_client(), password=PASSWORD).status_code == 302, "the old password still works"


def test_a_disabled_account_loses_its_sessions(app, db):
    add_user(db)
    client = app.test_client()
    login(client)
    with db.session() as session:
        accounts.disable_user(session, "lan")
    (count,) = sql(db, "SELECT count(*) FROM user_sessions").scalars()
    assert count == 0 and not logged_in(client)


# --- 2. API tokens ---------------------------------------------------------------------------------------------


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_expired_and_revoked_tokens_get_401_one_by_one(app, db):
    add_user(db)
    runner = app.test_cli_runner()
    made = runner.invoke(main, ["users", "token", "lan", "--name", "QGIS phòng KT", "--days", "30"])
    assert made.exit_code == 0, made.output
    qgis = made.stdout.strip().splitlines()[0]
    with db.session() as session:
        script = accounts.new_token(session, "lan", name="script")
        expiring = accounts.new_token(session, "lan", name="expiring", days=1)
    api = app.test_client()
    for token in (qgis, script, expiring):
        assert api.get("/api/zones", headers=bearer(token)).status_code == 200

    sql(db, "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'expiring'")
    assert api.get("/api/zones", headers=bearer(expiring)).status_code == 401

    (qgis_id,) = sql(db, "SELECT id FROM api_tokens WHERE name = 'QGIS phòng KT'").scalars()
    revoked = runner.invoke(main, ["users", "revoke-token", str(qgis_id)])
    assert revoked.exit_code == 0 and f"revoked token {qgis_id} of lan" in revoked.output
    assert api.get("/api/zones", headers=bearer(qgis)).status_code == 401
    assert api.get("/api/zones", headers=bearer(script)).status_code == 200, "the other token still works"

    missing = runner.invoke(main, ["users", "revoke-token", "999999"])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_tokens_are_listed_with_dates_dd_mm_yyyy(app, db):
    add_user(db)
    runner = app.test_cli_runner()
    token = runner.invoke(main, ["users", "token", "lan", "--name", "QGIS", "--days", "30"]).stdout.split()[0]
    runner.invoke(main, ["users", "token", "lan"])  # default: a year, no name
    app.test_client().get("/api/zones", headers=bearer(token))

    listing = runner.invoke(main, ["users", "tokens", "lan"])
    assert listing.exit_code == 0, listing.output
    header, qgis, unnamed = listing.stdout.strip().splitlines()
    assert header.split("\t") == ["id", "name", "created", "expires", "last used", "state"]
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    fields = qgis.split("\t")
    assert fields[1:] == [
        "QGIS",
        f"{today:%d/%m/%Y}",
        f"{today + dt.timedelta(days=30):%d/%m/%Y}",
        f"{today:%d/%m/%Y}",
        "active",
    ]
    assert unnamed.split("\t")[3] == f"{today + dt.timedelta(days=365):%d/%m/%Y}"
    assert unnamed.split("\t")[4] == "-", "never used"
    assert token not in listing.output, "a token is shown only once"

    bad = runner.invoke(main, ["users", "token", "lan", "--days", "0"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_last_use_is_written_at_most_once_a_minute(app, db):
    add_user(db)
    with db.session() as session:
        token = accounts.new_token(session, "lan")
    api = app.test_client()
    api.get("/api/zones", headers=bearer(token))
    (first,) = sql(db, "SELECT last_used_at FROM api_tokens").scalars()
    assert first is not None
    api.get("/api/zones", headers=bearer(token))
    (second,) = sql(db, "SELECT last_used_at FROM api_tokens").scalars()
    assert second == first, "a second use within the minute writes nothing"
    sql(db, "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'")
    api.get("/api/zones", headers=bearer(token))
    (third,) = sql(db, "SELECT last_used_at FROM api_tokens").scalars()
    assert third > first - dt.timedelta(seconds=1) and third > dt.datetime.now(dt.UTC) - dt.timedelta(
        minutes=1
    )


def test_tokens_made_before_the_migration_keep_working_for_a_year(pg_cluster):
    name = new_database(pg_cluster, template=None)
    database = Database(pg_cluster.url(name))
    try:
        migrate.upgrade(database, "0005")
        token = accounts.TOKEN_PREFIX + "old-token-from-before-the-upgrade"
        with database.engine.begin() as conn:
            user_id = conn.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, role, active) "
                    "VALUES ('old', '', 'x', 'viewer', true) RETURNING id"
                )
            ).scalar_one()
            conn.execute(
                text("INSERT INTO api_tokens (user_id, token_sha256) VALUES (:user, :digest)"),
                {"user": user_id, "digest": hashlib.sha256(token.encode()).hexdigest()},
            )
        migrate.upgrade(database)
        with database.session() as session:
            user = accounts.user_for_token(session, token)
            assert user is not None and user.username == "old"
            (expires,) = session.execute(text("SELECT expires_at - now() FROM api_tokens")).scalars()
        assert dt.timedelta(days=364) < expires <= dt.timedelta(days=365)
    finally:
        database.engine.dispose()
        pg_cluster.drop_database(name)


# --- 3. login throttling ---------------------------------------------------------------------------------------


class FromAddress(HTTPAdapter):
    """Connect from another loopback address: the server sees a different client."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def http_client(source: str | None = None) -> requests.Session:
    client = requests.Session()
    if source:
        client.mount("http://", FromAddress(source))
    return client


def http_login(client: requests.Session, base: str, password: str, *, token: str | None = None) -> int:
    token = token or csrf_of(client.get(f"{base}/login", timeout=30).text)
    response = client.post(
        f"{base}/login",
        data={"username": "boss", "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


def test_16_concurrent_wrong_passwords_get_at_most_5_guesses_and_the_owner_still_logs_in(database_url, db):
    add_user(db, "boss", "admin")
    server = LiveServer(make_app(database_url, KHGEO_PUBLIC_READ=False))
    try:
        attackers = [http_client() for _ in range(16)]
        tokens = [csrf_of(c.get(f"{server.url}/login", timeout=30).text) for c in attackers]
        start = threading.Barrier(16)
        statuses: list[int] = []

        def guess(client, token):
            start.wait()
            statuses.append(http_login(client, server.url, "sai-mat-khau-roi", token=token))

        threads = [threading.Thread(target=guess, args=pair) for pair in zip(attackers, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert len(statuses) == 16 and set(statuses) <= {401, 429}
        assert statuses.count(401) <= 5, f"evaluated guesses: {statuses.count(401)}"
        (evaluated,) = sql(
            db, "SELECT count(*) FROM login_attempts WHERE username = 'boss' AND NOT throttled"
        ).scalars()
        assert evaluated <= 5

        # the owner, from another address, is not locked out
        owner = http_client("127.0.0.2")
        assert http_login(owner, server.url, PASSWORD) == 302
        assert owner.get(f"{server.url}/", timeout=30, allow_redirects=False).status_code == 200

        # the throttled pair must wait, even with the right password …
        assert http_login(attackers[0], server.url, PASSWORD) == 429
        # … until the delay is over
        sql(db, "UPDATE login_throttles SET blocked_until = now() - interval '1 second' WHERE scope = 'pair'")
        assert http_login(attackers[0], server.url, PASSWORD) == 302
    finally:
        server.stop()


def test_the_delay_grows_but_never_becomes_a_permanent_lockout(app, db):
    add_user(db, "boss", "admin")
    attacker = app.test_client()

    def wait_after_five_failures() -> dt.timedelta:
        for _ in range(5):
            assert login(attacker, "boss", "sai-mat-khau-roi", address="10.6.6.6").status_code == 401
        refused = login(attacker, "boss", PASSWORD, address="10.6.6.6")
        assert refused.status_code == 429
        assert "Đăng nhập sai quá nhiều lần" in refused.get_data(as_text=True)
        (wait,) = sql(db, "SELECT blocked_until - now() FROM login_throttles WHERE scope = 'pair'").scalars()
        sql(db, "UPDATE login_throttles SET blocked_until = now() - interval '1 second' WHERE scope = 'pair'")
        return wait

    first, second = wait_after_five_failures(), wait_after_five_failures()
    assert dt.timedelta(seconds=50) < first <= dt.timedelta(minutes=1)
    assert dt.timedelta(minutes=1, seconds=50) < second <= dt.timedelta(minutes=2), "the delay doubles"
    sql(db, "UPDATE login_throttles SET lockouts = 30 WHERE scope = 'pair'")
    assert wait_after_five_failures() <= throttle.MAX_DELAY, "and is capped"

    assert login(app.test_client(), "boss", address="10.0.0.1").status_code == 302, "the owner logs in"


def test_one_address_has_a_higher_limit_over_all_usernames(app, db, monkeypatch):
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 3)
    add_user(db)
    client = app.test_client()
    for name in ("an", "binh", "chi"):
        assert login(client, name, "sai-mat-khau-roi", address="10.9.9.9").status_code == 401
    assert login(client, "lan", address="10.9.9.9").status_code == 429, "a fourth username waits too"
    assert login(client, "lan", address="10.9.9.10").status_code == 302


def test_admins_see_recent_failed_logins_escaped(app, db):
    add_user(db, "boss", "admin")
    add_user(db, "lan")
    stranger = app.test_client()
    login(stranger, "<script>alert(1)</script>", "sai-mat-khau-roi", address="10.6.6.6")
    for _ in range(6):
        login(stranger, "lan", "sai-mat-khau-roi", address="10.6.6.7")

    viewer = app.test_client()
    login(viewer, "lan", address="10.0.0.2")
    assert viewer.get("/admin/logins").status_code == 403

    admin = app.test_client()
    login(admin, "boss", address="10.0.0.1")
    page = admin.get("/admin/logins")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "10.6.6.6" in html and "10.6.6.7" in html
    assert "bị từ chối, không kiểm tra" in html, "the refused sixth attempt is listed"
    waiting = html.split("logins-waiting", 1)[1].split("</table>", 1)[0]
    assert "lan" in waiting and "10.6.6.7" in waiting


# --- 4. password policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("ngan-qua-11", "ít nhất 12 ký tự"),
        ("qwerty123456", "quá dễ đoán"),  # in the common-password list
        ("Password2024!", "quá dễ đoán"),  # a common password with digits and a symbol around it
        ("nguyenvanlan", "quá dễ đoán"),  # the username
        ("aaaaaaaaaaaaaaaa", "quá dễ đoán"),
    ],
)
def test_users_create_refuses_weak_passwords_in_vietnamese(app, db, password, message):
    result = app.test_cli_runner().invoke(
        main,
        ["users", "create", "nguyenvanlan", "--role", "viewer", "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    (count,) = sql(db, "SELECT count(*) FROM users WHERE username = 'nguyenvanlan'").scalars()
    assert count == 0
    accepted = app.test_cli_runner().invoke(
        main,
        ["users", "create", "nguyenvanlan", "--role", "viewer", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert accepted.exit_code == 0, "a phrase of several words is accepted"
    assert login(app.test_client(), "nguyenvanlan", NEW_PASSWORD).status_code == 302


# --- 5. the secret key ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "test-secret-not-for-production",  # the old test key: short, and words
        "bench",
        "x" * 40,
        "0123456789" * 4,
        "my-very-own-secret-key-for-the-khgeo-app",
    ],
)
def test_short_or_non_random_secret_keys_are_refused_at_startup(tmp_path, key):
    with pytest.raises(ConfigError, match="KHGEO_SECRET_KEY"):
        resolve_secret_key(load_settings(environ={"KHGEO_SECRET_KEY": key}))
    # while random keys, and the one generated for the embedded database, are accepted
    for _ in range(20):
        for random_key in (secrets.token_urlsafe(32), secrets.token_hex(16)):
            assert resolve_secret_key(load_settings(environ={"KHGEO_SECRET_KEY": random_key})) == random_key
    generated = resolve_secret_key(load_settings(environ={"KHGEO_DATA_DIR": str(tmp_path)}))
    assert resolve_secret_key(load_settings(environ={"KHGEO_SECRET_KEY": generated})) == generated


def test_a_bad_secret_key_stops_the_cli_with_one_line_naming_it(database_url):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "KHGEO_DATABASE_URL": database_url, "KHGEO_SECRET_KEY": "changeme-" + "k" * 30}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "khgeo"), "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "KHGEO_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


# --- the account page in a browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(360, 740), (1366, 768)])
def test_account_page_fits_and_logs_out_of_all_devices(database_url, db, browser, viewport):
    add_user(db)
    server = LiveServer(make_app(database_url, KHGEO_PUBLIC_READ=False))
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        other_device = app_client = server.app.test_client()
        assert login(app_client).status_code == 302
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", "lan")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        if page.locator("header .menu-toggle").is_visible():  # phones fold the header's links into a menu
            page.click("header .menu-toggle")
        page.click("header a.who")
        page.wait_for_url(f"{server.url}/account")
        assert page.locator("table.sessions tbody tr").count() == 2, "both logins are listed"
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            + str(width)
            + ").map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
        for selector in ("#password-form button", "#logout-all-form button", "input[name=new_password]"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
        page.click("#logout-all-form button")
        page.wait_for_url(re.compile(r".*/login$"))
        assert "Bạn đã đăng xuất khỏi mọi thiết bị" in page.content()
        assert not logged_in(other_device)
    finally:
        context.close()
        server.stop()
