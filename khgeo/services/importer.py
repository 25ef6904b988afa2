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
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from flask_babel import lazy_gettext as _l
from geoalchemy2 import WKBElement
from pyproj import CRS, Transformer
from pyproj.database import query_crs_info
from pyproj.enums import PJType
from pyproj.exceptions import CRSError
from shapely.geometry import GeometryCollection, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from khgeo import clock
from khgeo.errors import KhgeoError, ValidationFailed
from khgeo.geo import crs as geo_crs
from khgeo.models import WWTP_STATUSES, District, User, Zone
from khgeo.services.audit import record
from khgeo.services.geometry import (
    DEFAULT_VERTEX_LIMITS,
    PLAUSIBLE_AREA_RATIO,
    PROVINCE_TOLERANCE_DEG,
    VertexLimits,
    too_many_vertices,
    vertex_count,
)
from khgeo.services.import_files import ImportFileError, SourceData, text_problem
from khgeo.services.transfer_fields import (
    IMPORT_TARGETS,
    WWTP_LABELS_VI,
    map_columns,
)
from khgeo.services.updates import STATUS_FIELDS, snapshot, validate
from khgeo.services.zone_info import (
    CODE_PATTERN,
    InfoLookups,
    coded_choice,
    new_zone_code,
    split_kind_prefix,
    validate_info,
    zone_kind,
)
from khgeo.text import fold

# the history note of an imported feature: stored in this fixed form, shown in the reader's language
# (parse_import_note + the zone page)
IMPORT_NOTE = "Import of {file}, feature {number}"
_IMPORT_NOTE = re.compile(r"^Import of (?P<file>.*), feature (?P<number>\d+)$", re.S)


def parse_import_note(note: str) -> tuple[str, int] | None:
    """(file name, feature number) of an import's history note; None for any other note."""
    match = _IMPORT_NOTE.match(note or "")
    return (match["file"], int(match["number"])) if match else None


# Two outlines closer than this everywhere (Hausdorff distance, metres) are the same outline: a GeoJSON export
# rounds coordinates to 6 decimals (≤ 0.08 m in Bắc Giang), so an exported file re-imports as "unchanged".
SAME_OUTLINE_M = 0.15
DB_BATCH = 500
DECIMALS = {
    "stated_area_ha": 2,
    "clearance_area_ha": 2,
    "cleared_area_ha": 2,
    "wwtp_capacity_m3_day": 1,
    "infrastructure_pct": 2,
    "occupancy_pct": 2,
}
# the zone's facts a file can set, checked by khgeo.services.zone_info.validate_info
FACT_FIELDS = (
    "name",
    "kind",
    "aliases",
    "communes",
    "developer",
    "district",
    "stated_area_ha",
    "operating_status",
)
NAME_FIELDS = ("name", "aliases", "developer", "district", "communes")  # checked for legacy font encodings
ACTIONS = ("create", "update", "unchanged", "rejected")
VN2000_TRANSFORMATION = (
    'EPSG:6960 "VN-2000 to WGS 84 (2)": the seven parameters of Decision 05/2007/QĐ-BTNMT '
    "(ΔX −191.90441429 m, ΔY −39.30318279 m, ΔZ −111.45032835 m, rotations −0.00928836″ / +0.01975479″ / "
    "−0.00427372″ coordinate frame, scale +0.252906278 ppm), accuracy ~1 m"
)


class CrsNeeded(ImportFileError):
    def __init__(self, message):
        super().__init__(message, field="crs")


class PlanChanged(KhgeoError):
    """The data changed between the preview and the apply: nothing was written."""

    status = 409

    def __init__(self):
        super().__init__(
            _l("The zones changed since the preview was made: nothing was imported. Review the new preview.")
        )


# -- coordinate reference systems -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrsOption:
    value: str  # "EPSG:9214"
    label: str


