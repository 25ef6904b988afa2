"""OGC API – Features under /ogcapi/: a thin adapter from Flask to khgeo.services.interop.ogc (the logic lives there).

Format: ?f=json|html, else the Accept header (JSON unless the client prefers text/html). Errors are OGC exception
documents {"code", "description"} with their status; the read gate (khgeo.security) answers 401 before any view.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, render_template, request

from khgeo.db import get_session
from khgeo.errors import KhgeoError
from khgeo.services.interop import ogc, ogc_request, ogc_schema
from khgeo.services.interop.ogc_openapi import openapi_document
from khgeo.services.interop.page_cache import PageCache

log = logging.getLogger(__name__)
bp = Blueprint("ogcapi", __name__, url_prefix="/ogcapi")

_NEGOTIATED = [ogc_request.JSON_TYPE, ogc_request.GEOJSON, ogc_request.OPENAPI_JSON, ogc_request.HTML]


def public_root() -> str:
    """The address khgeo is reached at, without a trailing slash: KHGEO_PUBLIC_URL when set, so a forged Host
    header never ends up in a link; else the request's own root."""
    return (current_app.config.get("KHGEO_PUBLIC_URL") or request.url_root).rstrip("/")


def _base() -> str:
    return public_root() + "/ogcapi"


def _args() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _format() -> str:
    fmt = request.args.get("f")
    if fmt is not None:
        return fmt  # validated by the service (400 unless json or html)
    best = request.accept_mimetypes.best_match(_NEGOTIATED, default=ogc_request.JSON_TYPE)
    return "html" if best == ogc_request.HTML else "json"


def _json(document: dict | str | bytes, mimetype: str = ogc_request.JSON_TYPE) -> Response:
    if isinstance(document, dict):
        document = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(document, mimetype=mimetype)


def _html(template: str, **context) -> Response:
    return Response(render_template(f"ogcapi/{template}", base=_base(), **context), mimetype=ogc_request.HTML)


def _simple(allowed: frozenset[str] = ogc_request.COMMON_PARAMS) -> str:
    ogc_request.check_args(_args(), allowed)
    return _format()


@bp.get("/", strict_slashes=False)
def landing():
    fmt = _simple()
    document = ogc.landing_page(_base(), fmt)
    return _html("landing.html", doc=document) if fmt == "html" else _json(document)


@bp.get("/conformance")
def conformance():
    fmt = _simple()
    document = ogc.conformance(_base(), fmt)
    return _html("conformance.html", doc=document) if fmt == "html" else _json(document)


@bp.get("/api")
def api():
    fmt = _simple()
    document = openapi_document(_base())
    return _html("api.html", doc=document) if fmt == "html" else _json(document, ogc_request.OPENAPI_JSON)


@bp.get("/collections")
def collections():
    fmt = _simple()
    document = ogc.collections(get_session(), _base(), fmt)
    return _html("collections.html", doc=document) if fmt == "html" else _json(document)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    fmt = _simple()
    document = ogc.collection(get_session(), _base(), collection_id, fmt)
    found = ogc.get_collection(collection_id)
    return _html("collection.html", doc=document, collection=found) if fmt == "html" else _json(document)


@bp.get("/collections/<collection_id>/schema")
def schema(collection_id: str):
    # JSON Schema only: f=html is accepted (the common parameter) and answered with the same JSON
    document = ogc.schema(_base(), collection_id, _args())
    return _json(document, ogc_schema.JSON_SCHEMA)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    document = ogc.queryables(_base(), collection_id, _args())
    return _json(document, ogc_schema.JSON_SCHEMA)


def _page_cache() -> PageCache:
    """This process's pages (per app: each gunicorn worker has its own, validated by the data's token)."""
    return current_app.extensions["khgeo.ogc_pages"]


@bp.record_once
def _make_page_cache(state) -> None:
    megabytes = state.app.config.get("KHGEO_OGC_PAGE_CACHE_MB", 0)
    state.app.extensions["khgeo.ogc_pages"] = PageCache(megabytes * 1024 * 1024)


def _with_crs(response: Response, crs_uri: str) -> Response:
    response.headers["Content-Crs"] = f"<{crs_uri}>"
    return response


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    fmt = _format()
    page = ogc.items(get_session(), _base(), collection_id, _args(), fmt, _page_cache())
    if fmt == "html":
        features = json.loads(page.features_json)
        response = _html(
            "items.html", page=page.head, features=features, collection=ogc.COLLECTIONS[collection_id]
        )
    else:
        response = _json(page.json_bytes(), ogc_request.GEOJSON)
    return _with_crs(response, page.crs.uri)


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    fmt = _format()
    feature = ogc.item(get_session(), _base(), collection_id, feature_id, _args(), fmt)
    if fmt == "html":
        response = _html("item.html", feature=feature.as_dict(), collection=ogc.COLLECTIONS[collection_id])
    else:
        response = _json(feature.json, ogc_request.GEOJSON)
    return _with_crs(response, feature.crs.uri)


@bp.get("/<path:_rest>")
def not_found(_rest: str):
    raise ogc_request.NoSuchThing(ogc_request.NOT_FOUND_MESSAGE)


@bp.errorhandler(KhgeoError)
def _ogc_error(exc: KhgeoError):
    if exc.status >= 500:
        log.error("%s on %s: %s", exc.__class__.__name__, request.path, exc.message)
    body = ogc_request.exception_body(exc.status, str(exc.message), getattr(exc, "ogc_code", None))
    response = _json(body)
    response.status_code = exc.status
    return response
