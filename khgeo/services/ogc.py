"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) without Flask: arguments in, documents out.

The blueprint (khgeo/api/ogc.py) turns a request into a base URL, its query arguments (every value of every name)
and a format, calls these functions and writes the response; like pygeoapi's API functions they know nothing of
the web framework. A page of features is built by PostgreSQL in ONE statement (the features of the page joined
as text, their number and the number matched): Python only wraps it with the links, never touches a feature. A
page in the default CRS may be served again from memory while the zones are unchanged (khgeo.services.page_cache).

Zones are serialised by khgeo.services.zones (feature_select: the one serialisation of a zone, the same
properties as /api/zones) and filtered through parse_filter, so the OGC API accepts exactly the values the map
and /api/zones accept. Errors are KhgeoErrors carrying an OGC exception code: the blueprint answers
{"code", "description"} with their status.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlencode

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

from khgeo import clock
from khgeo.errors import BadRequest, NotFound
from khgeo.geo import crs as crs_defs
from khgeo.geo.crs import CRS84, SupportedCrs
from khgeo.models import PAGE_LEADING_FACTS, District, Zone
from khgeo.services import ogc_schema
from khgeo.services.page_cache import PageCache
from khgeo.services.zones import (
    WWTP_FILTER_VALUES,
    ZoneFilter,
    apply_filter,
    feature_select,
    monitored,
    parse_filter,
    stored_feature_select,
)

Args = Mapping[str, Sequence[str]]  # query arguments: every value given for every name

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000  # a larger limit is served as 10,000, not refused (the server limits the page, per OGC)
MAX_OFFSET = 2_147_483_647
GEOJSON = "application/geo+json"
JSON_TYPE = "application/json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
FORMATS = ("json", "html")
LANGUAGES = ("vi", "en")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]

COMMON_PARAMS = frozenset({"f", "lang"})
ITEMS_PARAMS = COMMON_PARAMS | {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}
ITEM_PARAMS = COMMON_PARAMS | {"crs"}
SCHEMA_PARAMS = COMMON_PARAMS | {ogc_schema.TYPES_PARAM}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]+")
_FEATURE_ID = re.compile(r"[A-Za-z0-9._-]{1,60}")


# -- errors ---------------------------------------------------------------------------------------------------------
class InvalidParameter(BadRequest):
    ogc_code = "InvalidParameterValue"


class NoSuchThing(NotFound):
    ogc_code = "NotFound"


NOT_FOUND_MESSAGE = _l("This resource does not exist: the landing page /ogcapi/ links to every resource")
OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}


def exception_body(status: int, description: str, ogc_code: str | None = None) -> dict:
    return {"code": ogc_code or OGC_CODES.get(status, "ServerError"), "description": description}


# -- arguments ------------------------------------------------------------------------------------------------------
def check_args(args: Args, allowed: frozenset[str] | set[str]) -> None:
    """400 for a parameter the API definition does not name, given twice, or holding control characters."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise InvalidParameter(
            _l(
                "Unknown parameter %(names)s: this resource accepts %(allowed)s",
                names=", ".join(unknown),
                allowed=", ".join(sorted(allowed)),
            ),
            field=unknown[0],
        )
    for name, values in args.items():
        if len(values) > 1:
            raise InvalidParameter(_l("Parameter %(name)s is given more than once", name=name), field=name)
        if any(_CONTROL.search(value) for value in values):
            raise InvalidParameter(_l("Parameter %(name)s holds control characters", name=name), field=name)
    if (fmt := _one(args, "f")) is not None and fmt not in FORMATS:
        raise InvalidParameter(_l("f must be json or html"), field="f")
    if (lang := _one(args, "lang")) is not None and lang not in LANGUAGES:
        raise InvalidParameter(_l("lang must be vi or en"), field="lang")


def _one(args: Args, name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def _integer(args: Args, name: str, default: int, *, maximum: int | None = None) -> int:
    raw = _one(args, name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw):
        raise InvalidParameter(_l("%(name)s must be a whole number", name=name), field=name)
    value = int(raw) if len(raw) <= 18 else 10**18
    return value if maximum is None else min(value, maximum)


def _crs(args: Args, name: str) -> SupportedCrs:
    raw = _one(args, name)
    if raw is None or raw == "":
        return crs_defs.default_crs()
    found = crs_defs.by_uri(raw)
    if found is None:
        raise InvalidParameter(
            _l(
                "%(name)s %(value)s is not supported: use one of %(allowed)s",
                name=name,
                value=raw,
                allowed=", ".join(crs_defs.SUPPORTED_URIS),
            ),
            field=name,
        )
    return found


@dataclass(frozen=True)
class Bbox:
    """A bbox in ``srid``'s x/y order (lon/lat for 4326); ``empty``: it lies outside where ``srid`` is valid."""

    values: tuple[float, float, float, float]
    srid: int
    empty: bool = False


