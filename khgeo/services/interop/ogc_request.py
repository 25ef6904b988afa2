"""What an OGC API request may say (arguments, bbox, CRS, datetime: checked, with OGC exception codes) and the
links its answers carry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from khgeo.errors import BadRequest, NotFound
from khgeo.geo import crs as crs_defs
from khgeo.geo.crs import SupportedCrs
from khgeo.services.interop import ogc_schema

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
FEATURE_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,60}")


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
    if (fmt := one_arg(args, "f")) is not None and fmt not in FORMATS:
        raise InvalidParameter(_l("f must be json or html"), field="f")
    if (lang := one_arg(args, "lang")) is not None and lang not in LANGUAGES:
        raise InvalidParameter(_l("lang must be vi or en"), field="lang")


def one_arg(args: Args, name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def integer_arg(args: Args, name: str, default: int, *, maximum: int | None = None) -> int:
    raw = one_arg(args, name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw):
        raise InvalidParameter(_l("%(name)s must be a whole number", name=name), field=name)
    value = int(raw) if len(raw) <= 18 else 10**18
    return value if maximum is None else min(value, maximum)


def crs_arg(args: Args, name: str) -> SupportedCrs:
    raw = one_arg(args, name)
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
