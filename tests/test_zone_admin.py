"""Admins edit a zone's facts in the browser and through the JSON API: create, edit, retire and restore.

One check of the values (khgeo.services.zone_info.validate_info) for the form, the API and imports; version
checks as for status updates; a history entry ("Sửa thông tin khu") and an audit event for every change.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.helpers import PASSWORD, add_token, logged_in, make_user
from tests.helpers import csrf_of as csrf

ZONE = "kcn-quang-chau"  # Việt Yên (GSO 222)


# -- helpers ----------------------------------------------------------------------------------------------------
def add_user(db, role: str, *, districts=()) -> tuple[str, str]:
    """A new user of this role; returns (username, API token)."""
    username = make_user(db, role, districts=districts)
    return username, add_token(db, username)


@pytest.fixture
def admin(app, db):
    return logged_in(app, add_user(db, "admin")[0])


@pytest.fixture
def admin_token(db) -> str:
    return add_user(db, "admin")[1]


def zone_row(db, code: str):
    with db.session() as session:
        return (
            session.execute(text("SELECT * FROM zones WHERE code = :c"), {"c": code}).mappings().one_or_none()
        )


def count(db, sql: str, **params) -> int:
    with db.session() as session:
        return session.scalar(text(sql), params)


def form_fields(html: str) -> dict[str, str]:
    """What a browser would send back from the edit form, unchanged: inputs, selected options, textareas."""
    form = html[html.index('id="zone-edit-form"') : html.index("</form>", html.index('id="zone-edit-form"'))]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = _unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = _unescape(selected.group(1)) if selected else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = _unescape(body)
    return fields


def _unescape(value: str) -> str:
    return (
        value.replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def open_edit_form(client, code: str) -> dict[str, str]:
    response = client.get(f"/zones/{code}/edit")
    assert response.status_code == 200
    return form_fields(response.get_data(as_text=True))


def api_codes(client, **args) -> set[str]:
    response = client.get("/api/zones", query_string=args)
    assert response.status_code == 200
    return {feature["id"] for feature in response.get_json()["features"]}


def etag(client, code: str) -> str:
    return client.get(f"/api/zones/{code}").headers["ETag"]


# -- create -----------------------------------------------------------------------------------------------------
def test_an_admin_adds_a_zone_from_the_form_and_it_is_on_the_map_and_in_search(app, db, admin, client):
    page = admin.get("/")
    assert "/zones/new" in page.get_data(as_text=True), "the map's list offers 'Thêm khu/cụm' to admins"
    assert "/zones/new" not in client.get("/").get_data(as_text=True), "not to visitors"
    fields = form_fields(admin.get("/zones/new").get_data(as_text=True))
    fields.update(
        kind="CCN",
        name="Tân Dĩnh Hai",
        code="",
        aliases="CCN Tân Dĩnh 2\nTan Dinh II",
        developer="Công ty CP Hạ tầng Lạng Giang",
        managing_agency="BQL",
        operating_status="planned",
        stated_area_ha="48,5",
        district="Lạng Giang",
        communes="Tân Dĩnh; Phi Mô",
        notes="Theo quyết định thành lập.",
        source_stated_area_ha="https://example.org/qd-thanh-lap",
    )
    fields["district"] = next(
        code for code, name in _districts(db) if name == "Lạng Giang"
    )  # the select sends the GSO code
    response = admin.post("/zones/new", data=fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/zones/ccn-tan-dinh-hai"), "code made from kind and name"
    row = zone_row(db, "ccn-tan-dinh-hai")
    assert row["name"] == "Tân Dĩnh Hai" and row["kind"] == "CCN"
    assert row["aliases"] == ["CCN Tân Dĩnh 2", "Tan Dinh II"]
    assert row["communes"] == ["Tân Dĩnh", "Phi Mô"]
    assert row["stated_area_ha"] == Decimal("48.50")
    assert row["operating_status"] == "planned" and row["notes"] == "Theo quyết định thành lập."
    assert row["sources"] == {"stated_area_ha": ["https://example.org/qd-thanh-lap"]}
    assert api_codes(client, q="tan dinh hai") == {"ccn-tan-dinh-hai"}
    assert "ccn-tan-dinh-hai" in api_codes(client, q="tan dinh ii"), "found by an alias too"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'href="https://example.org/qd-thanh-lap"' in page, "a typed web address is the source's link"
    assert "Ban Quản lý các khu công nghiệp tỉnh" in page
    assert (
        count(
            db,
            "SELECT count(*) FROM audit_events WHERE action = 'zone.create' AND entity_id = :c",
            c="ccn-tan-dinh-hai",
        )
        == 1
    )


def _districts(db) -> list[tuple[str, str]]:
    with db.session() as session:
        return list(session.execute(text("SELECT code, name FROM districts")).all())


def test_create_refuses_a_taken_code_and_a_missing_name_with_messages_and_stores_nothing(app, db, admin):
    before = count(db, "SELECT count(*) FROM zones")
    fields = form_fields(admin.get("/zones/new").get_data(as_text=True))
    fields.update(kind="KCN", name="", code=ZONE)
    response = admin.post("/zones/new", data=fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Vui lòng nhập tên khu." in html
    assert f"Mã {ZONE} đã được dùng cho khu khác." in html
    assert count(db, "SELECT count(*) FROM zones") == before


# -- edit -------------------------------------------------------------------------------------------------------
def test_rename_shows_on_the_map_in_search_and_in_the_history(app, db, admin, client):
    fields = open_edit_form(admin, ZONE)
    assert fields["name"] == "Quang Châu" and fields["version"] == "1"
    fields.update(name="Quang Châu Mở Rộng", note="Tên theo QĐ mở rộng")
    response = admin.post(f"/zones/{ZONE}/edit", data=fields)
    assert response.status_code == 303
    assert api_codes(client, q="quang chau mo rong") == {ZONE}
    assert "Quang Châu Mở Rộng" in client.get("/").get_data(as_text=True), "the map's list has the new name"
    feature = client.get(f"/api/zones/{ZONE}")
    assert feature.get_json()["properties"]["name"] == "Quang Châu Mở Rộng"
    assert feature.headers["ETag"] == '"2"'
    page = admin.get(f"/zones/{ZONE}").get_data(as_text=True)
    assert "Sửa thông tin khu" in page, "the history entry is labelled"
    assert "Quang Châu → Quang Châu Mở Rộng" in page and "Tên theo QĐ mở rộng" in page
    assert count(db, "SELECT count(*) FROM zone_updates WHERE kind = 'info'") == 1
    assert (
        count(db, "SELECT count(*) FROM audit_events WHERE action = 'zone.edit' AND entity_id = :c", c=ZONE)
        == 1
    )


EDITS = [
    ("kind", "CCN", "kind", "CCN"),
    ("aliases", "KCN Quang Châu\nQuang Chau IP", "aliases", ["KCN Quang Châu", "Quang Chau IP"]),
    ("developer", "Công ty Mới", "developer", "Công ty Mới"),
    ("operating_status", "suspended", "operating_status", "suspended"),
    ("operating_status", "", "operating_status", None),
    ("stated_area_ha", "-3", "stated_area_ha", None),
    ("stated_area_ha", "600,25", "stated_area_ha", Decimal("600.25")),
    ("stated_area_ha", "", "stated_area_ha", None),
    ("communes", "Quang Châu; Vân Trung", "communes", ["Quang Châu", "Vân Trung"]),
    ("notes", "Ghi chú <b>mới</b>", "notes", "Ghi chú <b>mới</b>"),
    ("source_developer", "KBC08; https://example.org/a", "sources", None),
    ("code", "kcn-quang-chau-sbg", "code", "kcn-quang-chau-sbg"),
]


@pytest.mark.parametrize(
    ("field", "typed", "column", "stored"), EDITS, ids=[f"{e[0]}={e[1]!r}" for e in EDITS]
)
def test_each_field_can_be_edited(app, db, admin, field, typed, column, stored):
    fields = open_edit_form(admin, ZONE)
    fields[field] = typed
    response = admin.post(f"/zones/{ZONE}/edit", data=fields)
    if typed == "-3":  # refused with the import's message, nothing stored
        assert response.status_code == 422
        assert "Diện tích phải là số héc-ta lớn hơn 0." in response.get_data(as_text=True)
        assert zone_row(db, ZONE)["version"] == 1
        return
    assert response.status_code == 303, response.get_data(as_text=True)
    code = typed if field == "code" else ZONE
    row = zone_row(db, code)
    assert row is not None and row["version"] == 2
    if field == "source_developer":
        assert row["sources"]["developer"] == ["KBC08", "https://example.org/a"]
        assert row["sources"]["stated_area_ha"] == ["VNS22", "FNT", "VDATA"], "other facts' sources kept"
    else:
        assert row[column] == stored
    if field == "code":
        assert zone_row(db, ZONE) is None
        assert response.headers["Location"].endswith(f"/zones/{code}")


def test_district_and_managing_body_are_chosen_from_lists(app, db, admin):
    fields = open_edit_form(admin, ZONE)
    hiep_hoa = next(code for code, name in _districts(db) if name == "Hiệp Hòa")
    fields.update(district=hiep_hoa, managing_agency="BQL")
    assert admin.post(f"/zones/{ZONE}/edit", data=fields).status_code == 303
    row = zone_row(db, ZONE)
    assert row["district_id"] == count(db, "SELECT id FROM districts WHERE code = :c", c=hiep_hoa)
    assert row["managing_agency_id"] == count(db, "SELECT id FROM agencies WHERE code = 'BQL'")
    assert ZONE in api_codes(app.test_client(), district=hiep_hoa)


def test_saving_the_form_unchanged_stores_nothing(app, db, admin):
    response = admin.post(f"/zones/{ZONE}/edit", data=open_edit_form(admin, ZONE))
    assert response.status_code == 303
    assert zone_row(db, ZONE)["version"] == 1
    assert count(db, "SELECT count(*) FROM zone_updates WHERE kind = 'info'") == 0


def test_a_stale_version_is_refused_with_409_showing_both_values_and_nothing_is_overwritten(
    app, db, admin, admin_token
):
    fields = open_edit_form(admin, ZONE)  # read at version 1
    other = app.test_client().patch(
        f"/api/zones/{ZONE}",
        json={"developer": "Người khác đã lưu"},
        headers={"Authorization": f"Bearer {admin_token}", "If-Match": '"1"'},
    )
    assert other.status_code == 200
    fields["developer"] = "Tôi gõ"
    response = admin.post(f"/zones/{ZONE}/edit", data=fields)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Người khác đã lưu" in html and "Tôi gõ" in html, "current vs typed values"
    assert 'name="version" value="2"' in html, "saving again is based on the current version"
    assert zone_row(db, ZONE)["developer"] == "Người khác đã lưu"


def test_missing_csrf_token_is_400_and_nothing_changes(app, db, admin):
    fields = open_edit_form(admin, ZONE)
    fields.pop("csrf_token")
    fields["name"] = "Không được lưu"
    assert admin.post(f"/zones/{ZONE}/edit", data=fields).status_code == 400
    create = {"kind": "KCN", "name": "Không CSRF"}
    assert admin.post("/zones/new", data=create).status_code == 400
    assert admin.post(f"/zones/{ZONE}/retire", data={"version": "1"}).status_code == 400
    assert zone_row(db, ZONE)["name"] == "Quang Châu" and zone_row(db, ZONE)["retired_at"] is None


@pytest.mark.parametrize("role", ["field", "viewer", "planner"])
def test_non_admins_get_403_on_the_pages_and_the_api(app, db, role):
    username, token = add_user(db, role, districts=["Việt Yên"] if role == "field" else ())
    client = logged_in(app, username)
    token_csrf = csrf(client.get("/login").get_data(as_text=True))
    assert client.get(f"/zones/{ZONE}/edit").status_code == 403
    assert client.post(f"/zones/{ZONE}/edit", data={"csrf_token": token_csrf, "name": "x"}).status_code == 403
    assert client.get("/zones/new").status_code == 403
    assert (
        client.post(f"/zones/{ZONE}/retire", data={"csrf_token": token_csrf, "version": "1"}).status_code
        == 403
    )
    assert client.get("/admin/zones/retired").status_code == 403
    assert "/edit" not in client.get(f"/zones/{ZONE}").get_data(as_text=True), "no 'Sửa thông tin khu' link"
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    for body in ({"name": "x"}, {"retired": True}, {"sources": {"name": ["ZF"]}}):
        response = api.patch(f"/api/zones/{ZONE}", json=body, headers={**bearer, "If-Match": '"1"'})
        assert response.status_code == 403, body
        assert response.get_json()["error"]["status"] == 403
    assert api.post("/api/zones", json={"kind": "KCN", "name": "x"}, headers=bearer).status_code == 403
    if role == "field":  # field staff keep their rights on the site status
        response = api.patch(
            f"/api/zones/{ZONE}", json={"infrastructure_pct": 70}, headers={**bearer, "If-Match": '"1"'}
        )
        assert response.status_code == 200
    assert zone_row(db, ZONE)["name"] == "Quang Châu"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(f"/zones/{ZONE}/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.patch(f"/api/zones/{ZONE}", json={"name": "x"}).status_code == 401


# -- JSON API ---------------------------------------------------------------------------------------------------
def test_api_patch_edits_facts_with_etags_and_the_forms_messages(app, db, admin, admin_token):
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {admin_token}"}
    assert api.patch(f"/api/zones/{ZONE}", json={"name": "X"}, headers=bearer).status_code == 428
    stale = api.patch(f"/api/zones/{ZONE}", json={"name": "X"}, headers={**bearer, "If-Match": '"7"'})
    assert stale.status_code == 412
    bad = api.patch(
        f"/api/zones/{ZONE}",
        json={"stated_area_ha": -5, "kind": "KCX", "code": "Có Dấu"},
        headers={**bearer, "If-Match": '"1"'},
    )
    assert bad.status_code == 422
    fields = bad.get_json()["error"]["fields"]
    form = open_edit_form(admin, ZONE)
    form.update(stated_area_ha="-5", code="Có Dấu")
    html = admin.post(f"/zones/{ZONE}/edit", data=form).get_data(as_text=True)
    assert fields["stated_area_ha"] in html, "the API's message is the form's"
    assert "KCX" in fields["kind"]
    mixed = api.patch(
        f"/api/zones/{ZONE}", json={"name": "Y", "occupancy_pct": 5}, headers={**bearer, "If-Match": '"1"'}
    )
    assert mixed.status_code == 422
    response = api.patch(
        f"/api/zones/{ZONE}",
        json={"developer": "SBG", "sources": {"developer": ["KBC08"]}, "note": "qua API"},
        headers={**bearer, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["properties"]["developer"] == "SBG"
    assert zone_row(db, ZONE)["sources"]["developer"] == ["KBC08"]


def test_api_post_creates_a_zone(app, db, admin_token):
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {admin_token}"}
    response = api.post(
        "/api/zones", json={"kind": "KCN", "name": "Song Khê Nam", "stated_area_ha": 44.91}, headers=bearer
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/api/zones/kcn-song-khe-nam")
    assert response.get_json()["properties"]["area_ha"] == 44.91
    again = api.post("/api/zones", json={"kind": "KCN", "name": "Song Khê Nam"}, headers=bearer)
    assert again.status_code == 201 and again.get_json()["id"] == "kcn-song-khe-nam-2", "a free code"
    taken = api.post("/api/zones", json={"kind": "KCN", "name": "A", "code": ZONE}, headers=bearer)
    assert taken.status_code == 422 and "code" in taken.get_json()["error"]["fields"]
    assert api.post("/api/zones", json={"name": "Không loại"}, headers=bearer).status_code == 422


def test_a_cookie_session_must_send_the_csrf_header_to_the_api(app, db, admin):
    assert admin.post("/api/zones", json={"kind": "KCN", "name": "Không CSRF"}).status_code == 400
    assert (
        admin.patch(f"/api/zones/{ZONE}", json={"name": "x"}, headers={"If-Match": '"1"'}).status_code == 400
    )
    assert zone_row(db, ZONE)["name"] == "Quang Châu"


# -- retire and restore -----------------------------------------------------------------------------------------
def test_a_retired_zone_leaves_every_listing_keeps_its_page_and_history_and_can_be_restored(
    app, db, admin, admin_token, client
):
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {admin_token}"}
    total = len(api_codes(client))
    response = api.patch(
        f"/api/zones/{ZONE}",
        json={"retired": True, "note": "Gộp vào khu khác"},
        headers={**bearer, "If-Match": etag(client, ZONE)},
    )
    assert response.status_code == 200

    assert ZONE not in api_codes(client) and len(api_codes(client)) == total - 1
    assert ZONE not in api_codes(client, q="quang chau")
    assert "Quang Châu" not in client.get("/?kind=KCN").get_data(as_text=True).split('class="zone-list"')[1]
    items = client.get("/ogcapi/collections/zones/items?limit=1000&f=json").get_json()
    assert ZONE not in {feature["id"] for feature in items["features"]}
    assert items["numberMatched"] == total - 1
    assert client.get(f"/ogcapi/collections/zones/items/{ZONE}?f=json").status_code == 404
    exported = client.get("/export/zones.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert ZONE not in {row["code"] for row in rows} and len(rows) == total - 1
    everything = client.get("/export/zones.csv?retired=include").get_data(as_text=True).lstrip("\ufeff")
    assert ZONE in {row["code"] for row in csv.DictReader(io.StringIO(everything))}, "on request"
    assert api_codes(client, retired="only") == {ZONE}
    assert client.get("/api/zones?retired=maybe").status_code == 400
    planning = admin.get("/planning")  # the planners' views and the register are for logged-in users
    assert planning.status_code == 200 and "Quang Châu" not in planning.get_data(as_text=True)
    register = admin.get("/tasks")
    assert register.status_code == 200 and ZONE not in register.get_data(as_text=True)

    page = admin.get(f"/zones/{ZONE}")  # notes in the history are for logged-in readers
    assert page.status_code == 200, "the page stays"
    html = page.get_data(as_text=True)
    assert "Đã ngừng theo dõi" in html and "Gộp vào khu khác" in html
    assert "đang theo dõi → đã ngừng theo dõi" in html, "the history shows the change"
    assert client.get(f"/api/zones/{ZONE}").status_code == 200, "readable by its code, to restore it"

    retired_page = admin.get("/admin/zones/retired").get_data(as_text=True)
    assert "Khu đã ngừng theo dõi" in retired_page and f"/zones/{ZONE}/restore" in retired_page
    restore = admin.post(
        f"/zones/{ZONE}/restore",
        data={"csrf_token": csrf(retired_page), "version": str(zone_row(db, ZONE)["version"])},
    )
    assert restore.status_code == 303
    assert ZONE in api_codes(client) and len(api_codes(client)) == total
    assert zone_row(db, ZONE)["retired_at"] is None
    actions = {row[0] for row in _rows(db, "SELECT action FROM audit_events WHERE entity_id = :c", c=ZONE)}
    assert {"zone.retire", "zone.restore"} <= actions
    assert count(db, "SELECT count(*) FROM zone_updates WHERE kind = 'info'") == 2


def _rows(db, sql: str, **params):
    with db.session() as session:
        return list(session.execute(text(sql), params).all())


def test_retire_from_the_edit_page(app, db, admin, client):
    html = admin.get(f"/zones/{ZONE}/edit").get_data(as_text=True)
    response = admin.post(
        f"/zones/{ZONE}/retire",
        data={"csrf_token": csrf(html), "version": "1", "note": "Không còn quy hoạch"},
    )
    assert response.status_code == 303
    assert ZONE not in api_codes(client)
    stale = admin.post(f"/zones/{ZONE}/restore", data={"csrf_token": csrf(html), "version": "1"})
    assert stale.status_code == 303 and zone_row(db, ZONE)["retired_at"] is not None, (
        "a stale restore is refused"
    )


# -- in a browser -----------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(360, 740), (1366, 768)])
def test_the_edit_form_fits_a_phone_and_saves(live_server, browser, width, height):
    from tests.conftest import PageWatch

    code = "kcn-dinh-tram" if width == 360 else "kcn-van-trung"
    username = add_user(live_server.app.extensions["khgeo.db"], "admin")[0]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    watch = PageWatch(context.new_page())
    page = watch.page
    try:
        page.goto(f"{live_server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/zones/{code}")
        page.click("main a:has-text('Sửa thông tin khu')")
        page.wait_for_url(f"{live_server.url}/zones/{code}/edit")

        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
        for field in page.locator(
            "#zone-edit-form input:visible, #zone-edit-form select, #zone-edit-form textarea"
        ).all():
            box = field.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, field.get_attribute("name")
        save = page.locator("#zone-edit-form button[type=submit]")
        assert save.bounding_box()["height"] >= 44, "a thumb-sized Save button"
        assert page.locator("#zone-edit-form select[name=district] option").count() > 5

        new_name = f"Tên mới {width}"
        page.fill("input[name=name]", new_name)
        page.fill("input[name=source_name]", "KH-NQ24")
        page.fill("input[name=note]", "Đổi tên theo quyết định")
        save.click()
        page.wait_for_url(f"{live_server.url}/zones/{code}")
        assert page.locator("h1").inner_text().endswith(new_name)
        assert page.locator(".flash-success").count() == 1
        newest = page.locator("ol.timeline > li").first
        assert "Sửa thông tin khu" in newest.inner_text() and "Đổi tên theo quyết định" in newest.inner_text()
        assert watch.errors == []
    finally:
        context.close()


def test_a_flood_of_aliases_or_communes_is_refused_and_nothing_changes(app, db, admin_token):
    """Aliases and communes are bounded lists: 51 names, or one name of 201 characters, are refused with a message."""
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {admin_token}", "If-Match": '"1"'}
    before = zone_row(db, ZONE)
    for body in (
        {"aliases": [f"tên {i}" for i in range(51)]},
        {"communes": ["x" * 201]},
        {"aliases": ";".join(f"a{i}" for i in range(10_000))},
    ):
        refused = api.patch(f"/api/zones/{ZONE}", json=body, headers=bearer)
        assert refused.status_code == 422, body.keys()
        (field,) = body
        assert "50" in refused.get_json()["error"]["fields"][field]
    assert zone_row(db, ZONE) == before
    fine = api.patch(f"/api/zones/{ZONE}", json={"aliases": [f"tên {i}" for i in range(50)]}, headers=bearer)
    assert fine.status_code == 200
