"""Who sees what: every row of khgeo.services.authz.ACCESS (the table README.md shows), walked on every channel
by every kind of caller, with the exact status each must get.

Callers: anonymous with KHGEO_PUBLIC_READ on and off, each role (an official viewer, an agency's viewer, field
staff of Việt Yên, a planner, an admin) through its browser session and its API token, a disabled account (its old
session and token), a revoked token and an expired one. Not allowed means: anonymous → 302 to the login page (HTML) or 401
(/api, /ogcapi); logged in → 403. A dead token (disabled account, revoked, expired) → 401 on every channel.
Writes (update form, PATCH, outline editor) are walked by tests/test_authz_matrix.py.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import select, text

from khgeo.cli import main
from khgeo.models import Agency, AgencyReport, ApiToken, Photo, User, Zone, ZoneUpdate
from khgeo.services import accounts, updates
from khgeo.services.authz import ACCESS, AUDIENCES, access_table_markdown
from khgeo.services.followup import calendars
from khgeo.services.photos import process_photo
from tests.conftest import make_app
from tests.helpers import PASSWORD, login
from tests.parcel_helpers import make_parcel

ZONE = "kcn-van-trung"  # Việt Yên: the field user's district
YEAR = 2026
STAFF_NAME = "Nguyễn Thị Lan"
NOTE = "Đã gặp hộ ông Trần Văn Bình"
GPS = "21.27654"

# concrete requests for every row of the table ({photo} is the stored site photo)
SAMPLES: dict[str, list[str]] = {
    "map": ["/", f"/zones/{ZONE}", f"/zones/{ZONE}/popup"],
    "tasks": ["/tasks", "/tasks/II.3.4.2", "/agencies/SCT"],
    "planning": ["/planning"],
    "api-zones": ["/api/zones", f"/api/zones/{ZONE}"],
    "api-tasks": ["/api/tasks", "/api/tasks/II.3.4.2"],
    "ogcapi": ["/ogcapi/", "/ogcapi/collections/zones/items?limit=2"],
    "exports": ["/export/zones.geojson", "/export/zones.csv"],
    "tiles": ["/tiles/parcels/14/13028/7120.mvt"],
    "photos": ["/photos/{photo}", "/photos/{photo}/thumb"],
    "planning-xlsx": ["/planning/wwtp.xlsx"],
    "consolidated": [f"/reports/{YEAR}/consolidated.xlsx", f"/reports/{YEAR}/consolidated.docx"],
    "reports": [f"/reports?year={YEAR}"],
    "own-report": [f"/reports/{YEAR}/SCT", f"/reports/{YEAR}/SCT/attachment"],
    "other-report": [f"/reports/{YEAR}/CA", f"/reports/{YEAR}/CA/attachment"],
    "audit": ["/admin/audit", "/admin/audit.csv"],
    "admin": ["/admin/import"],
    "parcel-import": ["/admin/parcels/import"],
    "parcel-exports": [
        f"/zones/{ZONE}/parcels.gpkg",
        f"/zones/{ZONE}/parcels.xlsx",
        f"/zones/{ZONE}/parcels.geojson",
    ],
    "health": ["/healthz"],
    "people": [f"/zones/{ZONE}"],
    "gps": [f"/zones/{ZONE}"],
    "health-details": ["/healthz"],
    "notifications": ["/notifications", "/notifications/settings"],
    "outbox": ["/admin/outbox"],
    "letter": ["/agencies/SCT/letter.docx"],
    "calendar": ["/calendar/{calendar}.ics"],  # SCT's feed: its secret address is the credential
    "parcels": ["/parcels/{parcel}", "/parcels?q=1/1"],
    "api-parcels": [f"/api/zones/{ZONE}/parcels", "/api/parcels/{parcel}"],
    "land-users": ["/api/parcels/{parcel}"],
    "parcel-timers": ["/admin/parcel-timers"],
    "parcel-sheet": [f"/zones/{ZONE}/parcels/stages"],
}
# rows whose answer is always 200 and whose content says what the caller may see
CONTENT_ROWS = {"people", "gps", "health-details", "land-users"}
LAND_USER = "Nguyễn Văn Thửa"


def test_every_row_of_the_table_is_walked():
    assert set(SAMPLES) == {row.key for row in ACCESS}


def test_the_readme_table_is_the_one_the_code_enforces():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert access_table_markdown() in readme, (
        "README.md's 'Who sees what' table: regenerate it from authz.ACCESS"
    )


DEAD_TOKENS = ("revoked", "expired")  # tokens that must get 401 on every channel, even where anyone may read


@dataclass
class Caller:
    name: str  # an audience of the table, or "disabled" / "revoked" / "expired"
    client: object  # the browser session (anonymous when not logged in)
    token: str | None

    @property
    def audience(self) -> str:
        return "anonymous" if self.name == "disabled" else self.name


def _login(client, username: str) -> None:
    assert login(client, username).status_code == 302, "the login works"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def _seed_history_and_reports(db, field_user_id: int | None) -> int:
    """A field update with a note and a photo taken at a GPS position; SCT's and CA's reports with attachments."""
    processed = process_photo(_jpeg(), "hien-truong.jpg")
    with db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
        entry = ZoneUpdate(
            zone=zone,
            zone_version=zone.version,
            kind="status",
            source="web",
            note=NOTE,
            changes={},
            user_id=field_user_id,
            as_of=dt.date(2026, 11, 20),
        )
        photo = Photo(
            update=entry, **{**updates.photo_columns(processed), "gps_lat": float(GPS), "gps_lon": 106.12345}
        )
        session.add(entry)
        for code in ("SCT", "CA"):
            agency = session.scalars(select(Agency).where(Agency.code == code)).one()
            session.add(
                AgencyReport(
                    agency=agency,
                    year=YEAR,
                    summary=f"Báo cáo nội bộ của {code}",
                    attachment=b"%PDF-1.4 internal",
                    attachment_name=f"bao-cao-{code}.pdf",
                    attachment_type="application/pdf",
                )
            )
        session.flush()
        return photo.id


@pytest.fixture(scope="module")
def world(module_database_url):
    """Two apps on one database (public read on and off) and one caller per column of the table."""
    public_app = make_app(module_database_url, KHGEO_PUBLIC_READ=True)
    private_app = make_app(module_database_url, KHGEO_PUBLIC_READ=False)
    db = private_app.extensions["khgeo.db"]
    accounts_spec = {
        "viewer": ("viewer", [], None),
        "agency": ("viewer", [], "SCT"),
        "field": ("field", ["Việt Yên"], None),
        "planner": ("planner", [], None),
        "admin": ("admin", [], None),
        "disabled": ("field", ["Việt Yên"], None),
        "revoked": ("viewer", [], None),
        "expired": ("viewer", [], None),
    }
    tokens, ids = {}, {}
    with db.session() as session:
        for name, (role, districts, agency) in accounts_spec.items():
            user = accounts.create_user(
                session,
                f"{name}-{uuid.uuid4().hex[:6]}",
                PASSWORD,
                role,
                districts=districts,
                agency=agency,
                display_name=STAFF_NAME if name == "field" else "",
            )
            tokens[name] = accounts.new_token(session, user.username)
            ids[name] = user.username
        field_id = session.scalars(select(User.id).where(User.username == ids["field"])).one()
    photo_id = _seed_history_and_reports(db, field_id)
    with db.session() as session:
        sct = session.scalars(select(Agency).where(Agency.code == "SCT")).one()
        calendar_secret = calendars.new_feed(session, agency=sct, now=dt.datetime.now(dt.UTC))
        parcel = make_parcel(session, ZONE, 1, name=LAND_USER)

    callers = {
        "public": Caller("public", public_app.test_client(), None),
        "anonymous": Caller("anonymous", private_app.test_client(), None),
    }
    for name in accounts_spec:
        app = (
            public_app if name in DEAD_TOKENS else private_app
        )  # a dead token gets nothing even where all may read
        client = app.test_client()
        _login(client, ids[name])
        callers[name] = Caller(name, client, tokens[name])
    with db.session() as session:
        accounts.disable_user(session, ids["disabled"])
        revoked = session.scalars(select(User).where(User.username == ids["revoked"])).one()
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == revoked.id)):
            token.revoked_at = dt.datetime.now(dt.UTC)
        expired = session.scalars(select(User).where(User.username == ids["expired"])).one()
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == expired.id)):
            token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    yield {
        "callers": callers,
        "photo": photo_id,
        "calendar": calendar_secret,
        "parcel": parcel,
        "apps": (public_app, private_app),
    }
    for app in (public_app, private_app):
        app.extensions["khgeo.db"].engine.dispose()


def _is_json_channel(path: str) -> bool:
    return path.startswith(("/api/", "/ogcapi/", "/healthz"))


def _expected(row, audience: str, path: str) -> int:
    if row.allows(audience):
        return 200
    if audience in ("public", "anonymous"):
        return 401 if _is_json_channel(path) else 302
    return 403


def _check_refusal(response, status: int, path: str) -> None:
    if status == 302:
        assert response.headers["Location"].startswith("/login?next="), "to the login page, coming back here"
    if status in (401, 403) and path.startswith("/ogcapi/"):
        assert response.get_json()["code"], "the OGC exception shape"
    elif status in (401, 403) and _is_json_channel(path):
        assert response.get_json()["error"]["status"] == status


CALLERS = [*AUDIENCES, "disabled", *DEAD_TOKENS]
CASES = [(row, caller) for row in ACCESS for caller in CALLERS]


@pytest.mark.parametrize(("row", "caller"), CASES, ids=[f"{row.key}-{caller}" for row, caller in CASES])
def test_who_sees_what(world, row, caller):
    who: Caller = world["callers"][caller]
    for sample in SAMPLES[row.key]:
        path = sample.format(photo=world["photo"], calendar=world["calendar"], parcel=world["parcel"])
        if who.name in DEAD_TOKENS:
            response = who.client.get(path, headers={"Authorization": f"Bearer {who.token}"})
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            continue
        response = who.client.get(path)
        if row.key in CONTENT_ROWS:
            _check_content(row, who, response, path)
            continue
        expected = _expected(row, who.audience, path)
        assert response.status_code == expected, path
        _check_refusal(response, expected, path)
        if expected == 200 and path.endswith("/attachment"):
            assert response.get_data() == b"%PDF-1.4 internal"
        if who.token and _is_json_channel(path):
            # the same through the API token alone (no cookie): a disabled account's token is dead
            api = world["apps"][1].test_client()
            by_token = api.get(path, headers={"Authorization": f"Bearer {who.token}"})
            assert by_token.status_code == (401 if who.name == "disabled" else expected), path


def _check_content(row, who: Caller, response, path: str) -> None:
    allowed = row.allows(who.audience)
    if row.key == "health-details":
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "ok"
        assert ("schema_revision" in body and "postgis" in body and "version" in body) == allowed
        if not allowed:
            assert body == {"status": "ok"}
        return
    if (
        row.key == "land-users"
    ):  # parcels are for logged-in users; among them, names for the board and the area
        assert response.status_code == (200 if ACCESS_BY_KEY["api-parcels"].allows(who.audience) else 401)
        if response.status_code == 200:
            assert (response.get_json()["land_user_name"] == LAND_USER) == allowed
            assert (response.get_json()["households"] is not None) == allowed
        return
    # the zone page: a caller who may not open it sees nothing of it
    page = response.get_data(as_text=True) if response.status_code == 200 else ""
    assert response.status_code == (200 if ACCESS_BY_KEY["map"].allows(who.audience) else 302)
    if row.key == "people":
        assert (STAFF_NAME in page) == allowed
        assert (NOTE in page) == allowed
        assert ('src="/photos/' in page) == allowed
        if page and not allowed:
            assert "cán bộ hiện trường" in page, "the public sees the role instead of the name"
            assert "1 ảnh hiện trường" in page
    if row.key == "gps":
        assert (f"GPS {GPS}" in page) == allowed


ACCESS_BY_KEY = {row.key: row for row in ACCESS}


# --- heavy documents: cached per data version, rate-limited per user --------------------------------------------


def _user_client(app, role: str, **options):
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with app.extensions["khgeo.db"].session() as session:
        accounts.create_user(session, username, PASSWORD, role, **options)
    client = app.test_client()
    _login(client, username)
    return client


def _cell_values(body: bytes) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    return [cell.value for row in sheet.iter_rows() for cell in row]


def test_documents_are_cached_until_the_data_changes(app, db):
    _seed_history_and_reports(db, None)  # something recorded in the year, so there is a report to make
    planner = _user_client(app, "planner")
    first = planner.get("/planning/infrastructure.xlsx")
    again = planner.get("/planning/infrastructure.xlsx")
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert again.mimetype == first.mimetype
    with db.session() as session:
        session.execute(
            text("UPDATE zones SET infrastructure_pct = 77.7, version = version + 1 WHERE code = :code"),
            {"code": ZONE},
        )
    changed = planner.get("/planning/infrastructure.xlsx")
    assert changed.headers["X-Cache"] == "miss", "a change to the data makes the document again"
    assert 77.7 in _cell_values(changed.get_data()) and 77.7 not in _cell_values(first.get_data())
    english = planner.get("/planning/infrastructure.xlsx?lang=en")
    assert english.headers["X-Cache"] == "miss", "each language has its own copy"

    board = _user_client(app, "admin")
    report = board.get(f"/reports/{YEAR}/consolidated.xlsx")
    cached = _user_client(app, "viewer").get(f"/reports/{YEAR}/consolidated.xlsx")
    assert (report.headers["X-Cache"], cached.headers["X-Cache"]) == ("miss", "hit"), "shared between users"
    assert cached.get_data() == report.get_data()


def test_a_user_past_the_document_limit_gets_a_429_in_vietnamese(database_url):
    app = make_app(database_url, KHGEO_DOCUMENT_LIMIT=2)
    try:
        planner = _user_client(app, "planner")
        assert planner.get("/planning/wwtp.xlsx").status_code == 200
        assert planner.get("/planning/stalled.xlsx").status_code == 200
        refused = planner.get("/planning/wwtp.xlsx")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 600
        page = refused.get_data(as_text=True)
        assert "Vui lòng thử lại sau" in page and "Traceback" not in page
        assert _user_client(app, "admin").get("/planning/wwtp.xlsx").status_code == 200, "per user"
    finally:
        app.extensions["khgeo.db"].engine.dispose()


# --- health ------------------------------------------------------------------------------------------------------


def test_khgeo_health_prints_the_details(app):
    from khgeo import migrate

    result = app.test_cli_runner().invoke(main, ["health"])
    assert result.exit_code == 0, result.output
    assert "status: ok" in result.output
    assert f"schema_revision: {migrate.head_revision()}" in result.output
    assert "postgis: 3" in result.output and "version: " in result.output


def test_khgeo_health_says_when_the_database_is_down(tmp_path):
    app = make_app(f"postgresql+psycopg://khgeo@/khgeo?host={tmp_path}")
    result = app.test_cli_runner().invoke(main, ["health"])
    assert result.exit_code == 1
    assert "status: unavailable" in result.output and "Traceback" not in result.output
