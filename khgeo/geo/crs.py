"""Coordinate reference systems: what khgeo serves (OGC API – Features Part 2) and how VN-2000 becomes WGS 84.

Outlines are stored in EPSG:4326 and served by default in CRS84 (longitude, latitude). ``SUPPORTED`` lists every
CRS the OGC API accepts for ``crs`` (output) and ``bbox-crs`` (input), by URI, with its SRID and axis order:

=====================================================  =====  ==========  ================================
URI                                                    SRID   axis order  what
=====================================================  =====  ==========  ================================
http://www.opengis.net/def/crs/OGC/1.3/CRS84           4326   lon, lat    WGS 84, GeoJSON order (default)
http://www.opengis.net/def/crs/EPSG/0/4326             4326   LAT, LON    WGS 84 as EPSG defines it
http://www.opengis.net/def/crs/EPSG/0/3857             3857   x, y        Web Mercator (web maps)
http://www.opengis.net/def/crs/EPSG/0/32648            32648  E, N        WGS 84 / UTM 48N (khgeo's areas)
http://www.opengis.net/def/crs/EPSG/0/9214             9214   E, N        VN-2000 / TM-3 107-00 (Bắc Giang)
=====================================================  =====  ==========  ================================

VN-2000 and WGS 84
------------------
VN-2000 (EPSG:4756) sits on the WGS 84 ellipsoid but not on the WGS 84 datum: the two differ by ~220 m in Bắc
Giang. Treating VN-2000 coordinates as WGS 84 (no datum shift, a common mistake and what a bare
``+proj=tmerc … +ellps=WGS84`` does) puts every outline 200–300 m off. khgeo uses exactly one transformation:

    EPSG:6960 "VN-2000 to WGS 84 (2)": the seven parameters of Decision 05/2007/QĐ-BTNMT (Ministry of Natural
    Resources and Environment), area of use Vietnam onshore, accuracy 1 m.
    In PROJ's position-vector convention (what +towgs84 means):
        +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278
    EPSG itself publishes 6960 in the coordinate-frame convention, i.e. with the three rotations' signs flipped
    (rx=-0.00928836, ry=+0.01975479, rz=-0.00427372); using those numbers in +towgs84 moves points ~0.8 m.

Why 6960: it is the official transformation for mainland Vietnam; the alternative EPSG:6959 "VN-2000 to WGS 84
(1)" is defined only for offshore blocks of the Mekong delta. PROJ picks 6960 for points in Bắc Giang on its own,
but khgeo does not rely on that choice: the rows it adds to PostGIS's ``spatial_ref_sys`` (migration 0004) carry the
shift explicitly in both ``srtext`` (WKT1 TOWGS84) and ``proj4text`` (+towgs84), so PostGIS gives the same answer
whichever of auth name, srtext or proj4text it resolves. PostGIS ships 4756 and 3405 (VN-2000 / UTM 48N) with the
same +towgs84; it lacks the provincial TM-3 zones (EPSG:9205–9218), which 0004 adds.
tests/test_crs.py checks pyproj's 6960 pipeline, these definitions and PostGIS's ST_Transform agree within 0.01 m.

Importers (VN-2000 shapefiles, DXF, survey tables) should go through ``vn2000_crs(srid)`` / ``to_wgs84(srid)`` here,
never through a hand-written PROJ string.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

from pyproj import CRS, Transformer
from pyproj.crs import CoordinateOperation
from sqlalchemy import SQLColumnExpression, func
from sqlalchemy.sql.elements import ColumnElement

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
STORAGE_SRID = 4326
# WGS 84 / UTM zone 48N: Bắc Giang lies in it; the one CRS khgeo measures areas and distances in (zones' stored
# area, imports, parcels, the report's map). Migrations and the model's computed column spell it in their DDL.
METRIC_SRID = 32648

# EPSG:6960, VN-2000 to WGS 84 (2), Decision 05/2007/QĐ-BTNMT, position-vector convention (+towgs84 order)
VN2000_TO_WGS84_EPSG = 6960
VN2000_TOWGS84 = (
    -191.90441429,
    -39.30318279,
    -111.45032835,
    0.00928836,
    -0.01975479,
    0.00427372,
    0.252906278,
)
VN2000_TOWGS84_PROJ = "+towgs84=" + ",".join(repr(value) for value in VN2000_TOWGS84)
VN2000_GEOGRAPHIC_EPSG = 4756
# The provincial VN-2000 TM-3 zones (k = 0.9999, false easting 500 km) of the EPSG database: 9205 (103°00') …
# 9218 (108°30'); Bắc Giang's is 9214 (107°00').
VN2000_TM3_EPSG = tuple(range(9205, 9219))
BAC_GIANG_VN2000_EPSG = 9214


@dataclass(frozen=True)
class SupportedCrs:
    uri: str
    srid: int
    title: str
    lat_lon: bool = False  # axes are (latitude, longitude): flip coordinates on output, swap bbox on input
    decimals: int = 6  # GeoJSON coordinate digits: 6 for degrees (~0.1 m), 3 for metres (1 mm)

    @property
    def geographic(self) -> bool:
        return self.srid == STORAGE_SRID


SUPPORTED: tuple[SupportedCrs, ...] = (
    SupportedCrs(CRS84, 4326, "WGS 84 (longitude, latitude)"),
    SupportedCrs(EPSG_URI.format(code=4326), 4326, "WGS 84 (latitude, longitude)", lat_lon=True),
    SupportedCrs(EPSG_URI.format(code=3857), 3857, "WGS 84 / Pseudo-Mercator", decimals=3),
    SupportedCrs(EPSG_URI.format(code=METRIC_SRID), METRIC_SRID, "WGS 84 / UTM zone 48N", decimals=3),
    SupportedCrs(
        EPSG_URI.format(code=BAC_GIANG_VN2000_EPSG),
        BAC_GIANG_VN2000_EPSG,
        "VN-2000 / TM-3 107-00",
        decimals=3,
    ),
)
SUPPORTED_URIS = tuple(item.uri for item in SUPPORTED)
_BY_URI = {item.uri: item for item in SUPPORTED}


def by_uri(uri: str) -> SupportedCrs | None:
    return _BY_URI.get(uri.strip())


def default_crs() -> SupportedCrs:
    return _BY_URI[CRS84]


# -- pyproj: the definitions, for PostGIS (migration 0004) and for importers ------------------------------------
def vn2000_transformation() -> CoordinateOperation:
    return CoordinateOperation.from_epsg(VN2000_TO_WGS84_EPSG)


@functools.cache
def vn2000_crs(srid: int) -> CRS:
    """A VN-2000 CRS (4756 or a TM-3 zone) bound to WGS 84 by EPSG:6960, so every to-WGS 84 step uses it."""
    if srid != VN2000_GEOGRAPHIC_EPSG and srid not in VN2000_TM3_EPSG:
        raise ValueError(f"EPSG:{srid} is not a VN-2000 CRS khgeo knows")
    return CRS.from_json_dict(
        {
            "type": "BoundCRS",
            "source_crs": CRS.from_epsg(srid).to_json_dict(),
            "target_crs": CRS.from_epsg(STORAGE_SRID).to_json_dict(),
            "transformation": vn2000_transformation().to_json_dict(),
        }
    )


# Building a Transformer costs ~2 ms (PROJ resolves the pipeline); using one costs microseconds. Both are kept:
# pyproj's Transformer is thread-safe since 3.1. (The parcels import asks for them once per parcel.)
@functools.cache
def to_wgs84(srid: int) -> Transformer:
    """VN-2000 (``srid``) → WGS 84, x/y = easting/northing (or lon/lat) in, lon/lat out, through EPSG:6960."""
    return Transformer.from_crs(vn2000_crs(srid), CRS.from_epsg(STORAGE_SRID), always_xy=True)


@functools.cache
def from_wgs84(srid: int) -> Transformer:
    """WGS 84 lon/lat → VN-2000 (``srid``), through EPSG:6960."""
    return Transformer.from_crs(CRS.from_epsg(STORAGE_SRID), vn2000_crs(srid), always_xy=True)


def proj4text(srid: int) -> str:
    """The PROJ.4 string of a VN-2000 CRS with the datum shift written out (+towgs84)."""
    with warnings.catch_warnings():
        # pyproj warns that a PROJ string loses information; for this bound CRS it loses none (tests/test_crs.py)
        warnings.simplefilter("ignore", UserWarning)
        text = vn2000_crs(srid).to_proj4()
    return text.replace(" +type=crs", "").strip()


def spatial_ref_sys_rows() -> list[dict]:
    """Rows for PostGIS's spatial_ref_sys: the VN-2000 TM-3 zones, srtext WKT1 with TOWGS84, proj4text +towgs84."""
    return [
        {
            "srid": srid,
            "auth_name": "EPSG",
            "auth_srid": srid,
            "srtext": vn2000_crs(srid).to_wkt("WKT1_GDAL"),
            "proj4text": proj4text(srid),
        }
        for srid in VN2000_TM3_EPSG
    ]