@functools.cache
def crs_options() -> tuple[CrsOption, ...]:
    """The CRSs offered by name: Bắc Giang's VN-2000 TM-3 first, the other provincial TM-3 zones, then others."""
    tm3 = {
        int(info.code): info.name
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if info.name.startswith("VN-2000 / TM-3") and not info.deprecated
    }
    bac_giang = geo_crs.BAC_GIANG_VN2000_EPSG
    options = [CrsOption(f"EPSG:{bac_giang}", f"{tm3.pop(bac_giang)} — Bắc Giang (EPSG:{bac_giang})")]
    options += [CrsOption(f"EPSG:{code}", f"{name} (EPSG:{code})") for code, name in sorted(tm3.items())]
    options += [
        CrsOption("EPSG:3405", "VN-2000 / UTM zone 48N (EPSG:3405)"),
        CrsOption("EPSG:4756", "VN-2000, longitude/latitude (EPSG:4756)"),
        CrsOption("EPSG:4326", "WGS 84, longitude/latitude (EPSG:4326)"),
        CrsOption("EPSG:32648", "WGS 84 / UTM zone 48N (EPSG:32648)"),
    ]
    return tuple(options)


def parse_crs(raw: str) -> CRS:
    """A CRS from "EPSG:9214", "9214", an OGC URI, a name from crs_options(), or anything pyproj reads."""
    value = raw.strip()
    for option in crs_options():
        if fold(value) in (fold(option.value), fold(option.label), fold(option.label.split(" (EPSG")[0])):
            value = option.value
            break
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return CRS.from_user_input(value)
    except CRSError:
        raise CrsNeeded(
            _l(
                "Unknown coordinate reference system %(crs)s: give an EPSG code such as EPSG:9214 (VN-2000 / TM-3 107-00, Bắc Giang).",
                crs=raw[:100],
            )
        ) from None


def _unbound(crs: CRS) -> CRS:
    """A bound CRS's source CRS (the file's own datum shift is not used: see reprojection), else the CRS."""
    return crs.source_crs if crs.is_bound and crs.source_crs is not None else crs


def crs_label(crs: CRS) -> str:
    base = _unbound(crs)
    epsg = base.to_epsg(min_confidence=70)
    return f"{base.name} (EPSG:{epsg})" if epsg else base.name


def is_vn2000(crs: CRS) -> bool:
    base = _unbound(crs)
    geodetic = base.geodetic_crs
    if geodetic is None or geodetic.datum is None:
        return False
    key = re.sub(r"[^a-z0-9]", "", fold(geodetic.datum.name))
    return "vietnam2000" in key or "vn2000" in key


def _is_wgs84_lonlat(crs: CRS) -> bool:
    return crs.to_epsg(min_confidence=70) == 4326 or crs.equals(CRS.from_user_input("OGC:CRS84"))


@dataclass
class Reprojection:
    """How coordinates become WGS 84 longitude/latitude; ``transform`` is None when they already are."""

    source: str
    transformation: str
    transform: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]] | None = None
    geographic: bool = False
    warnings: list[Any] = field(default_factory=list)


def reprojection(crs: CRS) -> Reprojection:
    base = _unbound(crs)
    label = crs_label(crs)
    if is_vn2000(base):
        epsg = base.to_epsg(min_confidence=70)
        transform: Callable[[Any, Any], tuple[Any, Any]]
        if epsg == geo_crs.VN2000_GEOGRAPHIC_EPSG or epsg in geo_crs.VN2000_TM3_EPSG:
            transform = geo_crs.to_wgs84(epsg).transform
        else:  # another projection on VN-2000 (UTM, a .prj pyproj cannot name): to VN-2000 lon/lat, then 6960
            to_geographic = Transformer.from_crs(base, base.geodetic_crs, always_xy=True)
            to_wgs84 = geo_crs.to_wgs84(geo_crs.VN2000_GEOGRAPHIC_EPSG)

            def via_geographic(x, y):
                return to_wgs84.transform(*to_geographic.transform(x, y))

            transform = via_geographic

        result = Reprojection(label, VN2000_TRANSFORMATION, transform, base.is_geographic)
        if crs.is_bound:
            result.warnings.append(
                _l(
                    "The file states its own datum shift for VN-2000; it was ignored and EPSG:6960 applied instead."
                )
            )
        return result
    if _is_wgs84_lonlat(base):
        return Reprojection(label, str(_l("none (already WGS 84)")), None, True)
    transformer = Transformer.from_crs(crs, CRS.from_epsg(geo_crs.STORAGE_SRID), always_xy=True)
    if "ballpark" in transformer.description.lower():
        raise CrsNeeded(
            _l(
                "No known datum transformation from %(crs)s to WGS 84: outlines could land hundreds of metres away. Convert the file to VN-2000 or WGS 84 first.",
                crs=label,
            )
        )
    return Reprojection(label, transformer.description, transformer.transform, base.is_geographic)


