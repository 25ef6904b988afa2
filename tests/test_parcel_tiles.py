"""Parcels' vector tiles (GET /tiles/parcels/{z}/{x}/{y}.mvt), decoded as a map client would decode them: exactly
the parcels that touch the tile, no personal data, filters, ETag revalidation, and who may read them."""

from __future__ import annotations

import datetime as dt
import gzip
import math
from dataclasses import dataclass

import mapbox_vector_tile
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import text

from khgeo.services.parcels.identity import geohash
from tests.conftest import FROZEN_TODAY, make_app
from tests.helpers import add_token, client_as, make_user

ZONE = "kcn-van-trung"  # Việt Yên, a seeded zone with an outline
COMMUNE = "07501"
OTHER_COMMUNE = "07502"
LAND_USER = "Nguyễn Văn Hộ"
STAGES = ("not_notified", "notified", "inventoried", "plan_posted", "paid", "handed_over")


@dataclass(frozen=True)
class ParcelRow:
    uid: str
    sheet: str
    number: str
    commune: str
    stage: str
    stage_date: dt.date | None
    outline: Polygon  # WGS 84 lon/lat


def zone_centre(db, code: str = ZONE) -> tuple[float, float]:
    with db.session() as session:
        row = session.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) AS c FROM zones WHERE code = :c) s"
            ),
            {"c": code},
        ).one()
    return float(row[0]), float(row[1])


INSERT_PARCEL = text("""
    INSERT INTO parcels (uid, commune_code, sheet, number, land_type, address, land_user_kind, land_user_name,
        households, people, zone_id, zone_overridden, geom, geometry_source, illustrative, stage, stage_date,
        compulsory_inventory, enforcement, dispute, resettlement_needed, version, area_m2)
    SELECT :uid, :commune, :sheet, :number, 'LUC', 'Thôn Đông', 'household', :user, 2, 7, :zone_id, false, g,
        'imported', false, :stage, :stage_date, false, false, false, false, 1, ST_Area(g::geography)
    FROM (SELECT ST_Multi(ST_GeomFromText(:wkt, 4326)) AS g) AS outline""")


def insert_parcel(session, row: ParcelRow, zone_id: int) -> None:
    """One parcel, with a land user (personal data that no tile may carry)."""
    session.execute(
        INSERT_PARCEL,
        {
            "uid": row.uid,
            "commune": row.commune,
            "sheet": row.sheet,
            "number": row.number,
            "user": LAND_USER,
            "zone_id": zone_id,
            "stage": row.stage,
            "stage_date": row.stage_date,
            "wkt": row.outline.wkt,
        },
    )


def insert_parcel_grid(
    db,
    *,
    zone: str = ZONE,
    origin: tuple[float, float] | None = None,
    rows: int = 12,
    cols: int = 12,
    size_m: float = 40.0,
    sheet: str = "12",
    stage_for=None,
) -> list[ParcelRow]:
    """A grid of square parcels (size_m apart, 2 m gaps) centred on ``origin`` (default: the zone's centre), in
    ``zone``; each parcel's commune, stage and stage date from ``stage_for(i, j)`` → (commune, stage, date)."""
    lon0, lat0 = origin or zone_centre(db, zone)
    dlat = size_m / 111_320
    dlon = size_m / (111_320 * math.cos(math.radians(lat0)))
    gap = 2 / size_m
    stage_for = stage_for or (
        lambda i, j: (COMMUNE, STAGES[(i + j) % len(STAGES)], FROZEN_TODAY - dt.timedelta(days=5))
    )
    made = []
    with db.session() as session:
        zone_id = session.execute(text("SELECT id FROM zones WHERE code = :c"), {"c": zone}).scalar_one()
        for i in range(rows):
            for j in range(cols):
                west = lon0 + (j - cols / 2) * dlon
                south = lat0 + (i - rows / 2) * dlat
                outline = box(west, south, west + dlon * (1 - gap), south + dlat * (1 - gap))
                commune, stage, stage_date = stage_for(i, j)
                row = ParcelRow(
                    geohash(*outline.centroid.coords[0]),
                    sheet,
                    str(i * cols + j + 1),
                    commune,
                    stage,
                    stage_date,
                    outline,
                )
                insert_parcel(session, row, zone_id)
                made.append(row)
        session.commit()
    return made


