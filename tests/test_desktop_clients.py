"""Issue 11: desktop GIS programs read khgeo when login is required (KHGEO_PUBLIC_READ off, the default).

QGIS 3.22 (Debian 12) cannot send ``Authorization: Bearer``: it authenticates with HTTP Basic, so the program paths
(/api, /ogcapi, /export) take the username with an API token as the password. The account's password is not taken
over Basic, Basic never authenticates an HTML page nor a write, and /ogcapi without the slash (what QGIS asks first)
answers programs like /ogcapi/. Real clients run against a live server: QGIS itself (Debian's python3-qgis, run with
the system python) and GDAL's ogrinfo.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import text

from khgeo.services import accounts
from tests.conftest import LiveServer, make_app

ZONES = 25
PASSWORD = "a-long-password-1"
SYSTEM_PYTHON = "/usr/bin/python3"
QGIS_CLIENT = Path(__file__).with_name("qgis_oapif_client.py")


def basic(username: str, secret: str) -> dict:
    pair = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def sql(db, statement: str, **params):
    with db.engine.begin() as conn:
        return conn.execute(text(statement), params)


def challenges(response) -> list[str]:
    return response.headers.getlist("WWW-Authenticate")


@pytest.fixture
def app(database_url):
    application = make_app(database_url, KHGEO_PUBLIC_READ=False)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


@pytest.fixture
def planner(app) -> str:
    """A planner's API token (the planner's username is "gis-planner")."""
    with app.extensions["khgeo.db"].session() as session:
        accounts.create_user(session, "gis-planner", PASSWORD, "planner")
        return accounts.new_token(session, "gis-planner", name="QGIS")


@pytest.fixture(scope="module")
def closed_server(module_database_url):
    """A live server that requires login, and a planner's token for it; ``server.seen`` lists what clients asked
    (method, path, the Authorization scheme, status)."""
    application = make_app(module_database_url, KHGEO_PUBLIC_READ=False)
    seen: list[tuple[str, str, str, int]] = []

    @application.after_request
    def _record(response):
        scheme = request.headers.get("Authorization", "").partition(" ")[0]
        seen.append((request.method, request.path, scheme, response.status_code))
        return response

    server = LiveServer(application)
    server.seen = seen
    with server.app.extensions["khgeo.db"].session() as session:
        accounts.create_user(session, "gis-planner", PASSWORD, "planner")
        token = accounts.new_token(session, "gis-planner", name="QGIS")
    yield server, token
    server.stop()


# -- HTTP Basic with an API token -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["/api/zones", "/api/zones/kcn-van-trung", "/api/tasks", "/ogcapi", "/ogcapi/collections/zones/items"],
)
def test_basic_with_the_username_and_a_token_reads_the_program_paths(app, planner, path):
    client = app.test_client()
    assert client.get(path).status_code == 401
    response = client.get(path, headers=basic("gis-planner", planner))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_json or response.mimetype == "application/geo+json"
    # the username is matched as the login form matches it
    assert client.get(path, headers=basic("GIS-Planner", planner)).status_code == 200


def test_basic_downloads_an_export_and_a_program_without_credentials_gets_a_challenge(app, planner):
    client = app.test_client()
    response = client.get("/export/zones.csv", headers=basic("gis-planner", planner))
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "kcn-van-trung" in response.get_data(as_text=True)
    # curl and wget send "Accept: */*": a 401 they can answer with credentials, not the HTML login page
    program = client.get("/export/zones.csv", headers={"Accept": "*/*"})
    assert program.status_code == 401
    assert challenges(program)[0] == 'Basic realm="khgeo", charset="UTF-8"'
    assert program.get_json()["error"]["status"] == 401
    # a person's browser following the map's download link still lands on the login page
    browser = client.get("/export/zones.csv", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 302 and browser.headers["Location"].startswith("/login?next=")


def test_the_account_password_is_not_taken_over_basic_and_does_not_touch_the_login_throttle(
    app, planner, caplog
):
    """A GIS program sends its credentials with every request: khgeo takes only tokens there (channels.py)."""
    client = app.test_client()
    db = app.extensions["khgeo.db"]
    with caplog.at_level(logging.DEBUG):
        for _ in range(12):  # more than the 5 wrong guesses that delay the login form
            response = client.get("/ogcapi/collections", headers=basic("gis-planner", PASSWORD))
            assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == "Unauthorized"
    assert "mã truy cập API" in body["description"] and "khgeo users token" in body["description"]
    assert challenges(response)[0].startswith("Basic ")
    assert PASSWORD not in caplog.text, "credentials are never logged"
    (attempts,) = sql(db, "SELECT count(*) FROM login_attempts").scalars()
    assert attempts == 0, "Basic checks no password, so it neither counts guesses nor locks the form"
    english = client.get("/api/zones?lang=en", headers=basic("gis-planner", PASSWORD))
    assert english.status_code == 401
    assert "not the account's password" in english.get_json()["error"]["message"]


def test_dead_tokens_and_wrong_usernames_get_401_over_basic(app, planner):
    client = app.test_client()
    db = app.extensions["khgeo.db"]
    with db.session() as session:
        accounts.create_user(session, "other-user", PASSWORD, "viewer")
        expiring = accounts.new_token(session, "gis-planner", name="expiring")
        revoked = accounts.new_token(session, "gis-planner", name="revoked")
        other = accounts.new_token(session, "other-user", name="other")
    path = "/ogcapi/collections/zones/items"
    for token in (planner, expiring, revoked):
        assert client.get(path, headers=basic("gis-planner", token)).status_code == 200

    sql(db, "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'expiring'")
    sql(db, "UPDATE api_tokens SET revoked_at = now() WHERE name = 'revoked'")
    for username, token in [
        ("gis-planner", expiring),
        ("gis-planner", revoked),
        ("gis-planner", other),  # a live token of someone else
        ("gis-planner", "khg_not-a-token"),
        ("", planner),
    ]:
        response = client.get(path, headers=basic(username, token))
        assert response.status_code == 401, (username, token)
        assert response.get_json()["code"] == "Unauthorized"
        assert challenges(response)[0].startswith('Basic realm="khgeo"')
    assert client.get(path, headers=basic("gis-planner", planner)).status_code == 200

    with db.session() as session:
        accounts.disable_user(session, "other-user")
    assert client.get("/api/zones", headers=basic("other-user", other)).status_code == 401
    malformed = client.get("/api/zones", headers={"Authorization": "Basic %%%"})
    assert malformed.status_code == 401


def test_basic_only_reads_writes_need_bearer(app):
    with app.extensions["khgeo.db"].session() as session:
        accounts.create_user(session, "board", PASSWORD, "admin")
        token = accounts.new_token(session, "board")
    client = app.test_client()
    etag = client.get("/api/zones/kcn-van-trung", headers=basic("board", token)).headers["ETag"]
    change = {"operating_status": "suspended"}
    refused = client.patch(
        "/api/zones/kcn-van-trung", json=change, headers={**basic("board", token), "If-Match": etag}
    )
    assert refused.status_code == 401
    assert "Authorization: Bearer" in refused.get_json()["error"]["message"]
    created = client.post("/api/zones", json={"code": "ccn-moi"}, headers=basic("board", token))
    assert created.status_code == 401
    after = client.get("/api/zones/kcn-van-trung", headers=basic("board", token))
    assert after.headers["ETag"] == etag, "nothing changed"
    allowed = client.patch(
        "/api/zones/kcn-van-trung",
        json=change,
        headers={"Authorization": f"Bearer {token}", "If-Match": etag},
    )
    assert allowed.status_code == 200, allowed.get_data(as_text=True)


def test_basic_does_not_log_into_html_pages(app, planner):
    """Pages rely on the session cookie and CSRF tokens; a browser replays Basic credentials cross-site."""
    client = app.test_client()
    for path in ("/", "/tasks", "/account", "/zones/kcn-van-trung/update"):
        response = client.get(path, headers=basic("gis-planner", planner))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
        assert "WWW-Authenticate" not in response.headers


def test_a_script_inside_a_page_gets_no_basic_challenge(app):
    """The map fetches /api/zones: after the session ends the browser must not open a password dialog over it."""
    client = app.test_client()
    in_page = client.get("/api/zones", headers={"Sec-Fetch-Mode": "cors", "Accept": "application/geo+json"})
    assert in_page.status_code == 401
    assert challenges(in_page) == ['Bearer realm="khgeo"']
    program = client.get("/api/zones")
    assert challenges(program) == ['Basic realm="khgeo", charset="UTF-8"', 'Bearer realm="khgeo"']


# -- /ogcapi without the slash ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers, query",
    [
        ({"Accept": "application/json"}, ""),
        ({}, "?f=json"),
        ({}, ""),
        (
            {"Accept": "text/html,application/xhtml+xml"},
            "",
        ),  # a browser: no redirect to the login form either
    ],
)
def test_ogcapi_without_the_slash_answers_401_json_when_login_is_required(app, headers, query):
    response = app.test_client().get(f"/ogcapi{query}", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.get_json()["code"] == "Unauthorized"
    assert challenges(response) == ['Basic realm="khgeo", charset="UTF-8"', 'Bearer realm="khgeo"']


def test_ogcapi_without_the_slash_is_the_landing_page_when_reading_is_public(database_url):
    app = make_app(database_url, KHGEO_PUBLIC_READ=True)
    try:
        response = app.test_client().get("/ogcapi", headers={"Accept": "application/json"})
        assert response.status_code == 200
        links = {link["rel"]: link["href"] for link in response.get_json()["links"]}
        assert links["data"].endswith("/ogcapi/collections")
    finally:
        app.extensions["khgeo.db"].engine.dispose()


# -- real clients -----------------------------------------------------------------------------------------------------
def _qgis_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    return probe.returncode == 0


def run_qgis(url: str, username: str, token: str, workdir: Path) -> dict:
    if not _qgis_available():
        pytest.skip(
            "Debian's python3-qgis is not installed (make test installs it: apt package 'python3-qgis')"
        )
    home = workdir / "home"
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "no_proxy": "*",
    }
    result = subprocess.run(
        [
            SYSTEM_PYTHON,
            str(QGIS_CLIENT),
            url,
            username,
            token,
            str(workdir / "zones.gpkg"),
            str(home / "profile"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_qgis_reads_the_zones_with_a_basic_token_and_saves_a_geopackage(closed_server, tmp_path):
    server, token = closed_server
    expected = {
        f["properties"]["code"]
        for f in server.app.test_client()
        .get("/api/zones", headers={"Authorization": f"Bearer {token}"})
        .get_json(force=True)["features"]
    }
    assert len(expected) == ZONES

    # the URL QGIS users type: /ogcapi without the slash, which QGIS asks first
    server.seen.clear()
    report = run_qgis(f"{server.url}/ogcapi", "gis-planner", token, tmp_path)
    assert report["valid"], report
    # QGIS sends Basic with its first request, to /ogcapi itself, and is answered there: no redirect, no 401
    assert server.seen[0][:3] == ("GET", "/ogcapi", "Basic")
    assert {status for *_, status in server.seen} == {200}
    assert {scheme for _, _, scheme, _ in server.seen} == {"Basic"}
    assert report["feature_count"] == ZONES
    assert set(report["codes"]) == expected
    fields = report["fields"]
    assert fields["code"] == "String" and fields["name"] == "String" and fields["wwtp_status"] == "String"
    # numbers QGIS 3.22 already types as numbers (the other figures' types are issue 12's)
    assert {"area_ha", "computed_area_ha", "version"} <= set(report["numeric_fields"])
    assert report["gpkg_error"] == [0, ""]
    assert report["gpkg_count"] == ZONES
    with sqlite3.connect(tmp_path / "zones.gpkg") as gpkg:
        (rows, codes, outlines) = gpkg.execute(
            "SELECT count(*), count(DISTINCT code), count(geom) FROM zones"
        ).fetchone()
    assert rows == codes == outlines == ZONES


def test_qgis_with_a_wrong_token_gets_no_layer(closed_server, tmp_path):
    server, _token = closed_server
    report = run_qgis(f"{server.url}/ogcapi", "gis-planner", "khg_wrong-token", tmp_path)
    assert report["valid"] is False


def ogrinfo(*args: str, username: str, token: str, auth: str = "BASIC") -> subprocess.CompletedProcess:
    executable = shutil.which("ogrinfo")
    if executable is None:
        pytest.fail("GDAL's ogrinfo is not installed (make test installs it: apt package 'gdal-bin')")
    env = {
        "PATH": "/usr/bin:/bin",
        "no_proxy": "*",
        "GDAL_HTTP_TIMEOUT": "30",
        "GDAL_HTTP_AUTH": auth,
        "GDAL_HTTP_USERPWD": f"{username}:{token}",
    }
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=120, env=env)


def test_gdal_reads_the_zones_with_basic_and_a_token(closed_server):
    server, token = closed_server
    url = f"OAPIF:{server.url}/ogcapi"
    listed = ogrinfo("-ro", url, username="gis-planner", token=token)
    assert listed.returncode == 0, listed.stderr
    assert "zones" in listed.stdout and "districts" in listed.stdout
    summary = ogrinfo("-ro", "-so", url, "zones", username="gis-planner", token=token)
    assert summary.returncode == 0, summary.stderr
    assert f"Feature Count: {ZONES}" in summary.stdout
    for field in ("code: String", "name: String", "wwtp_status: String", "area_ha: Real"):
        assert field in summary.stdout, field

    wrong = ogrinfo("-ro", "-so", url, "zones", username="gis-planner", token="khg_wrong-token")
    assert wrong.returncode != 0
    password = ogrinfo("-ro", "-so", url, "zones", username="gis-planner", token=PASSWORD)
    assert password.returncode != 0, "the account's password is not a token"


def test_gdal_that_waits_for_the_challenge_gets_one_and_retries(closed_server):
    """GDAL_HTTP_AUTH=ANY sends nothing until a 401 names the schemes: the challenge is what makes it work."""
    server, token = closed_server
    server.seen.clear()
    summary = ogrinfo(
        "-ro", "-so", f"OAPIF:{server.url}/ogcapi", "zones", username="gis-planner", token=token, auth="ANY"
    )
    assert summary.returncode == 0, summary.stderr
    assert f"Feature Count: {ZONES}" in summary.stdout
    (_, first_path, first_scheme, first_status), (_, retry_path, retry_scheme, retry_status) = server.seen[:2]
    assert (first_scheme, first_status) == ("", 401)
    assert (retry_path, retry_scheme, retry_status) == (first_path, "Basic", 200)
