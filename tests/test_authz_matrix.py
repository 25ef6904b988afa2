"""Who may change what, through every channel, with the exact HTTP status each role gets.

Roles: anonymous, viewer, field (assigned Việt Yên), planner, admin. Targets: KCN Vân Trung (in Việt Yên) and
KCN Hòa Phú (in Hiệp Hòa, outside the field user's district). Channels: the HTML update form (GET and POST), the
JSON PATCH with a Bearer token, and the admin's outline editor. Every refused write leaves the zone untouched.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from shapely.geometry import box, shape
from sqlalchemy import func, select, text

from khgeo.models import Photo, Zone, ZoneUpdate
from khgeo.services import accounts, updates
from khgeo.services.photos import process_photo
from tests.conftest import make_app
from tests.helpers import PASSWORD, login
from tests.helpers import csrf_of as csrf_token

IN_DISTRICT = "kcn-van-trung"  # Việt Yên (GSO 222)
OUT_OF_DISTRICT = "kcn-hoa-phu"  # Hiệp Hòa (GSO 223)


@dataclass
class Actor:
    """One role's view of the app: a browser-like client (logged in unless anonymous) and an API token."""

    role: str
    app: object
    client: object  # cookie session
    username: str | None
    token: str | None

    @property
    def db(self):
        return self.app.extensions["khgeo.db"]

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def csrf(self) -> str:
        """A valid CSRF token of this client's session (the login page carries one for everybody)."""
        return csrf_token(self.client.get("/login").get_data(as_text=True))

    def version(self, code: str) -> int:
        with self.db.session() as session:
            return session.scalar(select(Zone.version).where(Zone.code == code))

    def history_count(self, code: str) -> int:
        with self.db.session() as session:
            return session.scalar(
                text(
                    "SELECT count(*) FROM zone_updates u JOIN zones z ON z.id = u.zone_id WHERE z.code = :code"
                ),
                {"code": code},
            )


@pytest.fixture
def make_actor(module_database_url):
    """make_actor(role, public_read=False) → Actor; each call has its own app and (for roles) its own user.

    The tests of this module share one database (creating ~80 copies would dominate their run time), so each
    compares the zone before and after instead of assuming seed values.
    """
    apps = []

    def make(role: str, *, public_read: bool = False) -> Actor:
        app = make_app(module_database_url, KHGEO_PUBLIC_READ=public_read)
        apps.append(app)
        client = app.test_client()
        if role == "anonymous":
            return Actor(role, app, client, None, None)
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        districts = ["Việt Yên"] if role == "field" else []
        with app.extensions["khgeo.db"].session() as session:
            accounts.create_user(session, username, PASSWORD, role, districts=districts)
            token = accounts.new_token(session, username)
        response = login(client, username)
        assert response.status_code == 302, "the login works"
        return Actor(role, app, client, username, token)

    yield make
    for app in apps:
        app.extensions["khgeo.db"].engine.dispose()


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def form_data(actor: Actor, code: str) -> dict[str, str]:
    """A valid update as the form sends it: right version, CSRF token, a fresh request id."""
    return {
        "csrf_token": actor.csrf(),
        "version": str(actor.version(code)),
        "request_id": str(uuid.uuid4()),
        "as_of": "2026-11-20",
        "infrastructure_pct": "55",
        "occupancy_pct": "90",
        "note": "Kiểm tra quyền",
    }


def outline_source(actor: Actor, code: str) -> str:
    with actor.db.session() as session:
        return session.scalar(select(Zone.geometry_source).where(Zone.code == code))


def small_square_in(actor: Actor, code: str) -> dict:
    """A GeoJSON polygon about 450 m across around the zone's current centre: inside its district."""
    with actor.db.session() as session:
        geometry = session.scalar(select(func.ST_AsGeoJSON(Zone.geom)).where(Zone.code == code))
    centre = shape(json.loads(geometry)).centroid
    return box(centre.x - 0.002, centre.y - 0.002, centre.x + 0.002, centre.y + 0.002).__geo_interface__