def parse_bbox(raw: str | None, bbox_crs: SupportedCrs) -> Bbox | None:
    if raw is None or raw == "":
        return None
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(abs(v) < float("inf") for v in numbers):
        raise InvalidParameter(
            _l("bbox must be four (or six) numbers: lower left corner, upper right corner"), field="bbox"
        )
    if len(numbers) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights do not filter
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if bbox_crs.lat_lon:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if not (minx <= maxx and miny <= maxy):  # equal corners are a point or a line: allowed
        raise InvalidParameter(
            _l("bbox: the lower left corner must not be above or right of the upper right one"), field="bbox"
        )
    if bbox_crs.geographic:
        if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
            raise InvalidParameter(_l("bbox is outside -180..180 / -90..90 degrees"), field="bbox")
        return Bbox((minx, miny, maxx, maxy), crs_defs.STORAGE_SRID)
    # a projected bbox is clipped to where its CRS is valid, so PROJ never sees an impossible coordinate
    bx0, by0, bx1, by1 = crs_defs.valid_bounds(bbox_crs.srid)
    clipped = (max(minx, bx0), max(miny, by0), min(maxx, bx1), min(maxy, by1))
    empty = not (clipped[0] <= clipped[2] and clipped[1] <= clipped[3])
    return Bbox(clipped, bbox_crs.srid, empty)


def check_datetime(raw: str | None) -> None:
    """RFC 3339 instant or interval (``..`` or empty for open ends). Validated, not applied: see COLLECTIONS."""
    if raw is None or raw == "":
        return
    parts = raw.split("/")
    if len(parts) > 2 or (len(parts) == 2 and all(part in ("", "..") for part in parts)):
        raise InvalidParameter(_l("datetime must be an RFC 3339 date-time or interval"), field="datetime")
    instants = []
    for part in parts:
        if len(parts) == 2 and part in ("", ".."):
            continue
        try:
            value = dt.datetime.fromisoformat(part) if "T" in part.upper() else dt.date.fromisoformat(part)
        except ValueError:
            raise InvalidParameter(
                _l("datetime must be an RFC 3339 date-time or interval"), field="datetime"
            ) from None
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        elif not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
        instants.append(value)
    if len(instants) == 2 and instants[0] > instants[1]:
        raise InvalidParameter(_l("datetime: the interval ends before it starts"), field="datetime")


# -- links ----------------------------------------------------------------------------------------------------------
def link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    item = {"href": href, "rel": rel, "type": type_}
    if title:
        item["title"] = str(title)
    return item


def with_args(url: str, args: Mapping[str, str]) -> str:
    return f"{url}?{urlencode(args)}" if args else url


def flat(args: Args) -> dict[str, str]:
    """One value per name (check_args has refused repeats), in the order given."""
    return {name: values[0] for name, values in args.items() if values}


def self_links(url: str, fmt: str, json_type: str, args: Mapping[str, str] | None = None) -> list[dict]:
    """self (this representation) and alternate (the other one), keeping the other query arguments."""
    args = dict(args or {})
    as_json = link(with_args(url, {**args, "f": "json"}), "self", json_type, _l("This document as JSON"))
    as_html = link(with_args(url, {**args, "f": "html"}), "self", HTML, _l("This document as HTML"))
    if fmt == "html":
        as_json["rel"] = "alternate"
        return [as_html, as_json]
    as_html["rel"] = "alternate"
    return [as_json, as_html]


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
        # the property "units" names the zone's 2025 unit(s); the filter takes any unit of 2025 or 2022
        "units": _l(
            "administrative unit of 2025 or 2022 (a 2022 unit means the 2025 units now covering it): code or name, "
            "diacritics and case ignored"
        ),
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
            args = {k: filters.get(k, "") for k in ("kind", "district")} | {"unit": filters.get("units", "")}
            zone_filter = parse_filter(session, {**args, "wwtp": filters.get("wwtp_status", "")})
        except BadRequest as exc:
            name = {"wwtp": "wwtp_status", "unit": "units"}.get(exc.field, exc.field)
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


