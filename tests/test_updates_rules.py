"""The rules of a field update, through the form and the JSON API alike; photos, CSRF, login, audit and history.

Every refused save leaves the zone exactly as it was: same version, no history entry, no photo.
"""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction

import pytest
from PIL import Image, TiffImagePlugin
from sqlalchemy import text

from khgeo.services.photos import MAX_PHOTO_BYTES
from tests.conftest import make_app
from tests.helpers import PASSWORD, add_token, add_user, hidden, login

CODE = "kcn-van-trung"  # in Việt Yên
LAT, LON = 21.2125, 106.1065


# --- helpers --------------------------------------------------------------------------------------------------


# users, tokens, login and hidden fields: tests/helpers.py (imported here too by modules that import them from here)


def field_client(app):
    """A new field user of Việt Yên, logged in, reading the English UI (messages are asserted in English)."""
    client = app.test_client()
    client.username = add_user(app.extensions["khgeo.db"], "field", display_name="Nguyễn Thị Lan")
    client.get("/login?lang=en")
    assert login(client, client.username).status_code == 302
    return client


@pytest.fixture
def field(app):
    return field_client(app)


@pytest.fixture
def token(db) -> str:
    return add_token(db, add_user(db, "field"))


@pytest.fixture(scope="module")
def refusing(module_database_url):
    """One app and database shared by the tests in which every save must be refused (each asserts that the
    zone is left exactly as it was, so they cannot affect each other); their users are still their own."""
    application = make_app(module_database_url)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


def form_fields(client, code: str = CODE) -> dict[str, str]:
    html = client.get(f"/zones/{code}/update").get_data(as_text=True)
    return {name: hidden(html, name) for name in ("csrf_token", "version", "request_id")}


def post_form(client, values: dict, *, code: str = CODE, files=None):
    data = {**form_fields(client, code), "as_of": "2026-11-20", **values}
    if files:
        data["photos"] = files
    return client.post(f"/zones/{code}/update", data=data, content_type="multipart/form-data")


def patch_json(client, token: str, body, *, code: str = CODE, raw: str | None = None):
    etag = client.get(f"/api/zones/{code}").headers["ETag"]
    headers = {"Authorization": f"Bearer {token}", "If-Match": etag}
    if raw is not None:
        return client.patch(
            f"/api/zones/{code}?lang=en", data=raw, headers=headers, content_type="application/json"
        )
    return client.patch(f"/api/zones/{code}?lang=en", json=body, headers=headers)


def field_error(html: str, name: str) -> str | None:
    """The message shown right after the field's input (inside the same label), or None."""
    match = re.search(
        rf'<input name="{name}"[^>]*>\s*<span class="field-error" id="{name}-error">([^<]*)</span>', html
    )
    return match.group(1) if match else None


def state(db, code: str = CODE) -> tuple[int, int, int]:
    """(zone version, history entries, photos) of the zone."""
    with db.session() as session:
        return tuple(
            session.execute(
                text(
                    """SELECT z.version,
                              (SELECT count(*) FROM zone_updates u WHERE u.zone_id = z.id),
                              (SELECT count(*) FROM photos p JOIN zone_updates u ON u.id = p.update_id
                                WHERE u.zone_id = z.id)
                       FROM zones z WHERE z.code = :code"""
                ),
                {"code": code},
            ).one()
        )


def properties(client, code: str = CODE) -> dict:
    return client.get(f"/api/zones/{code}").get_json()["properties"]


# --- validation, with the message next to the field --------------------------------------------------------------

INVALID = [
    pytest.param(
        {"infrastructure_pct": "101"}, "infrastructure_pct", "between 0 and 100", id="percent-over-100"
    ),
    pytest.param(
        {"clearance_area_ha": "100", "cleared_area_ha": "120"},
        "cleared_area_ha",
        "cannot exceed the area to clear (100 ha)",
        id="cleared-over-area-to-clear",
    ),
    pytest.param(
        {"households_total": "50", "households_agreed": "60"},
        "households_agreed",
        "Cannot exceed the total number of households (50)",
        id="agreed-over-total",
    ),
    pytest.param({"as_of": "2026-11-27"}, "as_of", "cannot be in the future", id="date-after-today"),
    pytest.param(
        {"clearance_pct": "140", "clearance_area_ha": "200"},
        "clearance_pct",
        "between 0 and 100",
        id="pct-cleared-over-100",
    ),
]


