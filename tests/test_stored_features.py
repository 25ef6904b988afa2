"""Each zone's CRS84 Feature is stored (zones.feature_json) and stays exactly the serialisation after every write.

The stored text is what /ogcapi and /api/zones serve; here it is compared, zone by zone, with the Feature the one
serialisation (khgeo.services.zones.feature_text) computes now, after each kind of write: status updates, admin
edits, retire and restore, outline edits, imports, district renames, a seed re-run and raw SQL.
"""

from __future__ import annotations

import uuid

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select, text

from khgeo import migrate
from khgeo.cli import main
from khgeo.geo import crs as crs_defs
from khgeo.models import District, Zone
from khgeo.services import accounts
from khgeo.services.interop import ogc
from khgeo.services.seed import seed
from khgeo.services.zones import ZoneFilter, feature_select

ZONE = "kcn-quang-chau"


def stored_and_fresh(db) -> tuple[dict[str, str], dict[str, str]]:
    with db.session() as session:
        stored = dict(session.execute(select(Zone.code, Zone.feature_json)).all())
        query = feature_select(ZoneFilter(retired=None), as_text=True).add_columns(Zone.code)
        fresh = {code: feature for feature, code in session.execute(query)}
    return stored, fresh


def assert_in_step(db) -> dict[str, str]:
    stored, fresh = stored_and_fresh(db)
    assert stored.keys() == fresh.keys()
    stale = sorted(code for code in fresh if stored[code] != fresh[code])
    assert not stale, f"stored Features differ from the serialisation: {stale[:5]}"
    return stored


def admin_token(db) -> dict[str, str]:
    username = f"admin-{uuid.uuid4().hex[:8]}"
    with db.session() as session:
        accounts.create_user(session, username, "mat-khau-dai-du-10", "admin")
        token = accounts.new_token(session, username)
    return {"Authorization": f"Bearer {token}"}


def patch(client, headers, code: str, body: dict) -> dict:
    etag = client.get(f"/api/zones/{code}").headers["ETag"]
    response = client.patch(f"/api/zones/{code}", json=body, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def api_feature(client, code: str) -> dict:
    return next(f for f in client.get("/api/zones?retired=include").get_json()["features"] if f["id"] == code)


def test_every_zone_has_its_feature_stored_after_the_migrations_and_the_seed(db):
    stored = assert_in_step(db)
    assert len(stored) == 25 and all(stored.values())


def test_status_updates_and_admin_edits_retire_and_restore_keep_the_stored_feature(app, db, client):
    headers = admin_token(db)
    patch(client, headers, ZONE, {"infrastructure_pct": 61})
    assert_in_step(db)
    assert api_feature(client, ZONE)["properties"]["infrastructure_pct"] == 61
    patch(client, headers, ZONE, {"name": "Quang Châu Mở Rộng"})
    assert_in_step(db)
    assert api_feature(client, ZONE)["properties"]["name"] == "Quang Châu Mở Rộng"
    for retired in (True, False):
        served = patch(client, headers, ZONE, {"retired": retired})
        stored = assert_in_step(db)
        assert served["properties"]["version"] == api_feature(client, ZONE)["properties"]["version"]
        assert f'"version" : {served["properties"]["version"]}' in stored[ZONE]
    ogc_feature = client.get(f"/ogcapi/collections/zones/items/{ZONE}?f=json").get_json()
    assert ogc_feature["properties"] == api_feature(client, ZONE)["properties"]


def test_outline_edits_in_the_orm_and_in_raw_sql_keep_the_stored_feature(db):
    with db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
        zone.geom = from_shape(MultiPolygon([box(106.1, 21.2, 106.11, 21.21)]), srid=4326)
    stored = assert_in_step(db)
    assert "106.11" in stored[ZONE]
    with db.session() as session:  # a migration or an operator in psql: no Python involved
        session.execute(
            text("UPDATE zones SET geom = ST_Multi(ST_Translate(geom, 0.01, 0)) WHERE code = :c"), {"c": ZONE}
        )
        session.execute(
            text("UPDATE zones SET clearance_area_ha = 80, cleared_area_ha = 20 WHERE code = :c"), {"c": ZONE}
        )
    stored = assert_in_step(db)
    assert '"clearance_pct" : 25.0' in stored[ZONE] and "106.12" in stored[ZONE]


def test_an_import_keeps_the_stored_features_of_the_zones_it_updates_and_creates(app, db, tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text(
        "code,ten,loai,huyen,infrastructure_pct\n"
        "kcn-van-trung,,,,77\n"
        ",Cụm công nghiệp Hương Lâm Mới,CCN,Hiệp Hòa,\n",
        "utf-8",
    )
    app.config["KHGEO_DEFAULT_LOCALE"] = "en"
    result = app.test_cli_runner().invoke(main, ["import", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    stored = assert_in_step(db)
    assert '"infrastructure_pct" : 77' in stored["kcn-van-trung"]
    assert "ccn-huong-lam-moi" in stored


def test_a_district_rename_rewrites_its_zones_features(db, client):
    with db.session() as session:
        district = session.scalars(select(District).where(District.code == "222")).one()
        district.name = "Việt Yên Mới"
    stored = assert_in_step(db)
    assert '"district" : "Việt Yên Mới"' in stored[ZONE]
    assert api_feature(client, ZONE)["properties"]["district"] == "Việt Yên Mới"
    with db.session() as session:
        session.execute(text("UPDATE districts SET name = 'Việt Yên' WHERE code = '222'"))
    assert '"district" : "Việt Yên"' in assert_in_step(db)[ZONE]


def test_a_seed_re_run_keeps_the_stored_features(db):
    with db.session() as session:
        session.execute(text("UPDATE zones SET occupancy_pct = 1"))
    with db.session() as session:
        seed(session)
    assert_in_step(db)


def test_a_changed_serialisation_is_rewritten_by_the_upgrade(db):
    """What a code change to the serialisation looks like to the database: the generated SQL is not the one
    installed. The upgrade (and `khgeo serve`) reinstall it and rewrite every stored Feature."""
    with db.session() as session:
        session.execute(text("SELECT set_config('khgeo.storing_zone_features', 'on', true)"))
        session.execute(text("UPDATE zones SET feature_json = '{}'"))
        definition = session.execute(
            text("SELECT pg_get_functiondef('khgeo_store_zone_features(integer[])'::regprocedure)")
        ).scalar()
        session.execute(text(definition.replace("khgeo stored features", "older code")))
    assert set(stored_and_fresh(db)[0].values()) == {"{}"}
    migrate.upgrade(db)
    assert_in_step(db)
    assert migrate.sync_stored_features(db) is False, "nothing to do when the installed SQL is current"


def test_the_stored_page_is_byte_identical_to_the_computed_one(db):
    computed_geometry = crs_defs.geometry_json(Zone.geom, crs_defs.default_crs())
    with db.session() as session:
        zones = ogc.COLLECTIONS["zones"]
        for offset, limit in ((0, 1000), (3, 7)):
            stored = zones.page(session, {}, None, None, limit, offset)
            computed = zones.page(session, {}, None, computed_geometry, limit, offset)
            assert stored.features_json == computed.features_json
            assert (stored.matched, stored.returned) == (computed.matched, computed.returned)
        assert zones.feature(session, ZONE, None) == zones.feature(session, ZONE, computed_geometry)
