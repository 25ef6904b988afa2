"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) without Flask: arguments in, documents out.

The blueprint (khgeo/api/ogc.py) turns a request into a base URL, its query arguments (every value of every name)
and a format, calls these functions and writes the response; like pygeoapi's API functions they know nothing of
the web framework. A page of features is built by PostgreSQL in ONE statement (the features of the page joined
as text, their number and the number matched): Python only wraps it with the links, never touches a feature. A
page in the default CRS may be served again from memory while the zones are unchanged (khgeo.services.interop.page_cache).

Zones are serialised by khgeo.services.zones (feature_select: the one serialisation of a zone, the same
properties as /api/zones) and filtered through parse_filter, so the OGC API accepts exactly the values the map
and /api/zones accept. Errors are KhgeoErrors carrying an OGC exception code: the blueprint answers
{"code", "description"} with their status.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from khgeo import clock
from khgeo.geo import crs as crs_defs
from khgeo.geo.crs import CRS84, SupportedCrs
from khgeo.services.interop import ogc_schema
from khgeo.services.interop.ogc_collections import COLLECTIONS, Collection, get_collection, output_geometry
from khgeo.services.interop.ogc_request import (
    COMMON_PARAMS,
    CONFORMANCE,
    DEFAULT_LIMIT,
    FEATURE_ID_PATTERN,
    GEOJSON,
    HTML,
    ITEM_PARAMS,
    ITEMS_PARAMS,
    JSON_TYPE,
    MAX_LIMIT,
    MAX_OFFSET,
    OGC_REL,
    OPENAPI_JSON,
    SCHEMA_PARAMS,
    Args,
    InvalidParameter,
    NoSuchThing,
    check_args,
    check_datetime,
    crs_arg,
    flat,
    integer_arg,
    link,
    one_arg,
    parse_bbox,
    self_links,
    with_args,
)
from khgeo.services.interop.page_cache import PageCache


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
    types = one_arg(args, ogc_schema.TYPES_PARAM)
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
    """A page of a collection; ``cache``: pages kept per data version (khgeo.services.interop.page_cache), None: none."""
    found = get_collection(collection_id)
    check_args(args, ITEMS_PARAMS | set(found.queryables))
    limit = integer_arg(args, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = integer_arg(args, "offset", 0)
    if limit < 1:
        raise InvalidParameter(_l("limit must be at least 1"), field="limit")
    if offset > MAX_OFFSET:
        raise InvalidParameter(_l("offset is too large"), field="offset")
    bbox = parse_bbox(one_arg(args, "bbox"), crs_arg(args, "bbox-crs"))
    out_crs = crs_arg(args, "crs")
    check_datetime(one_arg(args, "datetime"))
    filters = {name: value for name in found.queryables if (value := one_arg(args, name))}
    page = found.page(session, filters, bbox, output_geometry(found, out_crs), limit, offset, cache)

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
    out_crs = crs_arg(args, "crs")
    body = None
    if FEATURE_ID_PATTERN.fullmatch(feature_id):
        body = found.feature(session, feature_id, output_geometry(found, out_crs))
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
