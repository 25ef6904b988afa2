"""The OGC API's collections (zones, districts): how a page of features is found and built by PostgreSQL in one
statement, and which zones open the first page (the leaders clients type their fields from).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    SQLColumnExpression,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from khgeo.errors import BadRequest
from khgeo.geo import crs as crs_defs
from khgeo.geo.crs import SupportedCrs
from khgeo.models import PAGE_LEADING_FACTS, District, Zone
from khgeo.services.interop.ogc_request import (
    Bbox,
    InvalidParameter,
    NoSuchThing,
)
from khgeo.services.interop.page_cache import PageCache
from khgeo.services.zones import (
    WWTP_FILTER_VALUES,
    ZoneFilter,
    apply_filter,
    feature_select,
    monitored,
    parse_filter,
    stored_feature_select,
)


# -- collections ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    matched: int
    returned: int
    features_json: (
        bytes  # the page's features, a JSON array written by PostgreSQL, as UTF-8 (kept so in memory)
    )

    @property
    def size(self) -> int:
        return len(self.features_json)


class Collection(Protocol):
    """``geometry``: the geometry's GeoJSON text in the requested CRS; None for the default CRS (CRS84), whose
    Features a collection may keep stored (zones: zones.feature_json)."""

    id: str
    title: Any
    description: Any
    queryables: dict[str, Any]  # parameter → description
    feature_id: Any  # what a feature id is
    html_columns: tuple[str, ...]  # properties shown in the HTML list of features

    def page(
        self,
        session: Session,
        filters: dict[str, str],
        bbox: Bbox | None,
        geometry: ColumnElement | None,
        limit: int,
        offset: int,
        cache: PageCache | None = None,
    ) -> Page: ...

    def feature(self, session: Session, feature_id: str, geometry: ColumnElement | None) -> str | None: ...

    def extent(self, session: Session) -> list[float] | None: ...


def _page_query(features, count) -> Any:
    """features: a subquery with ``feature`` (JSON text) and ``position`` columns: the page; count: all matches.

    The features are joined as text (string_agg), not as json values: PostgreSQL would parse every one again.
    Text, not bytea: psycopg reads results in the text protocol, where bytea travels hex-encoded, which cost more
    (PostgreSQL encoding, the client decoding) than decoding UTF-8 here and encoding it once (~3 ms a 1.45 MiB page).
    """
    joined = func.string_agg(features.c.feature, aggregate_order_by(literal(","), features.c.position))
    array = func.concat("[", func.coalesce(joined, ""), "]")
    return select(count, func.count(), array).select_from(features)


def _page(session: Session, query) -> Page:
    matched, returned, features = session.execute(query).one()
    return Page(matched, returned, features.encode())


def _bounds(session: Session, geom: SQLColumnExpression) -> list[float] | None:
    extent = func.ST_Extent(geom)
    row = session.execute(
        select(func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent))
    ).one()
    return None if row[0] is None else [round(float(v), 6) for v in row]


# Typed zone facts a client may have to guess the type of (numbers, yes/no, dates): null in a zone with no figure
def _leaders(session: Session, zone_filter: ZoneFilter) -> list[int]:
    """The zones that open the pages (ids), for clients that guess a field's type from the first features.

    QGIS 3.22 reads the first 10 (GDAL without a schema, too) and types a field text when its first values are all
    null, and ``aliases`` as an unreadable JSON value when the first list it sees is empty. So the pages start with
    the first zone (by id) that has aliases, then the zones that are the first to have a value for some typed fact,
    most such facts first; the rest follow by id. A fact any matching zone has is on the first page whenever at
    most ~9 zones are needed to show all. Each "first zone with" is a primary-key index probe that stops at its
    first match, so the order costs a few index lookups per page, not a sort of every zone.
    """

    def first_with(condition: Any) -> Any:
        return apply_filter(select(func.min(Zone.id)), zone_filter).where(condition).scalar_subquery()

    probes = (first_with(condition) for condition in PAGE_LEADING_FACTS.values())
    aliased, *firsts = session.execute(select(*probes)).one()
    covers: dict[int, int] = {}
    for zone_id in firsts:
        if zone_id is not None:
            covers[zone_id] = covers.get(zone_id, 0) + 1
    ordered = sorted(covers, key=lambda zone_id: (-covers[zone_id], zone_id))
    return ([aliased] if aliased is not None else []) + [z for z in ordered if z != aliased]


@dataclass(frozen=True)
class _Leaders:
    """The leaders of one filter, kept with the pages (the same token). Since the partial indexes of
    PAGE_LEADING_FACTS each probe is an index lookup (~3 ms for all at 10,000 zones); kept all the same, it is free."""

    ids: tuple[int, ...]

    @property
    def size(self) -> int:
        return 64 + 8 * len(self.ids)


def _page_ids(
    session: Session, zone_filter: ZoneFilter, limit: int, offset: int, cache: PageCache | None = None
) -> list[int]:
    """The ids of one page in the pages' stable order: the leaders, then every other zone by primary key (an index
    scan with OFFSET on ids only)."""
    if cache is None:
        leaders = _leaders(session, zone_filter)
    else:
        key = ("leaders", zone_filter)
        leaders = list(
            cache.through(session, key, lambda: _Leaders(tuple(_leaders(session, zone_filter)))).ids
        )
    page = leaders[offset : offset + limit]
    if len(page) < limit:
        rest = (
            apply_filter(select(Zone.id), zone_filter)
            .where(Zone.id.not_in(leaders) if leaders else literal(True))
            .order_by(Zone.id)
            .limit(limit - len(page))
            .offset(max(0, offset - len(leaders)))
        )
        page += list(session.scalars(rest))
    return page


class Zones:
    id = "zones"
    title = _l("Industrial zones and clusters (KCN, CCN)")
    description = _l(
        "Industrial zones (KCN) and clusters (CCN) of Bắc Giang under Resolution 24/NQ-HĐND: outlines (illustrative "
        "unless geometry_source says otherwise), site clearance, wastewater treatment, infrastructure and occupancy."
    )
    queryables = {
        "kind": _l("KCN (industrial zone) or CCN (industrial cluster)"),
        "district": _l("district (2022 units): GSO code or name, diacritics and case ignored"),
        "wwtp_status": _l("wastewater treatment: %(values)s", values=", ".join(WWTP_FILTER_VALUES)),
    }
    feature_id = _l("the zone's code, e.g. kcn-van-trung")
    html_columns: tuple[str, ...] = (
        "name",
        "kind",
        "district",
        "area_ha",
        "clearance_pct",
        "wwtp_status",
        "infrastructure_pct",
    )

    def _filter(self, session: Session, filters: dict[str, str], bbox: Bbox | None) -> ZoneFilter:
        try:
            # the OGC queryable wwtp_status is the map's and /api/zones' wwtp filter
            args = {"kind": filters.get("kind", ""), "district": filters.get("district", "")}
            zone_filter = parse_filter(session, {**args, "wwtp": filters.get("wwtp_status", "")})
        except BadRequest as exc:
            name = "wwtp_status" if exc.field == "wwtp" else exc.field
            raise InvalidParameter(exc.message, field=name) from None
        if bbox is not None:
            if bbox.empty:
                return replace(zone_filter, codes=())
            zone_filter = replace(zone_filter, bbox=bbox.values, bbox_srid=bbox.srid)
        return zone_filter

    def page(self, session, filters, bbox, geometry, limit, offset, cache=None) -> Page:
        zone_filter = self._filter(session, filters, bbox)
        if cache is None or geometry is not None:  # other CRSs are computed per request: rarely asked
            return self._read(session, zone_filter, geometry, limit, offset, cache)
        key = (self.id, zone_filter, limit, offset)
        read = lambda: self._read(session, zone_filter, geometry, limit, offset, cache)  # noqa: E731
        return cache.through(session, key, read)

    def _read(self, session, zone_filter: ZoneFilter, geometry, limit: int, offset: int, cache=None) -> Page:
        # The page's zones first (ids and positions only), then the JSON of just those: with OFFSET on the
        # features themselves PostgreSQL would build and throw away the JSON of every skipped zone.
        # the page's ids travel as ONE array parameter (= ANY, array_position): as IN (…) they were 1,000 bind
        # parameters to render and split per request, a third of the app's CPU on a cache miss
        page_ids = bindparam(
            "page_ids", _page_ids(session, zone_filter, limit, offset, cache), ARRAY(Integer)
        )
        features = (
            self._features(geometry)
            .add_columns(func.array_position(page_ids, Zone.id).label("position"))
            .where(Zone.id == any_(page_ids))
            .order_by(None)
            .subquery()
        )
        count = apply_filter(select(func.count(Zone.id)), zone_filter).correlate(None).scalar_subquery()
        return _page(session, _page_query(features, count))

    @staticmethod
    def _features(geometry: ColumnElement | None):
        """Every zone's Feature as text: stored in CRS84 (no JSON built per request), computed in other CRSs."""
        if geometry is None:
            return stored_feature_select(ZoneFilter(retired=None))
        return feature_select(ZoneFilter(retired=None), geometry, as_text=True)

    def feature(self, session, feature_id, geometry) -> str | None:
        query = self._features(geometry).where(Zone.code == feature_id, monitored())
        return session.execute(query).scalar_one_or_none()

    def extent(self, session) -> list[float] | None:
        return _bounds(session, Zone.geom)


