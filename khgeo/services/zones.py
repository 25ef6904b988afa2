"""Zones: filtering, lookup, and the one serialisation of a zone as a GeoJSON Feature (built in SQL)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, Select, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import Session, defer, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from khgeo.errors import BadRequest, NotFound
from khgeo.geo.crs import bbox_envelope
from khgeo.models import WWTP_STATUSES, ZONE_KINDS, District, Task, Zone
from khgeo.services.admin_units import resolve_district
from khgeo.text import fold

WWTP_FILTER_VALUES = (*WWTP_STATUSES, "unknown")
MAX_QUERY_LENGTH = 100
# ?retired=: retired zones are left out unless asked for (an export of everything, the admins' list)
RETIRED_VALUES = {"include": None, "only": True}


@dataclass(frozen=True)
class ZoneFilter:
    """What a user can filter zones by; the same for the map, the list, /api/zones and exports."""

    kind: str | None = None
    district: str | None = None  # GSO code
    wwtp: str | None = None  # a WWTP status, or "unknown"
    q: str | None = None  # folded search text
    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326  # the bbox's CRS, in its x/y order (OGC API bbox-crs); 4326: lon/lat
    codes: tuple[str, ...] | None = None  # given zones (a zone's or a task's map); not a user-facing filter
    # retired zones: False leaves them out (every listing, by default), True lists only them, None both
    retired: bool | None = False

    @property
    def active(self) -> bool:
        chosen = (self.kind, self.district, self.wwtp, self.q, self.bbox)
        return any(v is not None for v in chosen) or self.retired is not False

    def as_args(self) -> dict[str, str]:
        """Query-string form, for links that keep the current filter."""
        args = {"kind": self.kind, "district": self.district, "wwtp": self.wwtp, "q": self.q}
        if self.bbox:
            args["bbox"] = ",".join(f"{v:g}" for v in self.bbox)
        args["retired"] = next((k for k, v in RETIRED_VALUES.items() if v is self.retired), None)
        return {k: v for k, v in args.items() if v}


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise BadRequest(
            _l("bbox must be four numbers: min longitude, min latitude, max longitude, max latitude"),
            field="bbox",
        )
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise BadRequest(_l("bbox is out of range or its minimum is not below its maximum"), field="bbox")
    return minx, miny, maxx, maxy


def parse_filter(session: Session, args: Mapping[str, str]) -> ZoneFilter:
    """Validate query parameters; an unknown value is a BadRequest naming the parameter."""
    kind = (args.get("kind") or "").strip().upper() or None
    if kind and kind not in ZONE_KINDS:
        raise BadRequest(
            _l("Unknown zone kind %(value)s: use KCN or CCN", value=args.get("kind")), field="kind"
        )
    wwtp = (args.get("wwtp") or "").strip().lower() or None
    if wwtp and wwtp not in WWTP_FILTER_VALUES:
        raise BadRequest(
            _l(
                "Unknown wastewater status %(value)s: use one of %(allowed)s",
                value=args.get("wwtp"),
                allowed=", ".join(WWTP_FILTER_VALUES),
            ),
            field="wwtp",
        )
    district = None
    if raw := (args.get("district") or "").strip():
        district = resolve_district_code(session, raw)
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise BadRequest(
            _l("The search text is too long (at most %(n)d characters)", n=MAX_QUERY_LENGTH), field="q"
        )
    bbox = parse_bbox(args["bbox"]) if args.get("bbox") else None
    retired = (args.get("retired") or "").strip().lower()
    if retired and retired not in RETIRED_VALUES:
        raise BadRequest(
            _l("Unknown value %(value)s for retired: use include or only", value=args.get("retired")),
            field="retired",
        )
    return ZoneFilter(
        kind=kind,
        district=district,
        wwtp=wwtp,
        q=fold(q) or None,
        bbox=bbox,
        retired=RETIRED_VALUES.get(retired, False),
    )


def resolve_district_code(session: Session, raw: str) -> str:
    """A district's GSO code from its code, name or labelled name ("Huyện Hiệp Hòa"): admin_units.resolve_district."""
    return resolve_district(session, raw).code


def monitored() -> ColumnElement[bool]:
    """The zones still monitored: the one condition that keeps retired zones out of listings, maps, the APIs,
    exports, planning and reports (``apply_filter`` applies it; queries not built on it use it directly)."""
    return Zone.retired_at.is_(None)


