"""/api/zones (GeoJSON), /api/tasks (JSON) and /healthz."""

from __future__ import annotations

from flask import Response, jsonify, request

from khgeo.api import bp
from khgeo.app import get_db, get_session, today
from khgeo.services import tasks as task_service
from khgeo.services.zones import feature_collection_json, feature_json, parse_filter

GEOJSON = "application/geo+json"


@bp.get("/api/zones")
def zones():
    session = get_session()
    body = feature_collection_json(session, parse_filter(session, request.args))
    return Response(body, mimetype=GEOJSON)


@bp.get("/api/zones/<code>")
def zone(code: str):
    return Response(feature_json(get_session(), code), mimetype=GEOJSON)


@bp.get("/api/tasks")
def tasks():
    day = today()
    return jsonify(
        {"tasks": [task_service.task_json(task, day) for task in task_service.list_tasks(get_session())]}
    )


@bp.get("/api/tasks/<task_id>")
def task(task_id: str):
    return jsonify(task_service.task_json(task_service.get_task(get_session(), task_id), today()))


@bp.get("/healthz")
def healthz():
    health = get_db().health()
    return jsonify(health), 200 if health["database"] == "ok" else 503
