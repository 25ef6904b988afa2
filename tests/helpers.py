"""Helpers and factories shared by the test modules: users, API tokens, logging in with a CSRF token, zones.

One place for what many modules used to define for themselves; import from here (``from tests.helpers import
login``). The fixtures (``app``, ``client``, ``db``, ``live_server``, …) stay in tests/conftest.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sqlalchemy import text

from khgeo.services import accounts

# long enough for the password policy, and not among the leaked passwords it refuses
PASSWORD = "mat-khau-dai-du-10"
# Flask-WTF's hidden input; attribute order differs between forms, so match any attributes in between
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FIELD_DISTRICT = "Việt Yên"  # field staff need a district; most tests update zones there (kcn-van-trung, …)


def _db(target):
    """A khgeo Database from a Database, a Flask app or a LiveServer."""
    if hasattr(target, "session"):
        return target
    app = getattr(target, "app", target)
    return app.extensions["khgeo.db"]


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (every page with a form, and the login page for everybody)."""
    match = CSRF.search(html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    """The value of a form's hidden input (csrf_token, version, request_id …)."""
    if name == "csrf_token":
        return csrf_of(html)
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, f"the page carries {name}"
    return match.group(1)


def make_user(
    db,
    role: str = "viewer",
    *,
    username: str | None = None,
    password: str = PASSWORD,
    districts: Iterable[str] | None = None,
    display_name: str = "",
) -> str:
    """A new user of this role (a unique name unless given); field staff get Việt Yên unless districts are given.

    ``db`` is a Database, an app or a LiveServer. Returns the username."""
    username = username or f"{role}-{uuid.uuid4().hex[:8]}"
    if districts is None:
        districts = [FIELD_DISTRICT] if role == "field" else []
    with _db(db).session() as session:
        accounts.create_user(
            session, username, password, role, districts=list(districts), display_name=display_name
        )
    return username


def add_token(db, username: str) -> str:
    """A new API token of this user."""
    with _db(db).session() as session:
        return accounts.new_token(session, username)


def login(client, username: str, password: str = PASSWORD, address: str | None = None):
    """Log a Flask test client in through the login form, CSRF token and all; returns the POST's response."""
    environ = {"REMOTE_ADDR": address} if address else {}
    token = csrf_of(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def logged_in(app, username: str, password: str = PASSWORD):
    """A new test client of ``app``, logged in as ``username``."""
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 302, "the login works"
    return client


def client_as(app, role: str, **user_options):
    """A new test client logged in as a new user of this role; its username is ``client.username``."""
    username = make_user(app, role, **user_options)
    client = logged_in(app, username)
    client.username = username
    return client


def make_zone(
    session,
    code: str,
    name: str,
    *,
    district: str = "222",
    lon: float = 106.2,
    lat: float = 21.3,
    kind: str = "CCN",
    aliases: Iterable[str] = (),
    note: str = "",
    developer: str = "",
    notes: str = "",
) -> None:
    """A zone with an illustrative round outline (~1 km across) at (lon, lat) in the district of this GSO code
    (its search text is the database's: a generated column)."""
    session.execute(
        text("""
        INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source,
                           geometry_note, developer, notes, sources, osm_ref, version, district_id)
        SELECT :code, :name, CAST(:aliases AS text[]), :kind, ARRAY[:name],
               ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.01)), 'illustrative',
               :note, :developer, :notes, '{}'::jsonb, '', 1, id
        FROM districts WHERE code = :district
    """),
        {
            "code": code,
            "name": name,
            "aliases": list(aliases),
            "kind": kind,
            "lon": lon,
            "lat": lat,
            "note": note,
            "developer": developer,
            "notes": notes,
            "district": district,
        },
    )


add_user = make_user  # the name most test modules knew it by


def free_port() -> int:
    """A loopback port nobody listens on (for a server a test starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_until_healthy(command: list[str], env: dict, port: int, *, seconds: float):
    """Start ``command`` (a ``khgeo serve``) and wait for its /healthz: (the process, the health answer). The test
    stops the process; a process that dies first fails the test with its output."""
    import subprocess
    import time

    import requests

    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + seconds
    while True:
        try:
            return server, requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except requests.ConnectionError:
            if server.poll() is not None:
                raise AssertionError(server.stdout.read()) from None
            if time.monotonic() > deadline:
                server.kill()
                raise AssertionError("server did not start") from None
            time.sleep(0.3)
