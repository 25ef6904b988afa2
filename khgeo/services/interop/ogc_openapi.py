"""The OpenAPI 3.0 definition of khgeo's OGC API – Features, generated from the same definitions it serves.

Every path of every collection is written out (zones and districts take different filters), with each parameter,
its limits, and the shape of each response. tests/test_ogcapi.py validates it with openapi-spec-validator and runs
schemathesis against it.
"""

from __future__ import annotations

from khgeo.geo import crs as crs_defs
from khgeo.services.interop import ogc, ogc_request
from khgeo.services.zones import WWTP_FILTER_VALUES

REF = "#/components/{kind}/{name}"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": REF.format(kind=kind, name=name)}


def _query(name: str, description: str, schema: dict, **extra) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
        **extra,
    }


CRS_SCHEMA = {
    "type": "string",
    "format": "uri",
    "enum": list(crs_defs.SUPPORTED_URIS),
    "default": crs_defs.CRS84,
}

PARAMETERS = {
    "f": _query(
        "f",
        "The representation: json (GeoJSON for features) or html. Without it, the Accept header decides "
        "(JSON unless text/html is preferred).",
        {"type": "string", "enum": list(ogc_request.FORMATS)},
    ),
    "lang": _query(
        "lang", "Language of titles, descriptions and messages.", {"type": "string", "enum": ["vi", "en"]}
    ),
    "limit": _query(
        "limit",
        f"The number of features on a page: default {ogc_request.DEFAULT_LIMIT}, at most {ogc_request.MAX_LIMIT}. A larger value "
        f"is not an error: it is served as {ogc_request.MAX_LIMIT} (the next link then moves by {ogc_request.MAX_LIMIT}).",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": ogc_request.MAX_LIMIT,
            "default": ogc_request.DEFAULT_LIMIT,
        },
    ),
    "offset": _query(
        "offset",
        "How many matching features to skip (features are in a fixed order); the next and prev links carry it.",
        {"type": "integer", "minimum": 0, "maximum": ogc_request.MAX_OFFSET, "default": 0},
    ),
    "bbox": _query(
        "bbox",
        "Only features whose geometry intersects this box: lower left corner, upper right corner (4 numbers; with "
        "6, the heights are ignored), in the axis order of bbox-crs (CRS84: lon,lat; EPSG:4326: lat,lon; projected "
        "CRSs: easting,northing). A box crossing the antimeridian is not supported (400). A projected box is "
        "clipped to where its CRS is valid.",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        example=[106.0, 21.2, 106.3, 21.4],
    ),
    "bbox-crs": _query("bbox-crs", "The CRS of bbox (OGC API – Features Part 2).", CRS_SCHEMA),
    "crs": _query(
        "crs",
        "The CRS of the returned geometries (OGC API – Features Part 2); the response's Content-Crs header names "
        "it. VN-2000 is reached from WGS 84 through EPSG:6960 (Decision 05/2007/QĐ-BTNMT).",
        CRS_SCHEMA,
    ),
    "datetime": _query(
        "datetime",
        "An RFC 3339 date-time or interval (open ends: '..'). Validated; it does not filter, since no collection has "
        "a temporal geometry.",
        {"type": "string"},
    ),
    "types": _query(
        "types",
        "single: one JSON type per property (no null in the type), the form GDAL 3.6 reads; without it, a property "
        'that may be unknown has the type [t, "null"].',
        {"type": "string", "enum": ["single"]},
    ),
    "zoneId": {
        "name": "featureId",
        "in": "path",
        "required": True,
        "description": "A zone's code.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,60}$"},
        "example": "kcn-van-trung",
    },
    "districtId": {
        "name": "featureId",
        "in": "path",
        "required": True,
        "description": "A district's GSO code (2022).",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,60}$"},
        "example": "222",
    },
    "kind": _query(
        "kind",
        "KCN (industrial zone) or CCN (industrial cluster).",
        {"type": "string", "enum": ["KCN", "CCN"]},
    ),
    "district": _query(
        "district",
        "The zone's district (2022): GSO code or name (diacritics and case ignored); an unknown district is a 400.",
        {"type": "string"},
        example="222",
    ),
    "wwtp_status": _query(
        "wwtp_status",
        "Wastewater treatment status; unknown: not reported.",
        {"type": "string", "enum": list(WWTP_FILTER_VALUES)},
    ),
    "code": _query(
        "code",
        "The district's GSO code.",
        {"type": "string", "pattern": "^[0-9A-Za-z]{1,10}$"},
        example="222",
    ),
}

LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
NUMBER_OR_NULL = {"type": "number", "nullable": True}
STRING_OR_NULL = {"type": "string", "nullable": True}
ZONE_PROPERTIES = {
    "type": "object",
    "description": "The same properties as /api/zones.",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "kind": {"type": "string", "enum": ["KCN", "CCN"]},
        "district": STRING_OR_NULL,
        "district_code": STRING_OR_NULL,
        "communes": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "area_ha": NUMBER_OR_NULL,
        "computed_area_ha": NUMBER_OR_NULL,
        "clearance_pct": NUMBER_OR_NULL,
        "clearance_incomplete": {"type": "boolean", "nullable": True},
        "cleared_area_ha": NUMBER_OR_NULL,
        "clearance_area_ha": NUMBER_OR_NULL,
        "wwtp_status": STRING_OR_NULL,
        "infrastructure_pct": NUMBER_OR_NULL,
        "occupancy_pct": NUMBER_OR_NULL,
        "operating_status": STRING_OR_NULL,
        "developer": STRING_OR_NULL,
        "geometry_source": {"type": "string", "enum": ["illustrative", "surveyed", "imported"]},
        "as_of": {"type": "string", "format": "date", "nullable": True},
        "version": {"type": "integer"},
        "updated_at": {"type": "string"},
    },
}
DISTRICT_PROPERTIES = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "full_name": {"type": "string"},
        "unit_type": {"type": "string"},
        "province_code": {"type": "string"},
    },
}
GEOMETRY = {
    "type": "object",
    "nullable": True,
    "description": "A GeoJSON geometry (Polygon or MultiPolygon) in the CRS named by Content-Crs.",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {}},
    },
}


def _feature_schema(properties: str) -> dict:
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": _ref("schemas", "geometry"),
            "properties": _ref("schemas", properties),
            "links": {"type": "array", "items": _ref("schemas", "link")},
        },
    }


def _collection_schema(feature: str) -> dict:
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _ref("schemas", feature)},
            "links": {"type": "array", "items": _ref("schemas", "link")},
            "timeStamp": {"type": "string", "format": "date-time"},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
        },
    }


SCHEMAS = {
    "link": LINK,
    "exception": {
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
    },
    "landingPage": {
        "type": "object",
        "required": ["links"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "links": {"type": "array", "items": _ref("schemas", "link")},
        },
    },
    "confClasses": {
        "type": "object",
        "required": ["conformsTo"],
        "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
    },
    "extent": {
        "type": "object",
        "properties": {
            "spatial": {
                "type": "object",
                "properties": {
                    "bbox": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                    },
                    "crs": {"type": "string", "enum": [crs_defs.CRS84]},
                },
            }
        },
    },
    "collection": {
        "type": "object",
        "required": ["id", "links"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "links": {"type": "array", "items": _ref("schemas", "link")},
            "extent": _ref("schemas", "extent"),
            "itemType": {"type": "string", "enum": ["feature"]},
            "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"},
        },
    },
    "collections": {
        "type": "object",
        "required": ["links", "collections"],
        "properties": {
            "links": {"type": "array", "items": _ref("schemas", "link")},
            "crs": {"type": "array", "items": {"type": "string"}},
            "collections": {"type": "array", "items": _ref("schemas", "collection")},
        },
    },
    "geometry": GEOMETRY,
    "zoneProperties": ZONE_PROPERTIES,
    "districtProperties": DISTRICT_PROPERTIES,
    "zone": _feature_schema("zoneProperties"),
    "district": _feature_schema("districtProperties"),
    "zones": _collection_schema("zone"),
    "districts": _collection_schema("district"),
}

CONTENT_CRS = {
    "description": "The CRS of the geometries, a URI in angle brackets (OGC API – Features Part 2).",
    "schema": {"type": "string"},
}
HTML_CONTENT = {"text/html": {"schema": {"type": "string"}}}


def _json_response(
    description: str, schema: str, media: str = ogc_request.JSON_TYPE, headers: dict | None = None
) -> dict:
    response = {
        "description": description,
        "content": {media: {"schema": _ref("schemas", schema)}, **HTML_CONTENT},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {ogc_request.JSON_TYPE: {"schema": _ref("schemas", "exception")}},
    }


RESPONSES = {
    "LandingPage": _json_response(
        "The landing page: links to the API definition, conformance and data.", "landingPage"
    ),
    "Conformance": _json_response("The conformance classes implemented.", "confClasses"),
    "Collections": _json_response("The collections: zones and districts.", "collections"),
    "Collection": _json_response("One collection: extent, CRSs, links.", "collection"),
    "InvalidParameter": _error("A parameter is unknown, repeated or has an invalid value."),
    "NotFound": _error("No such collection or feature."),
    "Unauthorized": _error(
        "Login required: anonymous reading is off (KHGEO_PUBLIC_READ); send a Bearer token."
    ),
    "ServiceUnavailable": {
        "description": "The database is unavailable.",
        "content": {ogc_request.JSON_TYPE: {"schema": {"type": "object"}}},
    },
}

