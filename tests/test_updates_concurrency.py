"""No lost updates: concurrent saves of the same version, the form's conflict page, and safe resends."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import text

from khgeo.db import Database
from tests.conftest import LiveServer, make_app, new_database
from tests.helpers import add_token, hidden, logged_in, make_user

CLIENTS = 16


def add_user(database: Database, role: str, *, districts=(), display_name: str = "") -> tuple[str, str]:
    """A new user of this role; returns (username, API token)."""
    username = make_user(database, role, districts=districts, display_name=display_name)
    return username, add_token(database, username)


def status_entries(database: Database, code: str) -> int:
    with database.session() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM zone_updates WHERE kind = 'status' "
                "AND zone_id = (SELECT id FROM zones WHERE code = :code)"
            ),
            {"code": code},
        )


def zone_row(database: Database, code: str):
    with database.session() as session:
        return (
            session.execute(text("SELECT * FROM zones WHERE code = :code"), {"code": code}).mappings().one()
        )


def audit_events(database: Database, code: str) -> int:
    with database.session() as session:
        return session.scalar(
            text("SELECT count(*) FROM audit_events WHERE entity_type = 'zone' AND entity_id = :code"),
            {"code": code},
        )


def open_form(client, code: str) -> dict[str, str]:
    """GET the update form; the hidden fields a browser would send back."""
    response = client.get(f"/zones/{code}/update")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {name: hidden(html, name) for name in ("csrf_token", "version", "request_id")}


# --- 16 clients, one version, a real threaded server --------------------------------------------------------


@pytest.fixture(scope="module")
def server(pg_cluster):
    name = new_database(pg_cluster)
    live = LiveServer(make_app(pg_cluster.url(name)))
    yield live
    live.stop()
    pg_cluster.drop_database(name)


def test_sixteen_simultaneous_patches_of_one_version_store_exactly_one(server):
    import requests

    code = "kcn-quang-chau"
    database = server.app.extensions["khgeo.db"]
    tokens = [add_user(database, "field", districts=["Việt Yên"])[1] for _ in range(CLIENTS)]
    read = requests.get(f"{server.url}/api/zones/{code}", timeout=10)
    etag = read.headers["ETag"]
    entries, events = status_entries(database, code), audit_events(database, code)

    barrier = threading.Barrier(CLIENTS)
    results: dict[int, requests.Response] = {}

    def save(i: int) -> None:
        body = {"infrastructure_pct": 10 + i, "as_of": "2026-11-20", "note": f"máy {i}"}
        headers = {"Authorization": f"Bearer {tokens[i]}", "If-Match": etag}
        barrier.wait(timeout=30)
        results[i] = requests.patch(f"{server.url}/api/zones/{code}", json=body, headers=headers, timeout=60)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(results) == CLIENTS, "every client got an answer"

    assert Counter(r.status_code for r in results.values()) == {200: 1, 412: CLIENTS - 1}
    (winner,) = [i for i, r in results.items() if r.status_code == 200]
    for i, response in results.items():
        if i != winner:
            assert response.json()["error"]["status"] == 412, "each loser is told to read again"
    assert status_entries(database, code) == entries + 1, "one history entry, not sixteen"
    assert audit_events(database, code) == events + 1
    final = requests.get(f"{server.url}/api/zones/{code}", timeout=10)

    # a compressed answer's ETag carries the encoding ("2-br"): the version is what must have moved by one
    def version(tag: str) -> int:
        return int(tag.strip('"').split("-")[0])

    assert version(final.headers["ETag"]) == version(results[winner].headers["ETag"]) == version(etag) + 1
    assert final.json()["properties"]["infrastructure_pct"] == 10 + winner
    with database.session() as session:
        note = session.scalar(
            text(
                "SELECT note FROM zone_updates WHERE kind = 'status' "
                "AND zone_id = (SELECT id FROM zones WHERE code = :code) ORDER BY id DESC LIMIT 1"
            ),
            {"code": code},
        )
    assert note == f"máy {winner}"


# --- the HTML form ------------------------------------------------------------------------------------------


def test_second_form_save_on_the_same_version_is_refused_and_shows_both_values(app, db):
    code = "kcn-van-trung"
    field_user, _ = add_user(db, "field", districts=["Việt Yên"], display_name="Nguyễn Thị Lan")
    admin_user, _ = add_user(db, "admin")
    field, admin = logged_in(app, field_user), logged_in(app, admin_user)
    field_form, admin_form = open_form(field, code), open_form(admin, code)
    assert field_form["version"] == admin_form["version"]
    entries, version = status_entries(db, code), int(field_form["version"])

    first = field.post(
        f"/zones/{code}/update",
        data={
            **field_form,
            "as_of": "2026-11-20",
            "clearance_area_ha": "200",
            "cleared_area_ha": "120",
            "infrastructure_pct": "40",
            "note": "Lan đo đạc",
        },
    )
    assert first.status_code == 303

    typed = {
        "as_of": "2026-11-21",
        "clearance_area_ha": "300",
        "cleared_area_ha": "150,5",
        "infrastructure_pct": "77",
        "note": "Ban quản lý ghi chú",
    }
    second = admin.post(f"/zones/{code}/update", data={**admin_form, **typed})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert 'class="conflict"' in page
    compare = page[page.index('class="compare"') : page.index("</table>")]
    assert "<td>200</td><td>300</td>" in compare, "area to clear: saved beside typed"
    assert "<td>120</td><td>150,5</td>" in compare, "area cleared: saved beside typed"
    assert "<td>40</td><td>77</td>" in compare, "infrastructure: saved beside typed"
    # the form below keeps what the admin typed, now based on the current version so a resave can work
    assert re.search(r'name="clearance_area_ha" [^>]*value="300"', page)
    assert re.search(r'name="cleared_area_ha" [^>]*value="150,5"', page)
    assert ">Ban quản lý ghi chú</textarea>" in page
    assert hidden(page, "version") == str(version + 1)

    zone = zone_row(db, code)
    assert (float(zone["clearance_area_ha"]), float(zone["cleared_area_ha"])) == (200, 120)
    assert float(zone["infrastructure_pct"]) == 40
    assert zone["version"] == version + 1
    assert status_entries(db, code) == entries + 1, "nothing of the second save is stored"
    with db.session() as session:
        assert not session.scalar(
            text("SELECT count(*) FROM zone_updates WHERE note = 'Ban quản lý ghi chú'")
        )
        assert not session.scalar(
            text("SELECT count(*) FROM audit_events WHERE username = :u AND action = 'zone.update'"),
            {"u": admin_user},
        )


def test_resending_a_form_that_was_saved_stores_nothing_new(app, db):
    code = "kcn-viet-han"
    username, _ = add_user(db, "field", districts=["Việt Yên"])
    client = logged_in(app, username)
    data = {**open_form(client, code), "as_of": "2026-11-20", "occupancy_pct": "64", "note": "gửi lại"}
    entries = status_entries(db, code)

    first = client.post(f"/zones/{code}/update", data=data)
    assert first.status_code == 303
    version = zone_row(db, code)["version"]

    again = client.post(f"/zones/{code}/update", data=data)  # the phone did not see the answer and resends
    assert again.status_code == 303
    assert again.headers["Location"] == f"/zones/{code}"
    assert status_entries(db, code) == entries + 1
    assert zone_row(db, code)["version"] == version
    assert float(zone_row(db, code)["occupancy_pct"]) == 64


# --- Idempotency-Key on PATCH ----------------------------------------------------------------------------------


def patch(client, code: str, token: str, etag: str, key: str, body: dict):
    return client.patch(
        f"/api/zones/{code}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "If-Match": etag, "Idempotency-Key": key},
    )


def test_patch_retried_with_the_same_idempotency_key_returns_the_first_result(app, db):
    code = "kcn-dinh-tram"
    _, token = add_user(db, "field", districts=["Việt Yên"])
    client = app.test_client()
    etag = client.get(f"/api/zones/{code}").headers["ETag"]
    key, body = str(uuid.uuid4()), {"occupancy_pct": 71, "as_of": "2026-11-20"}
    entries = status_entries(db, code)

    first = patch(client, code, token, etag, key, body)
    assert first.status_code == 200
    # the identical request again, stale If-Match included: a client that never saw the answer retries blind
    second = patch(client, code, token, etag, key, body)

    assert second.status_code == 200, "answered as the first time, not 412"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.get_json()["properties"]["occupancy_pct"] == 71
    assert status_entries(db, code) == entries + 1, "no new history entry"
    assert client.get(f"/api/zones/{code}").headers["ETag"] == first.headers["ETag"]


def test_patch_with_a_used_idempotency_key_and_the_new_etag_returns_the_same_result(app, db):
    code = "kcn-dinh-tram"
    _, token = add_user(db, "field", districts=["Việt Yên"])
    client = app.test_client()
    etag = client.get(f"/api/zones/{code}").headers["ETag"]
    key = str(uuid.uuid4())
    entries = status_entries(db, code)

    first = patch(client, code, token, etag, key, {"occupancy_pct": 73, "as_of": "2026-11-20"})
    assert first.status_code == 200
    second = patch(
        client, code, token, first.headers["ETag"], key, {"occupancy_pct": 73, "as_of": "2026-11-20"}
    )

    assert second.status_code == 200
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.get_json()["properties"]["occupancy_pct"] == 73
    assert status_entries(db, code) == entries + 1, "no new history entry"


def test_an_idempotency_key_reused_for_another_zone_is_refused_not_a_server_error(app, db):
    _, token = add_user(db, "admin")
    client = app.test_client()
    key = str(uuid.uuid4())
    first = patch(client, "kcn-van-trung", token, '"1"', key, {"occupancy_pct": 55})
    assert first.status_code == 200
    entries = status_entries(db, "kcn-hoa-phu")

    reused = patch(client, "kcn-hoa-phu", token, '"1"', key, {"occupancy_pct": 55})

    assert status_entries(db, "kcn-hoa-phu") == entries, "nothing stored"
    assert reused.status_code == 422, "the key names another request: a client error, not a server error"


def test_a_token_request_takes_one_connection_of_the_request_pool(app, db):
    """Noting a token's last use commits on a pool of its own. Taken from the request pool, 16 simultaneous token
    requests each held one connection and waited for a second until the pool timed out: 10 of 16 PATCHes got 500 on
    a loaded machine. Here the request pool has exactly one connection left, which the request itself needs."""
    _username, token = add_user(db, "viewer")
    pool = db.engine.pool
    held = [db.engine.connect() for _ in range(pool.size() + db.engine.pool._max_overflow - 1)]
    try:
        answered = app.test_client().get(
            "/api/zones/kcn-van-trung", headers={"Authorization": f"Bearer {token}"}
        )
        assert answered.status_code == 200
    finally:
        for connection in held:
            connection.close()
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL")) == 1