def apply_filter(query: Select, zone_filter: ZoneFilter) -> Select:
    if zone_filter.retired is False:
        query = query.where(monitored())
    elif zone_filter.retired:
        query = query.where(Zone.retired_at.is_not(None))
    if zone_filter.codes is not None:
        query = query.where(Zone.code.in_(zone_filter.codes))
    if zone_filter.kind:
        query = query.where(Zone.kind == zone_filter.kind)
    if zone_filter.district:
        query = query.where(
            Zone.district_id
            == select(District.id).where(District.code == zone_filter.district).scalar_subquery()
        )
    if zone_filter.wwtp == "unknown":
        query = query.where(Zone.wwtp_status.is_(None))
    elif zone_filter.wwtp:
        query = query.where(Zone.wwtp_status == zone_filter.wwtp)
    if zone_filter.q:
        query = query.where(
            or_(
                Zone.search_text.contains(zone_filter.q, autoescape=True),
                Zone.code.contains(zone_filter.q, autoescape=True),
            )
        )
    if zone_filter.bbox:
        envelope = bbox_envelope(zone_filter.bbox, zone_filter.bbox_srid)
        query = query.where(func.ST_Intersects(Zone.geom, envelope))
    return query


def list_zones(session: Session, zone_filter: ZoneFilter = ZoneFilter()) -> list[Zone]:
    """The zones for a list: their outlines are not read (``Zone.has_outline`` says whether there is one)."""
    query = apply_filter(select(Zone).options(defer(Zone.geom), selectinload(Zone.district)), zone_filter)
    return list(session.scalars(query.order_by(Zone.kind.desc(), Zone.search_text)))


def get_zone(session: Session, code: str, *, with_tasks: bool = True) -> Zone:
    """A zone with its district (and its tasks, for pages; an update does not need them)."""
    options = [joinedload(Zone.district)]
    if with_tasks:
        options.append(selectinload(Zone.tasks).selectinload(Task.lead_agency))
    zone = session.scalars(select(Zone).where(Zone.code == code).options(*options)).unique().one_or_none()
    if zone is None:
        raise NotFound(_l("No zone with code %(code)s", code=code))
    return zone


# -- GeoJSON --------------------------------------------------------------------------------------------------------
def clearance_incomplete_now() -> ColumnElement:
    """Is site clearance unfinished, from the current figures: below 100 % once a figure is known; only while
    none is known does the sources' statement ("not finished, no figure") stand. Never a stale stored flag."""
    return case(
        (Zone.clearance_pct.is_not(None), Zone.clearance_pct < 100),
        else_=Zone.clearance_incomplete,
    )


# The properties every consumer sees (API, map, exports). Numbers stay numbers; unknown stays null.
def _feature_properties():
    return func.json_build_object(
        "code",
        Zone.code,
        "name",
        Zone.name,
        "aliases",
        Zone.aliases,
        "kind",
        Zone.kind,
        "district",
        District.name,
        "district_code",
        District.code,
        "communes",
        Zone.communes,
        "area_ha",
        Zone.stated_area_ha,
        "computed_area_ha",
        func.round(cast(Zone.computed_area_ha, Numeric), 2),
        "clearance_pct",
        Zone.clearance_pct,
        "clearance_incomplete",
        clearance_incomplete_now(),
        "cleared_area_ha",
        Zone.cleared_area_ha,
        "clearance_area_ha",
        Zone.clearance_area_ha,
        "households_total",
        Zone.households_total,
        "households_agreed",
        Zone.households_agreed,
        # the clearance figures follow from the zone's parcels ("theo thửa đất"; khgeo.services.parcels.derive)
        "clearance_from_parcels",
        Zone.clearance_from_parcels,
        "parcel_count",
        Zone.parcel_count,
        "wwtp_status",
        Zone.wwtp_status,
        "wwtp_capacity_m3_day",
        Zone.wwtp_capacity_m3_day,
        "infrastructure_pct",
        Zone.infrastructure_pct,
        "occupancy_pct",
        Zone.occupancy_pct,
        "operating_status",
        Zone.operating_status,
        "developer",
        Zone.developer,
        "geometry_source",
        Zone.geometry_source,
        "as_of",
        Zone.as_of,
        "version",
        Zone.version,
        "updated_at",
        Zone.updated_at,
    )


def feature_text(geometry_json: ColumnElement) -> ColumnElement:
    """THE serialisation of a zone: its GeoJSON Feature as text, ``geometry_json`` its geometry's GeoJSON text.

    Built as text, not as a json value: PostgreSQL then never parses the geometry's GeoJSON again (a sixth of a
    1,000-feature OGC API page, which joins the texts with string_agg). It reads ``zones`` and ``districts``
    (outer joined on zones.district_id). Each zone's CRS84 Feature is also kept in zones.feature_json, written by
    SQL generated from this expression (khgeo.services.stored_features): change the serialisation here only.
    """
    return func.concat(
        '{"type":"Feature","id":',
        func.to_json(Zone.code),
        ',"geometry":',
        func.coalesce(geometry_json, "null"),
        ',"properties":',
        _feature_properties(),
        "}",
    )