class Districts:
    id = "districts"
    title = _l("Districts (2022)")
    description = _l(
        "District-level units of Bắc Giang as of 2022 (GSO codes), the units the plan uses; district level was "
        "abolished on 1 July 2025."
    )
    queryables = {"code": _l("the district's GSO code, e.g. 222")}
    feature_id = _l("the district's GSO code, e.g. 222")
    html_columns: tuple[str, ...] = ("name", "full_name", "unit_type")

    @staticmethod
    def _select(geometry: ColumnElement):
        """A district's Feature as JSON text (ten rows: built as json, the simplest way)."""
        feature = func.json_build_object(
            "type",
            literal("Feature"),
            "id",
            District.code,
            "geometry",
            cast(geometry, JSON),
            "properties",
            func.json_build_object(
                "code",
                District.code,
                "name",
                District.name,
                "full_name",
                District.full_name,
                "unit_type",
                District.unit_type,
                "province_code",
                District.province_code,
            ),
        )
        return select(cast(feature, String).label("feature"), District.code.label("position"))

    def page(self, session, filters, bbox, geometry, limit, offset, cache=None) -> Page:
        geometry = _default_geometry(District.geom) if geometry is None else geometry
        conditions = []
        if "code" in filters:
            conditions.append(District.code == filters["code"])
        if bbox is not None:
            conditions.append(
                literal(False)
                if bbox.empty
                else func.ST_Intersects(District.geom, crs_defs.bbox_envelope(bbox.values, bbox.srid))
            )
        page = self._select(geometry).where(*conditions).order_by(District.code).limit(limit).offset(offset)
        features = page.subquery()
        count = select(func.count(District.id)).where(*conditions).correlate(None).scalar_subquery()
        return _page(session, _page_query(features, count))

    def feature(self, session, feature_id, geometry) -> str | None:
        geometry = _default_geometry(District.geom) if geometry is None else geometry
        query = self._select(geometry).where(District.code == feature_id)
        return session.execute(query).scalar()

    def extent(self, session) -> list[float] | None:
        return _bounds(session, District.geom)


# datetime is accepted on every collection (Part 1 requires the parameter) but filters nothing: no collection has a
# temporal geometry (a zone's as_of dates its figures, not the feature), as pygeoapi does without a time field.
COLLECTIONS: dict[str, Collection] = {"zones": Zones(), "districts": Districts()}
GEOMETRY_COLUMNS = {"zones": Zone.geom, "districts": District.geom}


def _default_geometry(geom: Any) -> ColumnElement:
    return crs_defs.geometry_json(geom, crs_defs.default_crs())


def output_geometry(collection: Collection, out_crs: SupportedCrs) -> ColumnElement | None:
    """The geometry a collection computes for ``out_crs``; None for the default CRS (the stored Features)."""
    if out_crs == crs_defs.default_crs():
        return None
    return crs_defs.geometry_json(GEOMETRY_COLUMNS[collection.id], out_crs)


def get_collection(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise NoSuchThing(
            _l(
                "No collection %(id)s: the collections are %(ids)s",
                id=collection_id,
                ids=", ".join(COLLECTIONS),
            )
        )
    return collection