def add_timer(db, stage: str = "plan_posted", days: int = 30, months: int = 0) -> None:
    with db.session() as session:
        session.execute(
            text("""INSERT INTO parcel_timers (code, stage, days, months, label, label_en, citation, active)
                    VALUES (:code, :stage, :days, :months, 'Niêm yết phương án 30 ngày', 'Posting lasts 30 days',
                            'Luật Đất đai 2024, Điều 87(3)(a)', true)"""),
            {"code": f"{stage}-{days}-{months}", "stage": stage, "days": days, "months": months},
        )
        session.commit()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> Polygon:
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return box(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def decode(data: bytes) -> list[dict]:
    if not data:
        return []
    layers = mapbox_vector_tile.decode(data)
    assert set(layers) == {"parcels"}, "one layer, named parcels"
    return layers["parcels"]["features"]


def props(data: bytes) -> dict[str, dict]:
    return {feature["properties"]["uid"]: feature["properties"] for feature in decode(data)}


@pytest.fixture
def private_app(database_url):
    application = make_app(database_url, KHGEO_PUBLIC_READ=False)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


@pytest.fixture
def parcels(private_app):
    db = private_app.extensions["khgeo.db"]
    add_timer(db)
    return insert_parcel_grid(db)


@pytest.fixture
def viewer(private_app):
    return client_as(private_app, "viewer")


def the_tile(parcel_rows: list[ParcelRow], z: int = 17) -> tuple[int, int, int]:
    """A tile holding some of the grid's parcels, not all: the one of the grid's centre."""
    centre = parcel_rows[len(parcel_rows) // 2 + 6].outline.centroid
    return (z, *tile_of(centre.x, centre.y, z))


def test_a_tile_holds_exactly_the_parcels_that_touch_it_and_no_personal_data(parcels, viewer):
    z, x, y = the_tile(parcels)
    expected = {row.uid for row in parcels if row.outline.intersects(tile_bounds(z, x, y))}
    assert 0 < len(expected) < len(parcels), "the grid spans more than this tile"

    response = viewer.get(f"/tiles/parcels/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    found = props(response.get_data())
    assert set(found) == expected
    by_uid = {row.uid: row for row in parcels}
    for uid, properties in found.items():
        row = by_uid[uid]
        assert set(properties) <= {
            "uid",
            "zone",
            "stage",
            "overdue",
            "area_m2",
            "sheet",
            "number",
            "days",
            "version",
        }
        assert properties["zone"] == ZONE
        assert properties["stage"] == row.stage
        assert (properties["sheet"], properties["number"]) == (row.sheet, row.number)
        assert properties["days"] == 5
        assert properties["version"] == 1
        assert properties["area_m2"] == pytest.approx(38 * 38, rel=0.02)
    assert LAND_USER.encode() not in response.get_data()
    assert b"household" not in response.get_data()


def test_overdue_comes_from_the_timers(private_app, viewer):
    db = private_app.extensions["khgeo.db"]
    add_timer(db, "plan_posted", days=30)

    def stage_for(i, j):
        if j < 2:  # posted 31 days ago: the 30 days of posting ran out yesterday
            return COMMUNE, "plan_posted", FROZEN_TODAY - dt.timedelta(days=31)
        if j < 4:  # posted exactly 30 days ago: due today, not overdue yet
            return COMMUNE, "plan_posted", FROZEN_TODAY - dt.timedelta(days=30)
        return COMMUNE, "paid", FROZEN_TODAY - dt.timedelta(days=400)  # no timer for paid here

    rows = insert_parcel_grid(db, rows=2, cols=6, size_m=20, stage_for=stage_for)
    z, x, y = 15, *tile_of(*rows[0].outline.centroid.coords[0], 15)
    found = props(viewer.get(f"/tiles/parcels/{z}/{x}/{y}.mvt").get_data())
    assert len(found) == 12
    overdue = {uid for uid, p in found.items() if p["overdue"]}
    assert overdue == {row.uid for row in rows if int(row.number) % 6 in (1, 2)}

    only_overdue = props(viewer.get(f"/tiles/parcels/{z}/{x}/{y}.mvt?overdue=true").get_data())
    assert set(only_overdue) == overdue
    not_overdue = props(viewer.get(f"/tiles/parcels/{z}/{x}/{y}.mvt?overdue=false").get_data())
    assert set(not_overdue) == set(found) - overdue


def test_filters_by_stage_commune_and_zone_reach_the_tile(private_app, viewer):
    db = private_app.extensions["khgeo.db"]

    def stage_for(i, j):
        return (COMMUNE if i == 0 else OTHER_COMMUNE), STAGES[j % 3], FROZEN_TODAY

    rows = insert_parcel_grid(db, rows=2, cols=6, size_m=20, stage_for=stage_for)
    z, x, y = 15, *tile_of(*rows[0].outline.centroid.coords[0], 15)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    assert len(props(viewer.get(url).get_data())) == 12

    paid_or_notified = props(viewer.get(url + "?stage=notified,inventoried").get_data())
    assert set(paid_or_notified) == {r.uid for r in rows if r.stage in ("notified", "inventoried")}
    repeated = props(viewer.get(url + "?stage=notified&stage=inventoried").get_data())
    assert set(repeated) == set(paid_or_notified)

    in_commune = props(viewer.get(url + f"?commune={OTHER_COMMUNE}").get_data())
    assert set(in_commune) == {r.uid for r in rows if r.commune == OTHER_COMMUNE}

    assert len(props(viewer.get(url + f"?zone={ZONE}").get_data())) == 12
    other_zone = viewer.get(url + "?zone=kcn-quang-chau")
    assert other_zone.status_code == 200 and decode(other_zone.get_data()) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stage=paid,bogus", "stage"),
        ("overdue=maybe", "overdue"),
        ("commune=7501", "commune"),
        ("zone=khong-co-khu-nay", "zone"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(parcels, private_app, query, field):
    token = add_token(private_app, make_user(private_app, "viewer"))
    z, x, y = the_tile(parcels)
    response = private_app.test_client().get(
        f"/tiles/parcels/{z}/{x}/{y}.mvt?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == field
    assert error["message"]


def test_zooms_and_tile_numbers_out_of_range(viewer):
    assert viewer.get("/tiles/parcels/11/1628/890.mvt").status_code == 404  # below the zooms served
    assert viewer.get("/tiles/parcels/21/1/1.mvt").status_code == 404
    assert viewer.get("/tiles/parcels/14/16384/0.mvt").status_code == 400  # x goes to 2^14 - 1
    assert viewer.get("/tiles/parcels/14/0/16384.mvt").status_code == 400
    empty = viewer.get("/tiles/parcels/14/0/0.mvt")  # in range, no parcel there
    assert empty.status_code == 200 and empty.get_data() == b""


def test_etag_answers_304_until_a_parcel_changes(parcels, private_app, viewer):
    z, x, y = the_tile(parcels)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    first = viewer.get(url)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = viewer.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    filtered = viewer.get(url + "?stage=paid", headers={"If-None-Match": tag})
    assert filtered.status_code == 200, "another filter is another representation"

    uid = next(iter(props(first.get_data())))
    with private_app.extensions["khgeo.db"].session() as session:
        session.execute(
            text("UPDATE parcels SET stage = 'handed_over', version = version + 1 WHERE uid = :u"), {"u": uid}
        )
        session.commit()
    changed = viewer.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert props(changed.get_data())[uid]["stage"] == "handed_over"


def test_a_new_timer_changes_the_etag(parcels, private_app, viewer):
    z, x, y = the_tile(parcels)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    tag = viewer.get(url).headers["ETag"]
    add_timer(private_app.extensions["khgeo.db"], "notified", months=12)
    assert viewer.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_tiles_are_compressed_for_clients_that_accept_it(parcels, viewer):
    z, x, y = the_tile(parcels, z=16)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    plain = viewer.get(url)
    packed = viewer.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data())
    tag = packed.headers["ETag"]
    assert viewer.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": tag}).status_code == 304


def test_who_reads_tiles(parcels, private_app, database_url):
    z, x, y = the_tile(parcels)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    anonymous = private_app.test_client()
    assert anonymous.get(url).status_code == 302  # a browser is sent to the login page
    refused = anonymous.get(url, headers={"Accept": "*/*"})
    assert refused.status_code == 401, "a program is asked to authenticate"
    assert "Basic" in refused.headers["WWW-Authenticate"]

    public_app = make_app(database_url, KHGEO_PUBLIC_READ=True)
    try:
        assert public_app.test_client().get(url, headers={"Accept": "*/*"}).status_code == 401, (
            "parcels are not public data, even when the zones are"
        )
    finally:
        public_app.extensions["khgeo.db"].engine.dispose()

    for role in ("viewer", "field", "planner", "admin"):
        assert client_as(private_app, role).get(url).status_code == 200, role
    username = make_user(private_app, "planner")
    token = add_token(private_app, username)
    program = private_app.test_client()
    assert program.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    basic = program.get(url, auth=(username, token))  # QGIS sends HTTP Basic with the token as password
    assert basic.status_code == 200
    assert len(decode(basic.get_data())) > 0
    assert program.get(url, headers={"Authorization": "Bearer khg_not-a-token"}).status_code == 401


def test_a_parcel_whose_box_meets_the_tile_but_not_its_outline_is_not_in_it(private_app, viewer):
    db = private_app.extensions["khgeo.db"]
    lon, lat = zone_centre(db)
    z, x, y = 17, *tile_of(lon, lat, 17)
    west, south, east, north = tile_bounds(z, x, y).bounds
    d = (east - west) / 4
    # a triangle off the tile's north-east corner: its bounding box overlaps the tile, the triangle does not
    triangle = Polygon(
        [
            (east - 0.3 * d, north + 0.5 * d),
            (east + 0.5 * d, north + 0.5 * d),
            (east + 0.5 * d, north - 0.3 * d),
        ]
    )
    assert not triangle.intersects(tile_bounds(z, x, y)) and triangle.envelope.intersects(
        tile_bounds(z, x, y)
    )
    row = ParcelRow(
        geohash(*triangle.centroid.coords[0]), "7", "1", COMMUNE, "notified", FROZEN_TODAY, triangle
    )
    with db.session() as session:
        zone_id = session.execute(text("SELECT id FROM zones WHERE code = :c"), {"c": ZONE}).scalar_one()
        insert_parcel(session, row, zone_id)
        session.commit()
    assert row.uid not in props(viewer.get(f"/tiles/parcels/{z}/{x}/{y}.mvt").get_data())
    assert row.uid in props(viewer.get(f"/tiles/parcels/{z}/{x + 1}/{y - 1}.mvt").get_data()), (
        "the tile it is in"
    )


def test_a_tile_is_built_once_and_kept_until_the_parcels_change(parcels, private_app, viewer):
    z, x, y = the_tile(parcels)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    first = viewer.get(url).get_data()
    cache = private_app.extensions["khgeo.tile_cache"]
    hits = cache.hits
    assert client_as(private_app, "planner").get(url).get_data() == first, "another reader gets the kept tile"
    assert cache.hits == hits + 1
    uid = next(iter(props(first)))
    with private_app.extensions["khgeo.db"].session() as session:
        session.execute(text("UPDATE parcels SET stage = 'paid' WHERE uid = :u"), {"u": uid})
        session.commit()
    assert props(viewer.get(url).get_data())[uid]["stage"] == "paid", "never a kept tile of older parcels"


def test_the_map_offers_parcels_to_logged_in_readers_only(database_url):
    public_app = make_app(database_url, KHGEO_PUBLIC_READ=True)
    try:
        anonymous = public_app.test_client().get("/").get_data(as_text=True)
        assert "khgeo.parcelsLayer" not in anonymous and "/tiles/parcels/" not in anonymous
        page = client_as(public_app, "viewer").get("/").get_data(as_text=True)
        assert "khgeo.parcelsLayer" in page and "/tiles/parcels/{z}/{x}/{y}.mvt" in page
        assert "leaflet.vectorgrid@1.3.0/Leaflet.VectorGrid.bundled.min.js" in page, "served from static/"
        assert "unpkg.com" not in page
    finally:
        public_app.extensions["khgeo.db"].engine.dispose()