# role, public read, zone, form GET, form POST, JSON PATCH
STATUS_MATRIX = [
    ("anonymous", False, IN_DISTRICT, 302, 302, 401),
    ("anonymous", False, OUT_OF_DISTRICT, 302, 302, 401),
    ("anonymous", True, IN_DISTRICT, 302, 302, 401),
    ("anonymous", True, OUT_OF_DISTRICT, 302, 302, 401),
    ("viewer", False, IN_DISTRICT, 403, 403, 403),
    ("viewer", False, OUT_OF_DISTRICT, 403, 403, 403),
    ("planner", False, IN_DISTRICT, 403, 403, 403),
    ("planner", False, OUT_OF_DISTRICT, 403, 403, 403),
    ("field", False, IN_DISTRICT, 200, 303, 200),
    ("field", False, OUT_OF_DISTRICT, 403, 403, 403),
    ("admin", False, IN_DISTRICT, 200, 303, 200),
    ("admin", False, OUT_OF_DISTRICT, 200, 303, 200),
]
STATUS_IDS = [
    f"{role}-{'public' if public else 'private'}-{code}" for role, public, code, *_ in STATUS_MATRIX
]


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), STATUS_MATRIX, ids=STATUS_IDS
)
def test_update_form_get(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    response = actor.client.get(f"/zones/{code}/update")
    assert response.status_code == get
    if get == 302:
        assert is_login_redirect(response)
        assert f"next=/zones/{code}/update" in response.headers["Location"]
    if get == 200:
        assert 'id="update-form"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), STATUS_MATRIX, ids=STATUS_IDS
)
def test_update_form_post(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    version, entries = actor.version(code), actor.history_count(code)
    response = actor.client.post(f"/zones/{code}/update", data=form_data(actor, code))
    assert response.status_code == post
    if post == 303:
        assert response.headers["Location"] == f"/zones/{code}"
        assert (actor.version(code), actor.history_count(code)) == (version + 1, entries + 1)
    else:
        assert (actor.version(code), actor.history_count(code)) == (version, entries), "nothing stored"
    if post == 302:
        assert is_login_redirect(response)


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), STATUS_MATRIX, ids=STATUS_IDS
)
def test_json_patch_with_token(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    version, entries = actor.version(code), actor.history_count(code)
    api = actor.app.test_client()  # no cookie: the token alone says who this is
    response = api.patch(
        f"/api/zones/{code}",
        json={"infrastructure_pct": 55, "as_of": "2026-11-20", "note": "qua API"},
        headers={**actor.bearer(), "If-Match": f'"{version}"'},
    )
    assert response.status_code == patch
    if patch == 200:
        assert response.headers["ETag"] == f'"{version + 1}"'
        assert response.get_json()["properties"]["infrastructure_pct"] == 55
        assert actor.history_count(code) == entries + 1
    else:
        assert response.get_json()["error"]["status"] == patch
        assert (actor.version(code), actor.history_count(code)) == (version, entries), "nothing stored"


# role, public read, zone, editor GET, editor POST, PATCH naming "geometry"
OUTLINE_MATRIX = [
    ("anonymous", False, IN_DISTRICT, 302, 302, 401),
    ("anonymous", True, IN_DISTRICT, 302, 302, 401),
    ("viewer", False, IN_DISTRICT, 403, 403, 403),
    ("planner", False, IN_DISTRICT, 403, 403, 403),
    (
        "field",
        False,
        IN_DISTRICT,
        403,
        403,
        422,
    ),  # may PATCH its zone, but "geometry" is not a field it can set
    ("field", False, OUT_OF_DISTRICT, 403, 403, 403),
    ("admin", False, IN_DISTRICT, 200, 303, 422),  # admins change outlines in the editor, never through PATCH
    ("admin", False, OUT_OF_DISTRICT, 200, 303, 422),
]
OUTLINE_IDS = [
    f"{role}-{'public' if public else 'private'}-{code}" for role, public, code, *_ in OUTLINE_MATRIX
]


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), OUTLINE_MATRIX, ids=OUTLINE_IDS
)
def test_outline_editor_get(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    response = actor.client.get(f"/zones/{code}/geometry")
    assert response.status_code == get
    if get == 302:
        assert is_login_redirect(response)
    if get == 200:
        assert 'id="outline-form"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), OUTLINE_MATRIX, ids=OUTLINE_IDS
)
def test_outline_editor_post(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    version, source = actor.version(code), outline_source(actor, code)
    square = small_square_in(actor, code)
    response = actor.client.post(
        f"/zones/{code}/geometry",
        data={
            "csrf_token": actor.csrf(),
            "version": str(version),
            "geojson": json.dumps(square),
            "source": "surveyed",
            "note": "Đo đạc lại",
        },
    )
    assert response.status_code == post
    if post == 303:
        assert response.headers["Location"] == f"/zones/{code}"
        assert (outline_source(actor, code), actor.version(code)) == ("surveyed", version + 1)
    else:
        assert (outline_source(actor, code), actor.version(code)) == (source, version), "outline untouched"
    if post == 302:
        assert is_login_redirect(response)


@pytest.mark.parametrize(
    ("role", "public_read", "code", "get", "post", "patch"), OUTLINE_MATRIX, ids=OUTLINE_IDS
)
def test_patch_never_changes_the_outline(make_actor, role, public_read, code, get, post, patch):
    actor = make_actor(role, public_read=public_read)
    before = actor.app.test_client().get(f"/api/zones/{code}", headers=actor.bearer())
    version = actor.version(code)
    response = actor.app.test_client().patch(
        f"/api/zones/{code}",
        json={"geometry": small_square_in(actor, code), "note": "đổi ranh giới"},
        headers={**actor.bearer(), "If-Match": f'"{version}"'},
    )
    assert response.status_code == patch
    error = response.get_json()["error"]
    if patch == 422:
        assert "geometry" in error["fields"], "the message names the field"
    assert actor.version(code) == version
    if before.status_code == 200:
        after = actor.app.test_client().get(f"/api/zones/{code}", headers=actor.bearer())
        assert after.get_json()["geometry"] == before.get_json()["geometry"]


# --- reading ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_id(module_database_url) -> int:
    """A stored site photo (on a history entry of KCN Vân Trung)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(out, format="JPEG")
    processed = process_photo(out.getvalue(), "site.jpg")
    app = make_app(module_database_url)
    with app.extensions["khgeo.db"].session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == IN_DISTRICT)).one()
        entry = ZoneUpdate(
            zone=zone, zone_version=zone.version, kind="status", source="test", note="", changes={}
        )
        photo = Photo(update=entry, **updates.photo_columns(processed))
        session.add(entry)
        session.flush()
        ident = photo.id
    app.extensions["khgeo.db"].engine.dispose()
    return ident


READ_PATHS = ["/", "/api/zones", f"/zones/{IN_DISTRICT}", f"/zones/{IN_DISTRICT}/popup", "/photos/{photo}"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 302),
        ("/api/zones", 401),
        (f"/api/zones/{IN_DISTRICT}", 401),
        (f"/zones/{IN_DISTRICT}", 302),
        (f"/zones/{IN_DISTRICT}/popup", 302),
        ("/photos/{photo}", 302),
        ("/photos/{photo}/thumb", 302),
        ("/healthz", 200),
        ("/login", 200),
    ],
)
def test_login_required_by_default_for_anonymous(make_actor, photo_id, path, status):
    actor = make_actor("anonymous", public_read=False)
    response = actor.client.get(path.format(photo=photo_id))
    assert response.status_code == status
    if status == 302:
        assert is_login_redirect(response)
        assert "next=" in response.headers["Location"]
    if status == 401:
        assert response.get_json()["error"]["status"] == 401


@pytest.mark.parametrize("role", ["viewer", "field", "planner", "admin"])
def test_every_role_reads_everything_when_logged_in(make_actor, photo_id, role):
    actor = make_actor(role, public_read=False)
    for path in [*READ_PATHS, "/healthz"]:
        response = actor.client.get(path.format(photo=photo_id))
        assert response.status_code == 200, path
    assert actor.client.get(f"/photos/{photo_id}").mimetype == "image/jpeg"
    api = actor.app.test_client()
    assert api.get("/api/zones", headers=actor.bearer()).status_code == 200, "the token reads too"


def test_a_disabled_user_loses_session_and_token_access(make_actor):
    actor = make_actor("field", public_read=False)
    api = actor.app.test_client()
    version = actor.version(IN_DISTRICT)
    assert actor.client.get(f"/zones/{IN_DISTRICT}/update").status_code == 200
    assert api.get("/api/zones", headers=actor.bearer()).status_code == 200

    with actor.db.session() as session:
        accounts.disable_user(session, actor.username)

    assert is_login_redirect(actor.client.get(f"/zones/{IN_DISTRICT}/update"))
    assert is_login_redirect(actor.client.get("/")), "the session no longer counts as logged in"
    assert api.get("/api/zones", headers=actor.bearer()).status_code == 401
    patch = api.patch(
        f"/api/zones/{IN_DISTRICT}",
        json={"infrastructure_pct": 10},
        headers={**actor.bearer(), "If-Match": f'"{version}"'},
    )
    assert patch.status_code == 401
    assert actor.version(IN_DISTRICT) == version
    assert login(actor.app.test_client(), actor.username).status_code == 401, "and cannot log in again"