@pytest.mark.parametrize(("values", "name", "message"), INVALID)
def test_form_refuses_an_invalid_value_with_the_message_next_to_the_field(refusing, values, name, message):
    db, field = refusing.extensions["khgeo.db"], field_client(refusing)
    before = state(db)
    response = post_form(field, values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    shown = field_error(html, name)
    assert shown is not None and message in shown, f"{name}: {shown!r}"
    for typed_name, typed in values.items():  # what the user typed is still in the form
        assert re.search(rf'name="{typed_name}" [^>]*value="{typed}"', html)
    assert state(db) == before, "a refused save changes nothing"


@pytest.mark.parametrize(("values", "name", "message"), INVALID)
def test_api_refuses_an_invalid_value_naming_the_field(refusing, values, name, message):
    db, client = refusing.extensions["khgeo.db"], refusing.test_client()
    token = add_token(db, add_user(db, "field"))
    before = state(db)
    response = patch_json(client, token, {"as_of": "2026-11-20", **values})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["status"] == 422
    assert message in error["fields"][name]
    assert state(db) == before


@pytest.mark.parametrize("channel", ["form", "json"])
def test_percent_cleared_derives_the_area_cleared(field, client, token, channel):
    if channel == "form":
        assert post_form(field, {"clearance_area_ha": "200", "clearance_pct": "37,5"}).status_code == 303
    else:
        assert patch_json(client, token, {"clearance_area_ha": 200, "clearance_pct": 37.5}).status_code == 200
    figures = properties(client)
    assert figures["clearance_area_ha"] == 200
    assert figures["cleared_area_ha"] == 75.0
    assert figures["clearance_pct"] == 37.5


def test_a_percent_typed_into_a_prefilled_form_is_not_silently_ignored(field, client):
    assert post_form(field, {"clearance_area_ha": "200", "cleared_area_ha": "150"}).status_code == 303
    html = field.get(f"/zones/{CODE}/update").get_data(as_text=True)
    prefilled = {
        name: re.search(rf'name="{name}" [^>]*value="([^"]*)"', html).group(1)
        for name in ("clearance_area_ha", "cleared_area_ha", "clearance_pct")
    }
    assert float(prefilled["clearance_pct"]) == 75

    response = post_form(field, {**prefilled, "clearance_pct": "80"})  # the user changes only the percent

    if response.status_code == 422:  # refusing the ambiguity, next to the field, would also be right
        assert field_error(response.get_data(as_text=True), "clearance_pct")
    else:
        assert properties(client)["clearance_pct"] == 80, "the percent the user typed is what is saved"


@pytest.mark.parametrize("channel", ["form", "json"])
def test_a_decimal_comma_is_accepted(field, client, token, channel):
    if channel == "form":
        response = post_form(field, {"infrastructure_pct": "12,5", "clearance_area_ha": "80,25"})
        assert response.status_code == 303
    else:
        response = patch_json(client, token, {"infrastructure_pct": "12,5", "clearance_area_ha": "80,25"})
        assert response.status_code == 200
    figures = properties(client)
    assert (figures["infrastructure_pct"], figures["clearance_area_ha"]) == (12.5, 80.25)


# the zone's facts (developer, stated area, …) are admins' (tests/test_zone_admin.py): 403 for field staff
@pytest.mark.parametrize(
    ("name", "status"), [("developer", 403), ("stated_area_ha", 403), ("version", 422), ("geometry", 422)]
)
def test_api_refuses_a_field_it_does_not_know(refusing, name, status):
    db, client = refusing.extensions["khgeo.db"], refusing.test_client()
    token = add_token(db, add_user(db, "field"))
    before = state(db)
    response = patch_json(client, token, {name: "x", "occupancy_pct": 50})
    assert response.status_code == status
    if status == 422:
        assert name in response.get_json()["error"]["fields"]
    assert state(db) == before
    assert properties(client)["occupancy_pct"] != 50, "not even the valid part is saved"


@pytest.mark.parametrize("raw", ["[1, 2]", '"cleared_area_ha"', "null", "42", "{not json"])
def test_api_refuses_a_body_that_is_not_a_json_object(refusing, raw):
    db, client = refusing.extensions["khgeo.db"], refusing.test_client()
    token = add_token(db, add_user(db, "field"))
    before = state(db)
    response = patch_json(client, token, None, raw=raw)
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]["message"]
    assert state(db) == before


