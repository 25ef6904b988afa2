"""VN-2000: one datum shift (EPSG:6960), the same in pyproj, in khgeo's definitions and in PostGIS (±0.01 m)."""

from __future__ import annotations

import math

import pytest
from pyproj import CRS, Transformer
from sqlalchemy import text

from khgeo import migrate
from khgeo.geo import crs
from tests.conftest import new_database

# points across Bắc Giang (Việt Yên, Bắc Giang city, Lục Nam, Sơn Động, Yên Thế)
POINTS = [
    (106.1655, 21.2700),
    (106.1950, 21.2730),
    (106.4100, 21.3000),
    (106.8500, 21.3400),
    (106.1100, 21.5200),
]
TO_9214 = "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 9214) AS g"
TO_TEXT = "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'EPSG:4326', :to) AS g"
OFFICIAL_TOWGS84 = (
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
)


def epsg6960_to_9214(lon: float, lat: float) -> tuple[float, float]:
    """WGS 84 → VN-2000 / TM-3 107-00 through EPSG:6960's own pipeline, independent of khgeo's definitions."""
    op = crs.vn2000_transformation()
    assert op.name == "VN-2000 to WGS 84 (2)"
    to_vn2000 = Transformer.from_pipeline(op.to_proj4())  # VN-2000 lat/lon → WGS 84 lat/lon, in degrees
    vn_lat, vn_lon = to_vn2000.transform(lat, lon, direction="INVERSE")
    project = Transformer.from_crs(CRS.from_epsg(4756), CRS.from_epsg(9214), always_xy=True)  # same datum
    return project.transform(vn_lon, vn_lat)


def test_the_shift_is_decision_05_2007_in_position_vector_convention():
    assert crs.VN2000_TOWGS84_PROJ == OFFICIAL_TOWGS84
    # EPSG publishes 6960 as a coordinate-frame rotation: the same numbers with the rotations' signs flipped
    pipeline = crs.vn2000_transformation().to_proj4()
    assert "+rx=-0.00928836 +ry=0.01975479 +rz=-0.00427372" in pipeline
    assert "+convention=coordinate_frame" in pipeline
    for row in crs.spatial_ref_sys_rows():
        assert OFFICIAL_TOWGS84 in row["proj4text"]
        assert "TOWGS84[-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479" in row["srtext"]
    assert [row["srid"] for row in crs.spatial_ref_sys_rows()] == list(range(9205, 9219))


@pytest.mark.parametrize("lon, lat", POINTS)
def test_khgeo_definitions_agree_with_epsg_6960_within_a_centimetre(lon, lat):
    expected = epsg6960_to_9214(lon, lat)
    easting, northing = crs.from_wgs84(9214).transform(lon, lat)
    assert math.dist(expected, (easting, northing)) < 0.01
    back = crs.to_wgs84(9214).transform(easting, northing)
    assert math.dist(back, (lon, lat)) < 1e-8
    # the mistake the definitions exist to prevent: VN-2000 taken as WGS 84 lands ~200-300 m away
    no_shift = CRS.from_proj4(crs.proj4text(9214).split(" +towgs84")[0])
    naive = Transformer.from_crs(CRS.from_epsg(4326), no_shift, always_xy=True)
    assert 150 < math.dist(expected, naive.transform(lon, lat)) < 350


def test_postgis_transforms_through_the_same_shift(db):
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT srid, auth_name, proj4text FROM spatial_ref_sys WHERE srid BETWEEN 9205 AND 9218")
        ).all()
        assert len(rows) == 14 and all(OFFICIAL_TOWGS84 in row.proj4text for row in rows)
        for lon, lat in POINTS:
            expected = epsg6960_to_9214(lon, lat)
            # the SRID (PostGIS resolves it by auth name, srtext or proj4text), and each text on its own
            by_srid = conn.execute(text(TO_9214), {"lon": lon, "lat": lat}).one()
            by_proj4 = conn.execute(text(TO_TEXT), {"lon": lon, "lat": lat, "to": crs.proj4text(9214)}).one()
            wkt = crs.vn2000_crs(9214).to_wkt("WKT1_GDAL")
            by_wkt = conn.execute(text(TO_TEXT), {"lon": lon, "lat": lat, "to": wkt}).one()
            for got in (by_srid, by_proj4, by_wkt):
                assert math.dist(expected, tuple(got)) < 0.01, (lon, lat, got, expected)


def test_migration_adds_and_removes_only_its_rows(pg_cluster):
    from khgeo.db import Database

    name = new_database(pg_cluster, template=None)
    database = Database(pg_cluster.url(name))
    count = "SELECT count(*) FROM spatial_ref_sys WHERE srid BETWEEN 9205 AND 9218"
    try:
        migrate.upgrade(database, "0003")
        with database.engine.connect() as conn:
            assert conn.execute(text(count)).scalar_one() == 0, "PostGIS itself lacks the TM-3 zones"
        migrate.upgrade(database)
        with database.engine.connect() as conn:
            assert conn.execute(text(count)).scalar_one() == 14
        migrate.downgrade(database, "0003")
        with database.engine.connect() as conn:
            assert conn.execute(text(count)).scalar_one() == 0
            assert (
                conn.execute(text("SELECT count(*) FROM spatial_ref_sys WHERE srid = 4756")).scalar_one() == 1
            )
    finally:
        database.engine.dispose()
        pg_cluster.drop_database(name)


def test_supported_crs_table():
    assert crs.default_crs().uri == crs.CRS84
    assert crs.by_uri("http://www.opengis.net/def/crs/EPSG/0/4326").lat_lon
    assert not crs.by_uri(crs.CRS84).lat_lon
    assert crs.by_uri("http://www.opengis.net/def/crs/EPSG/0/9214").srid == 9214
    assert crs.by_uri("EPSG:9214") is None, "the OGC API takes URIs"
    with pytest.raises(ValueError):
        crs.vn2000_crs(4326)
