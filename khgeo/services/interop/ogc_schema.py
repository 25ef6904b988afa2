"""OGC API – Features Part 5 (Schemas): the JSON Schema of each collection's features, and its queryables.

A zone's properties are described once, by ``khgeo.services.interop.field_names.EXPORT_COLUMNS`` (the columns of
every export: kind of value, Vietnamese header); coded values take their enums from ``khgeo.codes``. So the
schema, the exports and the OGC features cannot disagree on a type (tests/test_ogc_schema.py validates every
served feature against the schema).

Two spellings of one schema, because no single JSON Schema serves both standard validators and GDAL 3.6:

- ``/collections/{id}/schema`` (links ``describedby`` and OGC's ``…/rel/ogc/1.0/schema``): JSON Schema 2020-12;
  a property that may be unknown says so the standard way, ``"type": ["number", "null"]``.
- ``/collections/{id}/schema?types=single`` (link ``describedBy``, the exact spelling GDAL 3.6's OAPIF driver
  looks for): the same document with one type per property, as Part 5 writes it. GDAL reads a property's
  ``type`` only when it is a single string: with ``["number", "null"]`` it falls back to text.

No collection has a ``primary-instant``: a zone's ``as_of`` dates its figures, not the feature.
"""

from __future__ import annotations

from typing import Any

from khgeo.codes import GEOMETRY_SOURCE, OPERATING_STATUS, WWTP_STATUS, ZONE_KIND
from khgeo.services.interop.field_names import EXPORT_COLUMNS
from khgeo.services.zones import WWTP_FILTER_VALUES

JSON_SCHEMA = "application/schema+json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TYPES_PARAM = "types"  # ?types=single: one type per property (GDAL 3.6)

# kind of an export column → JSON type and format
_KIND_TYPES: dict[str, tuple[str, str | None]] = {
    "text": ("string", None),
    "list": ("array", None),
    "number": ("number", None),
    "integer": ("integer", None),
    "bool": ("boolean", None),
    "date": ("string", "date"),
    "datetime": ("string", "date-time"),
}
# zone properties that always have a value (the rest may be null: not reported, no district, no outline…)
ZONE_REQUIRED = frozenset(
    {"code", "name", "kind", "communes", "aliases", "developer", "geometry_source", "version", "updated_at"}
)
ZONE_ENUMS = {
    "kind": ZONE_KIND.keys,
    "wwtp_status": WWTP_STATUS.keys,
    "operating_status": OPERATING_STATUS.keys,
    "geometry_source": GEOMETRY_SOURCE.keys,
}
DISTRICT_PROPERTIES = {
    "code": "Mã",
    "name": "Tên",
    "full_name": "Tên đầy đủ",
    "unit_type": "Loại đơn vị",
    "province_code": "Mã tỉnh",
}


def _property(kind: str, title: str, *, nullable: bool, single: bool, enum=None) -> dict[str, Any]:
    json_type, fmt = _KIND_TYPES[kind]
    schema: dict[str, Any] = {"title": title}
    schema["type"] = json_type if single or not nullable else [json_type, "null"]
    if fmt:
        schema["format"] = fmt
    if kind == "list":
        schema["items"] = {"type": "string"}
    if enum:
        schema["enum"] = [*enum, None] if nullable and not single else list(enum)
    return schema


def zone_properties(*, single: bool = False) -> dict[str, dict[str, Any]]:
    """Every property of a zone Feature, in the order it is served."""
    return {
        column.key: _property(
            column.kind,
            column.header_vi,
            nullable=column.key not in ZONE_REQUIRED,
            single=single,
            enum=ZONE_ENUMS.get(column.key),
        )
        for column in EXPORT_COLUMNS
    }


def district_properties(*, single: bool = False) -> dict[str, dict[str, Any]]:
    return {
        key: _property("text", title, nullable=False, single=single)
        for key, title in DISTRICT_PROPERTIES.items()
    }


def _geometry(single: bool) -> dict[str, Any]:
    return {
        "title": "Ranh giới",
        "x-ogc-role": "primary-geometry",
        "format": "geometry-multipolygon",
        "type": "object" if single else ["object", "null"],
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
            "coordinates": {"type": "array"},
        },
    }


def feature_schema(base: str, collection_id: str, title: str, *, single: bool = False) -> dict[str, Any]:
    """The JSON Schema of one GeoJSON Feature of the collection (the shape /items and /items/{id} serve)."""
    properties = (
        zone_properties(single=single) if collection_id == "zones" else district_properties(single=single)
    )
    required = sorted(ZONE_REQUIRED) if collection_id == "zones" else sorted(properties)
    url = f"{base}/collections/{collection_id}/schema"
    return {
        "$schema": DIALECT,
        "$id": f"{url}?{TYPES_PARAM}=single" if single else url,
        "title": title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string", "title": "Mã", "x-ogc-role": "id"},
            "geometry": _geometry(single),
            "properties": {"type": "object", "required": required, "properties": properties},
            "links": {"type": "array", "items": {"type": "object"}},
        },
    }


def queryables(base: str, collection_id: str, title: str, descriptions: dict[str, Any]) -> dict[str, Any]:
    """The properties /items filters by: each with the type it has in the feature schema."""
    described = zone_properties(single=True) if collection_id == "zones" else district_properties(single=True)
    properties = {name: {**described[name], "description": str(text)} for name, text in descriptions.items()}
    if "wwtp_status" in properties:  # the filter also takes "unknown": the zones whose status is not reported
        properties["wwtp_status"]["enum"] = list(WWTP_FILTER_VALUES)
    return {
        "$schema": DIALECT,
        "$id": f"{base}/collections/{collection_id}/queryables",
        "title": title,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