def _geometry(collection: Collection, out_crs: SupportedCrs) -> ColumnElement | None:
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


# -- documents ------------------------------------------------------------------------------------------------------
def landing_page(base: str, fmt: str) -> dict:
    return {
        "title": str(_l("khgeo – industrial zones of Bắc Giang (OGC API – Features)")),
        "description": str(
            _l(
                "Industrial zones and clusters of Bắc Giang and the 2022 districts as OGC API – Features "
                "(Part 1 Core, Part 2 CRS): GeoJSON and HTML, CRS84, EPSG:4326, EPSG:3857, UTM 48N and VN-2000."
            )
        ),
        "links": [
            *self_links(f"{base}/", fmt, JSON_TYPE),
            link(f"{base}/api", "service-desc", OPENAPI_JSON, _l("The API definition (OpenAPI 3.0)")),
            link(f"{base}/api?f=html", "service-doc", HTML, _l("The API documentation")),
            link(f"{base}/conformance", "conformance", JSON_TYPE, _l("Conformance classes implemented")),
            link(f"{base}/collections", "data", JSON_TYPE, _l("The collections")),
            # the same two under OGC API – Common's relation URIs, which newer clients look for
            link(
                f"{base}/conformance",
                f"{OGC_REL}conformance",
                JSON_TYPE,
                _l("Conformance classes implemented"),
            ),
            link(f"{base}/collections", f"{OGC_REL}data", JSON_TYPE, _l("The collections")),
        ],
    }


def conformance(base: str, fmt: str) -> dict:
    return {"conformsTo": CONFORMANCE, "links": self_links(f"{base}/conformance", fmt, JSON_TYPE)}


def _collection_info(session: Session, base: str, collection: Collection, fmt: str | None) -> dict:
    url = f"{base}/collections/{collection.id}"
    bbox = collection.extent(session) or [-180.0, -90.0, 180.0, 90.0]
    links = self_links(url, fmt, JSON_TYPE) if fmt else [link(url, "self", JSON_TYPE, collection.title)]
    return {
        "id": collection.id,
        "title": str(collection.title),
        "description": str(collection.description),
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "crs": list(crs_defs.SUPPORTED_URIS),
        "storageCrs": CRS84,
        "links": [
            *links,
            link(f"{url}/items?f=json", "items", GEOJSON, _l("The features as GeoJSON")),
            link(f"{url}/items?f=html", "items", HTML, _l("The features as HTML")),
            *schema_links(url),
        ],
    }


def schema_links(url: str) -> list[dict]:
    """The collection's feature schema (Part 5) and queryables; ``describedBy`` is GDAL 3.6's spelling."""
    schema, single = f"{url}/schema", f"{url}/schema?{ogc_schema.TYPES_PARAM}=single"
    title = _l("The schema of the features (JSON Schema)")
    return [
        link(schema, "describedby", ogc_schema.JSON_SCHEMA, title),
        link(schema, ogc_schema.SCHEMA_REL, ogc_schema.JSON_SCHEMA, title),
        link(
            single, "describedBy", ogc_schema.JSON_SCHEMA, _l("The schema, one type per property (GDAL 3.6)")
        ),
        link(f"{url}/queryables", ogc_schema.QUERYABLES_REL, ogc_schema.JSON_SCHEMA, _l("The queryables")),
    ]


def schema(base: str, collection_id: str, args: Args) -> dict:
    found = get_collection(collection_id)
    check_args(args, SCHEMA_PARAMS)
    types = _one(args, ogc_schema.TYPES_PARAM)
    if types not in (None, "", "single"):
        raise InvalidParameter(_l("types must be single"), field=ogc_schema.TYPES_PARAM)
    return ogc_schema.feature_schema(base, found.id, str(found.title), single=types == "single")


