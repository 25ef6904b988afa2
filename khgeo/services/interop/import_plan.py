"""Importing zones from GIS files: first a plan of exactly what would change, then applying it in one transaction.

``plan_import`` reads nothing but the database and returns an ImportPlan: per feature of the file, "create",
"update" (field: old → new, outline area old → new), "unchanged" or "rejected" (with reasons), plus the CRS, the
datum transformation and the column mapping used. ``apply_import`` computes the same plan again inside the
caller's transaction, refuses if it differs from the one the user saw (its fingerprint), and writes every change
with a history entry (ZoneUpdate kind "import", source = the file name) and an audit event ("zone.import"). The
caller commits; any failure rolls the whole import back.

Coordinates: VN-2000 → WGS 84 is forced to EPSG:6960
------------------------------------------------------
Vietnamese survey and planning files are in VN-2000, usually a provincial TM-3 projection (Bắc Giang: EPSG:9214,
central meridian 107°00′). VN-2000 lies on the WGS 84 ellipsoid but not on the WGS 84 datum: the two differ by
~220 m in Bắc Giang. The official transformation is EPSG:6960 "VN-2000 to WGS 84 (2)", the seven parameters of
Decision 05/2007/QĐ-BTNMT (accuracy ~1 m). Files get this wrong in two common ways: a .prj with no datum shift
or a null TOWGS84 (the "internal" VN-2000 variant of some desktop tools), and a shift written with the rotation
signs of the other convention. Left to "best available", PROJ may pick a ballpark (null) shift for a CRS it does
not recognise and the outline lands 200–300 m away — inside the province, so no other check would notice. So
whenever the source CRS is on the VN-2000 datum, whatever the file says about the shift, khgeo projects to
VN-2000 geographic coordinates and then applies exactly EPSG:6960 through ``khgeo.geo.crs.to_wgs84`` (a CRS
bound to that one operation), and says so in the preview. Other CRSs go through pyproj's transformation to WGS
84, refused when PROJ knows only a ballpark one. tests/test_import.py checks a 9214 Shapefile lands within 1 m.

Validation: geometries are repaired in PostGIS (ST_MakeValid, keeping the polygonal parts) so the result is what
the database itself computes, and each repair is reported. Non-polygonal geometries are rejected (a point from a
table's lon/lat columns updates attributes only). An outline or point outside the province (the union of the
districts, with the tolerance of khgeo.services.geometry) is **rejected**, like the outline editor does: such a
file almost always has the wrong CRS, and importing it would hide zones off the map.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import shapely
from flask_babel import lazy_gettext as _l
from shapely.geometry import GeometryCollection, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from khgeo.geo.crs import METRIC_SRID
from khgeo.geo.reprojection import CrsNeeded, Reprojection, crs_label, parse_crs, reprojection
from khgeo.services.geometry import (
    DEFAULT_VERTEX_LIMITS,
    VertexLimits,
    province_wkb,
    too_many_vertices,
    vertex_count,
)
from khgeo.services.interop.encodings import text_problem
from khgeo.services.interop.field_names import (
    IMPORT_TARGETS,
    map_columns,
)
from khgeo.services.interop.import_match import compare_outlines, match_and_diff
from khgeo.services.interop.import_types import DB_BATCH, NAME_FIELDS, FeaturePlan, ImportPlan, Progress
from khgeo.services.interop.source import ImportFileError, SourceData


def plan_import(
    session: Session,
    source: SourceData,
    *,
    crs: str | None = None,
    today: dt.date,
    progress: Progress = None,
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> ImportPlan:
    """What importing ``source`` would do, computed against the database; writes nothing.

    Outlines over ``limits.per_outline`` vertices are rejected one by one; a file over ``limits.per_file`` in all
    is refused before any geometry work (repairs and comparisons in PostGIS grow with the vertices).
    """
    mapping = map_columns(source.columns)
    targets = set(mapping.values())
    if not targets & {"code", "name"}:
        raise ImportFileError(
            _l(
                "No column gives the zones' code or name (columns: %(columns)s). Name a column code, name or tên.",
                columns=", ".join(source.columns) or "—",
            )
        )
    _refuse_legacy_text(source, mapping)
    _refuse_too_many_vertices(source, limits)
    plan = ImportPlan(
        file_name=source.file_name,
        format=source.format,
        layer=source.layer,
        mapping=mapping,
        features=[],
        geometry_from=source.geometry_from,
        encoding=source.encoding,
        warnings=list(source.warnings),
    )
    projection = _choose_reprojection(source, crs, plan)
    columns_by_target: dict[str, str] = {t: c for c, t in mapping.items() if t in IMPORT_TARGETS}
    for raw in source.features:
        feature = FeaturePlan(number=raw.number, label="")
        feature.given = {
            target: raw.attributes.get(column)
            for target, column in columns_by_target.items()
            if raw.attributes.get(column) not in (None, "", [])
        }
        feature.label = str(feature.given.get("name") or feature.given.get("code") or f"#{raw.number}")
        if raw.geometry_error:
            feature.reject(raw.geometry_error)
        elif raw.geometry is not None and (problem := too_many_vertices(raw.geometry, limits)):
            feature.reject(problem)
        elif raw.geometry is not None:
            _prepare_geometry(feature, raw.geometry, projection)
        plan.features.append(feature)
    if any(f.is_point for f in plan.features):
        plan.warnings.append(
            _l(
                "Points are not outlines: for those features the attributes are imported and outlines left as they are."
            )
        )
    _check_in_database(session, plan.features, progress)
    match_and_diff(session, plan.features, today)
    compare_outlines(session, plan.features)
    return plan


def _refuse_too_many_vertices(source: SourceData, limits: VertexLimits) -> None:
    total = sum(vertex_count(raw.geometry) for raw in source.features if raw.geometry is not None)
    if total > limits.per_file:
        raise ImportFileError(
            _l(
                "The file's outlines have %(n)d vertices in all, more than the %(max)d one import may hold: "
                "simplify the outlines in your GIS (e.g. to 1 m) or split the file. Nothing was imported.",
                n=total,
                max=limits.per_file,
            )
        )


def _refuse_legacy_text(source: SourceData, mapping: dict[str, str | None]) -> None:
    columns = [c for c, t in mapping.items() if t in NAME_FIELDS]
    for raw in source.features:
        for column in columns:
            value = raw.attributes.get(column)
            for text_value in value if isinstance(value, list) else [value]:
                problem = text_problem(text_value) if isinstance(text_value, str) else None
                if problem == "mojibake":
                    raise ImportFileError(
                        _l(
                            "Feature %(n)d: the text %(text)s looks like UTF-8 read with the wrong encoding. Name the encoding UTF-8 (or fix the .cpg file) and import again.",
                            n=raw.number,
                            text=repr(str(text_value)[:60]),
                        ),
                        field="encoding",
                    )
                if problem in ("tcvn3", "vni"):
                    raise ImportFileError(
                        _l(
                            "Feature %(n)d: the name %(text)s is written in a legacy Vietnamese font encoding (%(encoding)s), not Unicode: it would be stored as gibberish. Convert the file to Unicode (for example with Unikey's converter, from %(encoding)s to Unicode) and import again. Nothing was imported.",
                            n=raw.number,
                            text=repr(str(text_value)[:60]),
                            encoding="TCVN3 (ABC)" if problem == "tcvn3" else "VNI",
                        ),
                        field="encoding",
                    )


def _choose_reprojection(source: SourceData, given: str | None, plan: ImportPlan) -> Reprojection | None:
    if not source.has_geometries:
        return None
    chosen = parse_crs(given) if given else None
    declared = source.crs
    if chosen is not None and declared is not None and not chosen.equals(declared, ignore_axis_order=True):
        plan.warnings.append(
            _l(
                "The file declares %(declared)s; its coordinates were read as %(chosen)s, as asked.",
                declared=crs_label(declared),
                chosen=crs_label(chosen),
            )
        )
    crs = chosen or declared or source.default_crs
    if crs is None:
        how = {"wkt": _l("a WKT column"), "x/y": _l("x/y columns")}.get(
            source.geometry_from, _l("no .prj file")
        )
        raise CrsNeeded(
            _l(
                "The file does not say which coordinate reference system its coordinates are in (%(how)s). Name it, for example EPSG:9214 for VN-2000 / TM-3 107-00 (Bắc Giang). Nothing was imported.",
                how=how,
            )
        )
    projection = reprojection(crs)
    plan.crs = projection.source
    plan.transformation = projection.transformation
    plan.warnings += projection.warnings
    return projection


def _polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    if isinstance(geometry, GeometryCollection) and geometry.geoms:
        parts = [g for g in geometry.geoms if isinstance(g, Polygon | MultiPolygon)]
        if len(parts) == len(geometry.geoms):
            polygons = [p for part in parts for p in getattr(part, "geoms", [part])]
            return MultiPolygon(polygons)
    return None


def _prepare_geometry(feature: FeaturePlan, geometry: BaseGeometry, projection: Reprojection | None) -> None:
    geometry = shapely.force_2d(geometry)
    outline = _polygonal(geometry)
    if outline is None and not isinstance(geometry, Point):
        feature.reject(
            _l("A zone outline must be a polygon; this feature is a %(kind)s.", kind=geometry.geom_type)
        )
        return
    shape_ = outline if outline is not None else geometry
    if projection is not None and projection.geographic:
        minx, miny, maxx, maxy = shape_.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            feature.reject(
                _l(
                    "The coordinates are not longitude/latitude (they look like metres): name the file's coordinate reference system, e.g. EPSG:9214."
                )
            )
            return
    if projection is not None and projection.transform is not None:
        transform = projection.transform

        def project(coords: np.ndarray) -> np.ndarray:
            x, y = transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        shape_ = shapely.transform(shape_, project)
    if not np.isfinite(shapely.get_coordinates(shape_)).all():
        feature.reject(
            _l("The coordinates cannot be converted to WGS 84: check the coordinate reference system.")
        )
        return
    feature.geometry = shape_
    feature.is_point = outline is None


def _check_in_database(session: Session, features: list[FeaturePlan], progress: Progress) -> None:
    """Validity, repair (ST_MakeValid), inside-the-province and area, computed by PostGIS in batches."""
    pending = [f for f in features if f.geometry is not None and not f.reasons]
    query = text(
        """
        WITH input AS (
            SELECT t.n, ST_GeomFromWKB(t.w, 4326) AS g FROM unnest(CAST(:ns AS int[]), CAST(:ws AS bytea[])) AS t(n, w)
        ), province AS (
            SELECT ST_GeomFromWKB(CAST(:province AS bytea), 4326) AS p
        ), checked AS (
            SELECT n, g, ST_IsValid(g) AS valid,
                   CASE WHEN ST_Dimension(g) < 2 THEN g
                        WHEN ST_IsValid(g) THEN ST_Multi(g)
                        ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) END AS r
            FROM input
        )
        SELECT c.n, c.valid, CASE WHEN c.valid THEN NULL ELSE ST_IsValidReason(c.g) END,
               ST_AsBinary(c.r), ST_IsEmpty(c.r), ST_CoveredBy(c.r, province.p),
               ST_Area(ST_Transform(c.r, :metric)) / 10000.0,
               (SELECT d.code FROM districts d WHERE ST_Intersects(d.geom, ST_PointOnSurface(c.r)) ORDER BY d.code LIMIT 1)
        FROM checked c, province
        """
    )
    province = province_wkb(session)
    by_number = {f.number: f for f in pending}
    for start in range(0, len(pending), DB_BATCH):
        batch = pending[start : start + DB_BATCH]
        rows = session.execute(
            query,
            {
                "ns": [f.number for f in batch],
                "ws": [shapely.to_wkb(f.geometry) for f in batch],
                "province": province,
                "metric": METRIC_SRID,
            },
        ).all()
        for number, valid, reason, repaired_wkb, empty, inside, area_ha, district_code in rows:
            feature = by_number[number]
            if empty:
                feature.reject(
                    _l("Nothing polygonal is left after repairing the outline (%(reason)s).", reason=reason)
                )
                continue
            if not inside:
                feature.reject(
                    _l(
                        "The %(what)s lies outside the province: check the coordinate reference system.",
                        what=_l("point") if feature.is_point else _l("outline"),
                    )
                )
                continue
            feature.district_code = district_code
            if feature.is_point:
                continue
            if not valid:
                feature.repairs.append(
                    _l(
                        "%(reason)s: repaired with ST_MakeValid (%(area).2f ha after repair).",
                        reason=reason,
                        area=area_ha,
                    )
                )
            feature.outline_wkb = bytes(repaired_wkb)
            feature.area_ha = round(float(area_ha), 2)
        if progress:
            progress(len(batch))
    if progress:
        progress(len(features) - len(pending))


# -- public doors for other importers (the parcels import, khgeo/services/parcels/importing.py) -------------------
def choose_reprojection(source: SourceData, given: str | None, plan: Any) -> Reprojection | None:
    """How ``source``'s coordinates become WGS 84 (``given`` overrides the file's CRS); sets ``plan.crs``,
    ``plan.transformation`` and adds to ``plan.warnings``; CrsNeeded when no CRS is known."""
    return _choose_reprojection(source, given, plan)


def prepare_outline(
    geometry: BaseGeometry, projection: Reprojection | None
) -> tuple[BaseGeometry | None, list]:
    """A file's polygon in WGS 84, as zones get it (2D, polygonal parts, reprojected), or None and the reasons."""
    feature = FeaturePlan(number=0, label="")
    _prepare_geometry(feature, geometry, projection)
    if feature.is_point:
        return None, [
            _l("An outline must be a polygon; this feature is a %(kind)s.", kind=geometry.geom_type)
        ]
    return feature.geometry, feature.reasons


def refuse_file_problems(source: SourceData, text_columns: list[str], limits: VertexLimits) -> None:
    """Refuse a file whose text columns are in a legacy font encoding, or whose outlines hold too many vertices."""
    _refuse_legacy_text(source, {column: "name" for column in text_columns})
    _refuse_too_many_vertices(source, limits)