# -- SQL: geometry out in a CRS, a bbox in ------------------------------------------------------------------------
def geometry_json(geom: SQLColumnExpression, target: SupportedCrs) -> ColumnElement:
    """GeoJSON text of ``geom`` (stored in 4326) in ``target``'s CRS and axis order."""
    if target.srid != STORAGE_SRID:
        geom = func.ST_Transform(geom, target.srid)
    elif target.lat_lon:
        geom = func.ST_FlipCoordinates(geom)
    # options 0: no legacy GeoJSON "crs" member; the CRS travels in the Content-Crs header (Part 2)
    return func.ST_AsGeoJSON(geom, target.decimals, 0)


def bbox_envelope(bbox: tuple[float, float, float, float], srid: int = STORAGE_SRID) -> ColumnElement:
    """The bbox (x/y order of ``srid``: lon/lat, or easting/northing) as a polygon in 4326 for ST_Intersects.

    A projected bbox is densified before it is transformed, so its edges stay where they were drawn. A degenerate
    bbox (equal corners: a point or a line) becomes that point or line: as a polygon it would intersect nothing.
    """
    minx, miny, maxx, maxy = bbox
    if minx < maxx and miny < maxy:
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, srid)
    else:
        corners = func.ST_MakeLine(func.ST_MakePoint(minx, miny), func.ST_MakePoint(maxx, maxy))
        envelope = func.ST_Envelope(func.ST_SetSRID(corners, srid))
    if srid == STORAGE_SRID:
        return envelope
    step = max(maxx - minx, maxy - miny) / 16
    if step > 0:
        envelope = func.ST_Segmentize(envelope, step)
    return func.ST_Transform(envelope, STORAGE_SRID)


@functools.cache
def valid_bounds(srid: int) -> tuple[float, float, float, float]:
    """Where a projected CRS transforms reliably, in its own x/y: its EPSG area of use widened by 5°.

    A bbox in that CRS is clipped to these bounds before PostGIS transforms it, so a map zoomed out past the
    world (or numbers like 1e300) never reaches PROJ as an impossible coordinate.
    """
    crs = CRS.from_epsg(srid)
    area = crs.area_of_use
    west, south, east, north = area.bounds if area else (-180.0, -90.0, 180.0, 90.0)
    max_lat = 85.0 if srid == 3857 else 89.0
    # just inside ±180°: PROJ wraps +180° to -180°, which would fold a world-wide box onto one meridian
    west, east = max(west - 5, -179.999), min(east + 5, 179.999)
    south, north = max(south - 5, -max_lat), min(north + 5, max_lat)
    transformer = Transformer.from_crs(CRS.from_epsg(STORAGE_SRID), crs, always_xy=True)
    return transformer.transform_bounds(west, south, east, north, densify_pts=21)