def queryables(base: str, collection_id: str, args: Args) -> dict:
    found = get_collection(collection_id)
    check_args(args, COMMON_PARAMS)
    return ogc_schema.queryables(base, found.id, str(found.title), found.queryables)


def collections(session: Session, base: str, fmt: str) -> dict:
    return {
        "links": self_links(f"{base}/collections", fmt, JSON_TYPE),
        "crs": list(crs_defs.SUPPORTED_URIS),
        "collections": [_collection_info(session, base, c, None) for c in COLLECTIONS.values()],
    }


def collection(session: Session, base: str, collection_id: str, fmt: str) -> dict:
    return _collection_info(session, base, get_collection(collection_id), fmt)


@dataclass(frozen=True)
class FeatureCollection:
    """A page: the head (counts, time stamp, links) from Python, the features as JSON text from PostgreSQL."""

    head: dict
    features_json: bytes
    crs: SupportedCrs

    def json_bytes(self) -> bytes:
        head = json.dumps(self.head, ensure_ascii=False, separators=(",", ":")).encode()
        return b"".join((head[:-1], b',"features":', self.features_json, b"}"))


def items(
    session: Session, base: str, collection_id: str, args: Args, fmt: str, cache: PageCache | None = None
) -> FeatureCollection:
    """A page of a collection; ``cache``: pages kept per data version (khgeo.services.page_cache), None: none."""
    found = get_collection(collection_id)
    check_args(args, ITEMS_PARAMS | set(found.queryables))
    limit = _integer(args, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = _integer(args, "offset", 0)
    if limit < 1:
        raise InvalidParameter(_l("limit must be at least 1"), field="limit")
    if offset > MAX_OFFSET:
        raise InvalidParameter(_l("offset is too large"), field="offset")
    bbox = parse_bbox(_one(args, "bbox"), _crs(args, "bbox-crs"))
    out_crs = _crs(args, "crs")
    check_datetime(_one(args, "datetime"))
    filters = {name: value for name in found.queryables if (value := _one(args, name))}
    page = found.page(session, filters, bbox, _geometry(found, out_crs), limit, offset, cache)

    url = f"{base}/collections/{found.id}/items"
    kept = flat(args)
    page_type = HTML if fmt == "html" else GEOJSON
    links = self_links(url, fmt, GEOJSON, kept)
    if offset + page.returned < page.matched:
        next_args = {**kept, "offset": str(offset + limit)}
        links.append(link(with_args(url, next_args), "next", page_type, _l("Next page")))
    if offset > 0:
        prev_args = {**kept, "offset": str(max(0, offset - limit))}
        links.append(link(with_args(url, prev_args), "prev", page_type, _l("Previous page")))
    links.append(link(f"{base}/collections/{found.id}", "collection", JSON_TYPE, found.title))
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "timeStamp": clock.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    return FeatureCollection(head, page.features_json, out_crs)


@dataclass(frozen=True)
class Feature:
    json: str
    crs: SupportedCrs

    def as_dict(self) -> dict:
        return json.loads(self.json)


def item(session: Session, base: str, collection_id: str, feature_id: str, args: Args, fmt: str) -> Feature:
    found = get_collection(collection_id)
    check_args(args, ITEM_PARAMS)
    out_crs = _crs(args, "crs")
    body = None
    if _FEATURE_ID.fullmatch(feature_id):
        body = found.feature(session, feature_id, _geometry(found, out_crs))
    if body is None:
        raise NoSuchThing(
            _l("No feature %(id)s in collection %(collection)s", id=feature_id, collection=found.id)
        )
    url = f"{base}/collections/{found.id}/items/{feature_id}"
    links = [
        *self_links(url, fmt, GEOJSON, flat(args)),
        link(f"{base}/collections/{found.id}", "collection", JSON_TYPE, found.title),
    ]
    links_json = json.dumps(links, ensure_ascii=False, separators=(",", ":"))
    return Feature(f'{body.rstrip()[:-1]},"links":{links_json}}}', out_crs)