# -- the plan ---------------------------------------------------------------------------------------------------
@dataclass
class FeaturePlan:
    number: int
    label: str
    action: str = ""  # one of ACTIONS once planned
    code: str | None = None
    zone_id: int | None = None
    zone_version: int | None = None
    matched_by: str | None = None  # "code", "name", "alias"
    changes: dict[str, list] = field(default_factory=dict)  # field → [old, new], JSON-ready (history, audit)
    values: dict[str, Any] = field(default_factory=dict)  # zone attribute → new value, as written
    outline_wkb: bytes | None = None  # the repaired outline, when it changes
    reasons: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)
    repairs: list[Any] = field(default_factory=list)
    # internal while planning
    given: dict[str, Any] = field(default_factory=dict, repr=False)
    geometry: BaseGeometry | None = field(default=None, repr=False)
    is_point: bool = False
    area_ha: float | None = None
    district_code: str | None = None  # the district holding the outline

    def reject(self, reason: Any) -> None:
        self.action = "rejected"
        self.reasons.append(reason)


@dataclass
class ImportPlan:
    file_name: str
    format: str
    layer: str | None
    mapping: dict[str, str | None]
    features: list[FeaturePlan]
    crs: str = ""
    transformation: str = ""
    geometry_from: str = ""
    encoding: str | None = None
    warnings: list[Any] = field(default_factory=list)

    def by_action(self, action: str) -> list[FeaturePlan]:
        return [f for f in self.features if f.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.by_action(action)) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(f.action in ("create", "update") for f in self.features)

    @property
    def fingerprint(self) -> str:
        """What the user approved: every action, zone version and change (a preview and an apply must agree)."""
        items = [
            [
                f.number,
                f.action,
                f.code,
                f.zone_version,
                f.changes,
                hashlib.sha256(f.outline_wkb).hexdigest() if f.outline_wkb else None,
            ]
            for f in self.features
        ]
        payload = json.dumps([self.crs, self.transformation, items], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def lines(self) -> list[str]:
        """The plan as text (the CLI's report)."""
        counts = self.counts
        layer = f", layer {self.layer}" if self.layer else ""
        out = [f"{self.file_name} ({self.format}{layer}): {len(self.features)} features"]
        if self.crs:
            out.append(f"coordinates: {self.crs} → WGS 84; transformation: {self.transformation}")
        mapped = [f"{column} → {target or '(not used)'}" for column, target in self.mapping.items()]
        out.append("columns: " + (" · ".join(mapped) or "(none)"))
        out += [f"warning: {w}" for w in self.warnings]
        marks = {
            "create": "+ create   ",
            "update": "~ update   ",
            "unchanged": "= unchanged",
            "rejected": "✗ rejected ",
        }
        for feature in self.features:
            head = " ".join(
                filter(None, [marks[feature.action], f"#{feature.number}", feature.code, repr(feature.label)])
            )
            if feature.matched_by:
                head += f" (matched by {feature.matched_by})"
            out.append(head)
            for name, (old, new) in feature.changes.items():
                if name == "geometry":
                    out.append(f"      outline: {_fmt(old)} ha → {_fmt(new)} ha")
                else:
                    out.append(f"      {name}: {_fmt(old)} → {_fmt(new)}")
            out += [f"      reason: {r}" for r in feature.reasons]
            out += [f"      repaired: {r}" for r in feature.repairs]
            out += [f"      warning: {w}" for w in feature.warnings]
        out.append(
            f"summary: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged, {counts['rejected']} rejected"
        )
        return out


def _fmt(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


Progress = Callable[[int], None] | None


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
    _match_and_diff(session, plan.features, today)
    _compare_outlines(session, plan.features)
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
            SELECT ST_Buffer(ST_Union(geom), :tolerance) AS p FROM districts
        ), checked AS (
            SELECT n, g, ST_IsValid(g) AS valid,
                   CASE WHEN ST_Dimension(g) < 2 THEN g
                        WHEN ST_IsValid(g) THEN ST_Multi(g)
                        ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) END AS r
            FROM input
        )
        SELECT c.n, c.valid, CASE WHEN c.valid THEN NULL ELSE ST_IsValidReason(c.g) END,
               ST_AsBinary(c.r), ST_IsEmpty(c.r), ST_CoveredBy(c.r, province.p),
               ST_Area(ST_Transform(c.r, 32648)) / 10000.0,
               (SELECT d.code FROM districts d WHERE ST_Intersects(d.geom, ST_PointOnSurface(c.r)) ORDER BY d.code LIMIT 1)
        FROM checked c, province
        """
    )
    by_number = {f.number: f for f in pending}
    for start in range(0, len(pending), DB_BATCH):
        batch = pending[start : start + DB_BATCH]
        rows = session.execute(
            query,
            {
                "ns": [f.number for f in batch],
                "ws": [shapely.to_wkb(f.geometry) for f in batch],
                "tolerance": PROVINCE_TOLERANCE_DEG,
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


# -- matching and values ----------------------------------------------------------------------------------------
@dataclass
class _Index:
    by_code: dict[str, Zone]
    by_name: dict[str, list[Zone]]
    by_alias: dict[str, list[Zone]]
    districts: dict[str, District]  # GSO code → district
    district_names: dict[str, str]  # folded name or full name → GSO code
    codes: set[str]


def _index(session: Session) -> _Index:
    zones = list(session.scalars(select(Zone).order_by(Zone.code)))
    districts = list(session.scalars(select(District)))
    by_name: dict[str, list[Zone]] = {}
    by_alias: dict[str, list[Zone]] = {}
    for zone in zones:
        by_name.setdefault(fold(zone.name), []).append(zone)
        for alias in zone.aliases or []:
            by_alias.setdefault(fold(alias), []).append(zone)
    names = {}
    for district in districts:
        names[fold(district.name)] = district.code
        names[fold(district.full_name)] = district.code
    return _Index(
        by_code={z.code: z for z in zones},
        by_name=by_name,
        by_alias=by_alias,
        districts={d.code: d for d in districts},
        district_names=names,
        codes={z.code for z in zones},
    )


def _as_date(raw: Any) -> Any:
    return raw.date() if isinstance(raw, dt.datetime) else raw


def _lookups(index: _Index) -> InfoLookups:
    return InfoLookups(
        districts=tuple(index.districts.values()),
        agencies={},  # a file does not set the managing body
        agency_names={},
        codes=frozenset(),  # a file's codes are checked by _plan_create (created ones only)
    )


def _parse_values(feature: FeaturePlan, zone: Zone | None, index: _Index, today: dt.date) -> dict[str, Any]:
    """The given values as zone attributes (district → district_id), or reasons on the feature."""
    given = feature.given
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    # the zone's facts: the same check as the admin's form and the API (khgeo.services.zone_info)
    facts = {name: given[name] for name in FACT_FIELDS if name in given}
    try:
        values.update(validate_info(facts, _lookups(index), zone=zone))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if values.get("operating_status", "") is None:
        del values["operating_status"]  # "unknown" in a file leaves the status as it is, as before
    if "wwtp_status" in given:
        understood, status = coded_choice(given["wwtp_status"], WWTP_STATUSES, WWTP_LABELS_VI)
        if not understood:
            errors["wwtp_status"] = _l(
                "Unknown wastewater status %(value)s: use one of %(allowed)s.",
                value=given["wwtp_status"],
                allowed=", ".join(WWTP_STATUSES),
            )
        elif status is not None:
            values["wwtp_status"] = status
    status_data = {name: given[name] for name in STATUS_FIELDS if name in given and name != "wwtp_status"}
    if "wwtp_status" in values:
        status_data["wwtp_status"] = values["wwtp_status"]
    if "as_of" in given:
        status_data["as_of"] = _as_date(given["as_of"])
    try:
        change = validate(zone or Zone(), status_data, today)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    else:
        values.update(change.values)
        if change.as_of is not None:
            values["as_of"] = change.as_of
    for name, digits in DECIMALS.items():
        if values.get(name) is not None:
            values[name] = Decimal(values[name]).quantize(Decimal(1).scaleb(-digits))
    for name, message in errors.items():
        feature.reject(_l("%(field)s: %(message)s", field=name, message=message))
    return values


def _match(feature: FeaturePlan, index: _Index, claimed: dict[int, int]) -> Zone | None:
    given = feature.given
    zone = None
    if "code" in given:
        code = str(given["code"]).strip()
        zone = index.by_code.get(code) or index.by_code.get(code.lower())
        if zone is not None:
            feature.matched_by = "code"
        elif "name" in given:
            feature.warnings.append(_l("No zone has the code %(code)s: matched by name instead.", code=code))
    if zone is None and "name" in given:
        prefix_kind, name = split_kind_prefix(str(given["name"]))
        kind = zone_kind(given["kind"]) if "kind" in given else prefix_kind
        for how, table in (("name", index.by_name), ("alias", index.by_alias)):
            candidates = [z for z in table.get(fold(name), []) if kind is None or z.kind == kind]
            if len(candidates) > 1:
                feature.reject(
                    _l(
                        "The name %(name)s matches several zones (%(codes)s): add a code or kind column.",
                        name=name,
                        codes=", ".join(z.code for z in candidates),
                    )
                )
                return None
            if candidates:
                zone, feature.matched_by = candidates[0], how
                break
    if zone is not None:
        if zone.id in claimed:
            feature.reject(
                _l(
                    "Zone %(code)s is already imported from feature %(n)d.",
                    code=zone.code,
                    n=claimed[zone.id],
                )
            )
            return None
        claimed[zone.id] = feature.number
    return zone


def _match_and_diff(session: Session, features: list[FeaturePlan], today: dt.date) -> None:
    index = _index(session)
    claimed: dict[int, int] = {}
    for feature in features:
        if feature.reasons:
            continue
        zone = _match(feature, index, claimed)
        if feature.reasons:
            continue
        values = _parse_values(feature, zone, index, today)
        if feature.reasons:
            continue
        if any(name in STATUS_FIELDS for name in values) and "as_of" not in values:
            values["as_of"] = today  # new figures with no date describe today, as a field update does
        if zone is None:
            _plan_create(feature, values, index)
        else:
            _plan_update(feature, zone, values, index)


def _plan_create(feature: FeaturePlan, values: dict[str, Any], index: _Index) -> None:
    prefix_kind = split_kind_prefix(str(feature.given.get("name", "")))[0]
    kind = values.get("kind") or prefix_kind
    name = values.get("name")
    if not name or not kind:
        feature.reject(_l("No zone matches, and a new zone needs at least a name and a kind (KCN or CCN)."))
        return
    values["kind"] = kind
    code = str(feature.given.get("code", "")).strip()
    if code:
        if not CODE_PATTERN.match(code):
            feature.reject(
                _l("The code %(code)s is not valid: use lower-case letters, digits and hyphens.", code=code)
            )
            return
        if code in index.codes:
            feature.reject(_l("The code %(code)s appears twice in the file.", code=code))
            return
    else:
        code = new_zone_code(kind, name, index.codes)
    index.codes.add(code)
    if "district_id" not in values and feature.district_code:
        values["district_id"] = index.districts[feature.district_code].id
    feature.action, feature.code = "create", code
    feature.values = values
    district_names = {d.id: d.name for d in index.districts.values()}
    for name_, value in values.items():
        if name_ == "district_id":
            feature.changes["district"] = [None, district_names[value]]
        else:
            feature.changes[name_] = [None, _plain(value)]
    if feature.geometry is not None and not feature.is_point:
        feature.changes["geometry"] = [None, feature.area_ha]
        feature.changes["geometry_source"] = [None, "imported"]
        _area_warning(feature, values.get("stated_area_ha"))


def _plan_update(feature: FeaturePlan, zone: Zone, values: dict[str, Any], index: _Index) -> None:
    feature.code, feature.zone_id, feature.zone_version = zone.code, zone.id, zone.version
    district_names = {d.id: d.name for d in index.districts.values()}
    if feature.matched_by != "code" or fold(values.get("name", zone.name)) == fold(zone.name):
        values.pop("name", None)  # the name was the key, or differs only in diacritics: keep the stored one
    changed: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(zone, name)
        if name in ("aliases", "communes"):
            old = list(old or [])
        if old != new:
            changed[name] = new
            if name == "district_id":
                feature.changes["district"] = [district_names.get(old), district_names[new]]
            else:
                feature.changes[name] = [_plain(old), _plain(new)]
    status_changed = any(name in STATUS_FIELDS for name in changed)
    if not status_changed and "as_of" in changed and "as_of" not in feature.given:
        del changed["as_of"], feature.changes["as_of"]  # today's date only goes with new figures
    if "as_of" in changed and zone.as_of is not None and values["as_of"] < zone.as_of and status_changed:
        feature.reject(
            _l(
                "The figures are as of %(date)s, older than the zone's (%(current)s): remove them or update the date.",
                date=values["as_of"].strftime("%d/%m/%Y"),
                current=zone.as_of.strftime("%d/%m/%Y"),
            )
        )
        return
    feature.values = changed
    if feature.geometry is not None and not feature.is_point:
        _area_warning(feature, values.get("stated_area_ha", zone.stated_area_ha))
    feature.action = "update" if feature.changes else "unchanged"


def _area_warning(feature: FeaturePlan, stated_area_ha: Decimal | None) -> None:
    if not stated_area_ha or feature.area_ha is None:
        return
    ratio = feature.area_ha / float(stated_area_ha)
    low, high = PLAUSIBLE_AREA_RATIO
    if not low <= ratio <= high:
        feature.warnings.append(
            _l(
                "The outline measures %(area).1f ha but the stated area is %(stated).1f ha: check that it is the right one.",
                area=feature.area_ha,
                stated=float(stated_area_ha),
            )
        )


def _compare_outlines(session: Session, features: list[FeaturePlan]) -> None:
    """An outline within SAME_OUTLINE_M of the stored one is unchanged; otherwise the area change is planned."""
    candidates = [
        f for f in features if f.action in ("update", "unchanged") and f.outline_wkb is not None and f.zone_id
    ]
    query = text(
        """
        SELECT t.n, z.computed_area_ha,
               ST_HausdorffDistance(ST_Transform(z.geom, 32648), ST_Transform(ST_GeomFromWKB(t.w, 4326), 32648))
        FROM unnest(CAST(:ns AS int[]), CAST(:ids AS int[]), CAST(:ws AS bytea[])) AS t(n, id, w)
        JOIN zones z ON z.id = t.id
        """
    )
    by_number = {f.number: f for f in candidates}
    for start in range(0, len(candidates), DB_BATCH):
        batch = candidates[start : start + DB_BATCH]
        rows = session.execute(
            query,
            {
                "ns": [f.number for f in batch],
                "ids": [f.zone_id for f in batch],
                "ws": [f.outline_wkb for f in batch],
            },
        ).all()
        for number, old_area, distance in rows:
            feature = by_number[number]
            if distance is not None and distance <= SAME_OUTLINE_M:
                feature.outline_wkb = None
                continue
            zone_source = session.get_one(Zone, feature.zone_id).geometry_source
            feature.changes["geometry"] = [None if old_area is None else round(old_area, 2), feature.area_ha]
            if zone_source != "imported":
                feature.changes["geometry_source"] = [zone_source, "imported"]
            feature.action = "update"
    for feature in features:
        if (
            feature.action in ("update", "unchanged")
            and feature.zone_id
            and "geometry" not in feature.changes
        ):
            feature.outline_wkb = None
            feature.action = "update" if feature.changes else "unchanged"


# -- applying ---------------------------------------------------------------------------------------------------
class ImportConflict(KhgeoError):
    status = 409

    def __init__(self, code: str):
        super().__init__(
            _l(
                "Zone %(code)s was changed by someone else during the import: nothing was imported.",
                code=code,
            )
        )


def apply_import(
    session: Session,
    source: SourceData,
    *,
    user: User | None,
    today: dt.date,
    crs: str | None = None,
    expected_fingerprint: str | None = None,
    channel: str = "cli",
    progress: Progress = None,
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> ImportPlan:
    """Plan again inside the caller's transaction and write every change; the caller commits (or rolls back).

    ``expected_fingerprint`` is the fingerprint of the plan the user approved: a different plan is refused.
    """
    plan = plan_import(session, source, crs=crs, today=today, limits=limits)
    if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
        raise PlanChanged()
    for feature in plan.features:
        if feature.action in ("create", "update"):
            write_change(session, plan, feature, user=user, channel=channel)
            if progress:
                progress(1)
    session.flush()
    return plan


def write_change(
    session: Session,
    plan: ImportPlan,
    feature: FeaturePlan,
    *,
    user: User | None,
    channel: str,
) -> Zone:
    """Write one feature's change with its history entry and audit event (inside the caller's transaction)."""
    values = feature.values
    outline_wkb = feature.outline_wkb
    outline_changed = outline_wkb is not None
    changes = feature.changes
    if feature.action == "create":
        zone = Zone(code=feature.code, aliases=[], communes=[], sources={}, developer="", notes="")
        session.add(zone)
    else:
        found = session.get(Zone, feature.zone_id)
        if found is None or found.version != feature.zone_version:
            raise ImportConflict(feature.code or "")
        zone = found
    for name, value in values.items():
        setattr(zone, name, value)
    if outline_wkb is not None:
        zone.geom = WKBElement(outline_wkb, srid=geo_crs.STORAGE_SRID)
        zone.geometry_source = "imported"
        zone.geometry_note = f"Imported from {plan.file_name}"[:2000]
    zone.updated_at = clock.now()
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # IntegrityError: another import created a zone with this code since the plan was made (unique code)
        raise ImportConflict(feature.code or "") from None
    session.add(
        snapshot(
            zone,
            zone_version=zone.version,
            kind="import",
            user=user,
            as_of=zone.as_of,
            note=IMPORT_NOTE.format(file=plan.file_name, number=feature.number)[:2000],
            source=plan.file_name[:200],
            geom=zone.geom if outline_changed else None,
            geometry_source=zone.geometry_source if outline_changed else None,
            changes=changes,
        )
    )
    record(
        session,
        user,
        "zone.import",
        "zone",
        zone.code,
        changes,
        {
            "file": plan.file_name,
            "channel": channel,
            "feature": feature.number,
            "version": zone.version,
            "crs": plan.crs if outline_changed else None,
            "transformation": plan.transformation if outline_changed else None,
        },
    )
    return zone


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