# --- photos --------------------------------------------------------------------------------------------------


def _rational(value: float) -> TiffImagePlugin.IFDRational:
    fraction = Fraction(value).limit_denominator(10_000)
    return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)


def _dms(value: float) -> tuple:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (_rational(degrees), _rational(minutes), _rational(seconds))


def phone_jpeg() -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS position, camera model and time."""
    exif = Image.Exif()
    exif[0x0110] = "Pixel 7 of Lan"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", _dms(LAT), "E", _dms(LON)
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 09:26:53"
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 60)).save(out, format="JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert b"Exif" in data and b"Pixel 7" in data
    return data


def test_a_text_file_named_like_a_photo_is_refused_and_nothing_is_stored(refusing):
    db, field = refusing.extensions["khgeo.db"], field_client(refusing)
    before = state(db)
    upload = (io.BytesIO(b"khong phai anh, chi la van ban\n" * 20), "photo.jpg", "image/jpeg")
    response = post_form(field, {"infrastructure_pct": "50", "note": "kèm ảnh"}, files=upload)
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "photos")
    assert message is not None and "photo.jpg" in message and "not a JPEG or PNG" in message
    assert state(db) == before


def test_an_oversized_photo_is_refused_and_nothing_is_stored(refusing):
    db, field = refusing.extensions["khgeo.db"], field_client(refusing)
    before = state(db)
    big = b"\xff\xd8\xff\xe0" + bytes(MAX_PHOTO_BYTES + 1 - 4)
    upload = (io.BytesIO(big), "IMG_2001.jpg", "image/jpeg")
    response = post_form(field, {"infrastructure_pct": "50"}, files=upload)
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "photos")
    assert message is not None and "IMG_2001.jpg" in message and "10 MB" in message
    assert state(db) == before


def test_a_phone_photo_is_stored_clean_shown_as_thumbnail_with_its_gps(field, db):
    version, entries, photos = state(db)
    upload = (io.BytesIO(phone_jpeg()), "IMG_0042.jpg", "image/jpeg")
    response = post_form(field, {"infrastructure_pct": "50", "note": "Ảnh hiện trường"}, files=upload)
    assert response.status_code == 303
    assert state(db) == (version + 1, entries + 1, photos + 1)

    page = field.get(f"/zones/{CODE}").get_data(as_text=True)
    thumb = re.search(r'<a href="/photos/(\d+)"><img src="/photos/(\d+)/thumb" alt="IMG_0042.jpg"', page)
    assert thumb and thumb.group(1) == thumb.group(2)
    assert f"GPS {LAT:.5f}, {LON:.5f}" in page

    full = field.get(f"/photos/{thumb.group(1)}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    stored = Image.open(io.BytesIO(full.data))
    assert stored.format == "JPEG" and stored.size == (640, 480)
    assert not stored.getexif(), "no EXIF at all"
    assert b"Exif" not in full.data and b"Pixel 7" not in full.data
    small = field.get(f"/photos/{thumb.group(1)}/thumb")
    assert small.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(small.data)).size) <= 320


# --- CSRF ----------------------------------------------------------------------------------------------------


def test_a_form_post_without_the_csrf_token_is_refused(refusing):
    db, field = refusing.extensions["khgeo.db"], field_client(refusing)
    before = state(db)
    data = {**form_fields(field), "as_of": "2026-11-20", "infrastructure_pct": "50"}
    del data["csrf_token"]
    response = field.post(f"/zones/{CODE}/update", data=data)
    assert response.status_code == 400
    assert state(db) == before


def test_a_cookie_session_patch_needs_the_csrf_header(field, db):
    csrf = form_fields(field)["csrf_token"]
    etag = field.get(f"/api/zones/{CODE}").headers["ETag"]
    before = state(db)

    refused = field.patch(f"/api/zones/{CODE}", json={"occupancy_pct": 61}, headers={"If-Match": etag})
    assert refused.status_code == 400
    assert "X-CSRFToken" in refused.get_json()["error"]["message"]
    wrong = field.patch(
        f"/api/zones/{CODE}", json={"occupancy_pct": 61}, headers={"If-Match": etag, "X-CSRFToken": "forged"}
    )
    assert wrong.status_code == 400
    assert state(db) == before

    accepted = field.patch(
        f"/api/zones/{CODE}", json={"occupancy_pct": 61}, headers={"If-Match": etag, "X-CSRFToken": csrf}
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["properties"]["occupancy_pct"] == 61


# --- login ---------------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(app, db):
    username = add_user(db, "viewer")
    client = app.test_client()
    client.get("/login?lang=en")
    for _ in range(5):
        assert login(client, username, "sai-mat-khau-roi").status_code == 401
    sixth = login(client, username, PASSWORD)
    assert sixth.status_code == 429
    assert "Too many failed logins" in sixth.get_data(as_text=True)
    assert client.get(f"/zones/{CODE}/update").status_code == 302, "still not logged in"


def _session_cookie(response) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("khgeo_session=")]
    return cookie


def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http(app, db):
    username = add_user(db, "viewer")
    response = login(app.test_client(), username)
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app, db):
    username = add_user(db, "viewer")
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": hidden(page.get_data(as_text=True), "csrf_token"),
        },
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- audit log and history ---------------------------------------------------------------------------------------


def test_the_audit_log_lists_an_update_with_old_and_new_values(app, db, field):
    assert (
        post_form(field, {"infrastructure_pct": "55", "note": "Hoàn thiện đường nội bộ"}).status_code == 303
    )
    admin = app.test_client()
    assert login(admin, add_user(db, "admin")).status_code == 302

    page = admin.get("/admin/audit?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = next(r for r in html.split("<tr>") if "zone.update" in r and CODE in r)
    assert field.username in row
    assert re.search(r"Infrastructure completion \(%\): — → 55([.,]0+)?<", row), "old → new"
    assert re.search(r"(2022-10-31|31/10/2022) → (2026-11-20|20/11/2026)", row)
    assert "Hoàn thiện đường nội bộ" in row

    export = admin.get("/admin/audit.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert list(rows[0]) == ["at", "username", "action", "entity_type", "entity_id", "changes", "context"]
    (update,) = [r for r in rows if r["action"] == "zone.update" and r["entity_id"] == CODE]
    assert update["username"] == field.username
    changes = json.loads(update["changes"])
    assert changes["infrastructure_pct"] == [None, 55.0]
    assert json.loads(update["context"])["note"] == "Hoàn thiện đường nội bộ"


def test_a_viewer_cannot_see_the_audit_log(app, db):
    viewer = app.test_client()
    assert login(viewer, add_user(db, "viewer")).status_code == 302
    assert viewer.get("/admin/audit").status_code == 403
    assert viewer.get("/admin/audit.csv").status_code == 403


def test_the_zone_history_shows_who_updated_and_their_note(field):
    assert post_form(field, {"occupancy_pct": "97", "note": "Đã kiểm tra thực địa"}).status_code == 303
    page = field.get(f"/zones/{CODE}").get_data(as_text=True)
    timeline = page[page.index('<ol class="timeline">') : page.index("</ol>")]
    newest = timeline.split('<li class="timeline-entry')[1]
    assert "20/11/2026" in newest
    assert "Nguyễn Thị Lan" in newest
    assert "Đã kiểm tra thực địa" in newest
    assert re.search(r"100([.,]0+)? → 97([.,]0+)?<", newest), "the change, old → new (occupancy)"


def test_the_history_shows_changed_dates_as_dd_mm_yyyy(app, db):
    client = app.test_client()
    assert login(client, add_user(db, "field")).status_code == 302  # Vietnamese, the default
    assert post_form(client, {"occupancy_pct": "97"}).status_code == 303
    page = client.get(f"/zones/{CODE}").get_data(as_text=True)
    newest = page[page.index('<ol class="timeline">') :].split('<li class="timeline-entry')[1]
    assert "31/10/2022 → 20/11/2026" in newest