def default_geometry_json() -> ColumnElement:
    """The outline's GeoJSON text in CRS84 at 6 decimals (~0.1 m): what /api/zones and the OGC API serve."""
    return func.ST_AsGeoJSON(Zone.geom, 6)


def feature_select(
    zone_filter: ZoneFilter, geometry_json: ColumnElement | None = None, *, as_text: bool = False
) -> Select:
    """One row per zone: its GeoJSON Feature as json (geometry at 6 decimals, ~0.1 m), computed now.

    ``geometry_json`` replaces the outline's GeoJSON text (the OGC API serves other CRSs: khgeo.geo.crs).
    ``as_text``: the Feature as text (feature_text), else parsed into a json value (for Python: exports).
    The default geometry's Feature is stored: stored_feature_select reads it without computing anything.
    """
    geometry = default_geometry_json() if geometry_json is None else geometry_json
    feature = feature_text(geometry)
    if not as_text:
        feature = cast(feature, JSON)
    query = (
        select(feature.label("feature"))
        .select_from(Zone)
        .outerjoin(District, Zone.district_id == District.id)
    )
    return apply_filter(query, zone_filter).order_by(Zone.kind.desc(), Zone.search_text, Zone.code)


def stored_feature_select(zone_filter: ZoneFilter) -> Select:
    """feature_select's rows (default geometry, as text) read from zones.feature_json: nothing is computed."""
    query = select(Zone.feature_json.label("feature")).select_from(Zone)
    return apply_filter(query, zone_filter).order_by(Zone.kind.desc(), Zone.search_text, Zone.code)


# Building these statements (dozens of SQL function nodes) costs more Python time than running them on a small
# table; ZoneFilter is frozen and hashable, so each distinct filter's statement is built once.
# Maps draw outlines a few hundred pixels wide: above this many vertices an outline is simplified to ~1 m for
# display (topology kept). Stored outlines, the API and exports keep every vertex.
DISPLAY_SIMPLIFY_ABOVE = 2000
DISPLAY_TOLERANCE_DEG = 0.00001


@lru_cache(maxsize=256)
def _collection_statement(zone_filter: ZoneFilter, for_display: bool = False) -> Select:
    feature: Any = Zone.feature_json
    if (
        for_display
    ):  # only outlines with very many vertices are simplified: the others are their stored Feature
        simplified = func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Zone.geom, DISPLAY_TOLERANCE_DEG), 6)
        feature = case(
            (func.ST_NPoints(Zone.geom) > DISPLAY_SIMPLIFY_ABOVE, feature_text(simplified)), else_=feature
        )
    joined = func.string_agg(
        feature, aggregate_order_by(literal(","), Zone.kind.desc(), Zone.search_text, Zone.code)
    )
    query = select(func.concat('{"type":"FeatureCollection","features":[', func.coalesce(joined, ""), "]}"))
    query = query.select_from(Zone)
    if for_display:
        query = query.outerjoin(District, Zone.district_id == District.id)
    return apply_filter(query, zone_filter)


@lru_cache(maxsize=256)
def _feature_statement(code: str) -> Select:
    # one zone by its code, retired or not: its page and its ETag (to restore it) stay reachable
    return select(Zone.feature_json, Zone.version).where(Zone.code == code)


def feature_collection_json(
    session: Session, zone_filter: ZoneFilter = ZoneFilter(), *, for_display: bool = False
) -> str:
    """The whole FeatureCollection as JSON text: the stored Features joined by PostgreSQL (no Python per feature).

    ``for_display``: outlines with very many vertices simplified for a map page (DISPLAY_SIMPLIFY_ABOVE).
    """
    return session.execute(_collection_statement(zone_filter, for_display)).scalar_one()


def feature_json(session: Session, code: str) -> tuple[str, int]:
    """One zone's Feature as JSON text, and its version (the ETag), in one query."""
    row = session.execute(_feature_statement(code)).one_or_none()
    if row is None:
        raise NotFound(_l("No zone with code %(code)s", code=code))
    return row[0], row[1]


def count_zones(session: Session, zone_filter: ZoneFilter = ZoneFilter()) -> int:
    return session.execute(apply_filter(select(func.count(Zone.id)), zone_filter)).scalar_one()


def zone_bounds(session: Session, zone_filter: ZoneFilter) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the matching outlines, for fitting the map; None when none has one."""
    extent = apply_filter(
        select(
            func.ST_XMin(func.ST_Extent(Zone.geom)),
            func.ST_YMin(func.ST_Extent(Zone.geom)),
            func.ST_XMax(func.ST_Extent(Zone.geom)),
            func.ST_YMax(func.ST_Extent(Zone.geom)),
        ),
        zone_filter,
    )
    minx, miny, maxx, maxy = session.execute(extent).one()
    if minx is None:
        return None
    return [[miny, minx], [maxy, maxx]]