ERRORS = {
    "400": _ref("responses", "InvalidParameter"),
    "401": _ref("responses", "Unauthorized"),
    "503": _ref("responses", "ServiceUnavailable"),
}
COMMON = [_ref("parameters", "f"), _ref("parameters", "lang")]


def _get(operation_id: str, summary: str, tags: list[str], parameters: list[dict], responses: dict) -> dict:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": tags,
            "parameters": parameters,
            "responses": {**responses, **ERRORS},
        }
    }


def _schema_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/schema+json": {"schema": {"type": "object"}}},
    }


def _collection_paths(collection: ogc.Collection) -> dict:
    cid = collection.id
    feature = "zone" if cid == "zones" else "district"
    queryables = [_ref("parameters", name) for name in collection.queryables]
    features_response = {
        "description": f"A page of the {cid} as GeoJSON (numberMatched, numberReturned, next/prev links).",
        "headers": {"Content-Crs": CONTENT_CRS},
        "content": {ogc_request.GEOJSON: {"schema": _ref("schemas", cid)}, **HTML_CONTENT},
    }
    feature_response = {
        "description": f"One of the {cid}: {collection.feature_id}.",
        "headers": {"Content-Crs": CONTENT_CRS},
        "content": {ogc_request.GEOJSON: {"schema": _ref("schemas", feature)}, **HTML_CONTENT},
    }
    items_parameters = [
        *COMMON,
        *(_ref("parameters", name) for name in ("limit", "offset", "bbox", "bbox-crs", "crs", "datetime")),
        *queryables,
    ]
    return {
        f"/collections/{cid}": _get(
            f"describe_{cid}",
            f"Describe the {cid} collection",
            [cid],
            COMMON,
            {"200": _ref("responses", "Collection")},
        ),
        f"/collections/{cid}/items": _get(
            f"get_{cid}",
            f"The {cid}, a page at a time",
            [cid],
            items_parameters,
            {"200": features_response},
        ),
        f"/collections/{cid}/schema": _get(
            f"get_{cid}_schema",
            f"The JSON Schema of the {cid} (OGC API – Features Part 5)",
            [cid],
            [*COMMON, _ref("parameters", "types")],
            {"200": _schema_response(f"The JSON Schema of one of the {cid} (a GeoJSON Feature).")},
        ),
        f"/collections/{cid}/queryables": _get(
            f"get_{cid}_queryables",
            f"The properties the {cid} can be filtered by",
            [cid],
            COMMON,
            {"200": _schema_response("The queryables: each a property of the schema, with its type.")},
        ),
        f"/collections/{cid}/items/{{featureId}}": _get(
            f"get_{feature}",
            f"One of the {cid}",
            [cid],
            [
                _ref("parameters", "zoneId" if cid == "zones" else "districtId"),
                *COMMON,
                _ref("parameters", "crs"),
            ],
            {"200": feature_response, "404": _ref("responses", "NotFound")},
        ),
    }


def openapi_document(base: str) -> dict:
    """The definition, with ``base`` (…/ogcapi) as its server so every path is relative to it."""
    paths = {
        "/": _get(
            "get_landing_page",
            "The landing page",
            ["capabilities"],
            COMMON,
            {"200": _ref("responses", "LandingPage")},
        ),
        "/conformance": _get(
            "get_conformance",
            "The conformance classes",
            ["capabilities"],
            COMMON,
            {"200": _ref("responses", "Conformance")},
        ),
        "/api": _get(
            "get_api",
            "This API definition",
            ["capabilities"],
            COMMON,
            {
                "200": {
                    "description": "The OpenAPI 3.0 definition (JSON), or its HTML documentation.",
                    "content": {ogc_request.OPENAPI_JSON: {"schema": {"type": "object"}}, **HTML_CONTENT},
                }
            },
        ),
        "/collections": _get(
            "get_collections",
            "The collections",
            ["capabilities"],
            COMMON,
            {"200": _ref("responses", "Collections")},
        ),
    }
    for collection in ogc.COLLECTIONS.values():
        paths.update(_collection_paths(collection))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "khgeo OGC API – Features",
            "version": "1.0.0",
            "description": (
                "Industrial zones and clusters of Bắc Giang and the 2022 districts (OGC API – Features Part 1 Core, "
                "Part 2 CRS). Reading needs a login (Authorization: Bearer <token>) unless the server sets "
                "KHGEO_PUBLIC_READ."
            ),
            "license": {"name": "Proprietary (province of Bắc Giang); zone outlines are illustrative"},
        },
        "servers": [{"url": base}],
        "tags": [
            {"name": "capabilities", "description": "Landing page, conformance, API definition, collections"},
            *({"name": cid, "description": str(c.title)} for cid, c in ogc.COLLECTIONS.items()),
        ],
        "security": [{}, {"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": PARAMETERS,
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }
