"""/api/zones (GeoJSON, read and PATCH with ETags), /api/tasks (JSON) and /healthz."""

from __future__ import annotations

import uuid

from flask import Response, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from wtforms.validators import ValidationError

from khgeo.api import bp
from khgeo.clock import today, tracking_start
from khgeo.db import get_db, get_session
from khgeo.errors import BadRequest, KhgeoError, ValidationFailed
from khgeo.security import authenticated_by_token
from khgeo.services import authz, updates, zone_info
from khgeo.services import tasks as task_service
from khgeo.services.zones import feature_collection_json, feature_json, get_zone, parse_filter

GEOJSON = "application/geo+json"


class PreconditionRequired(KhgeoError):
    status = 428


class PreconditionFailed(KhgeoError):
    status = 412


@bp.get("/api/zones")
def zones():
    session = get_session()
    body = feature_collection_json(session, parse_filter(session, request.args))
    return Response(body, mimetype=GEOJSON)


def _feature_response(code: str) -> Response:
    body, version = feature_json(get_session(), code)
    if request.method == "GET" and request.if_none_match.contains(str(version)):
        response = Response(status=304)
    else:
        response = Response(body, mimetype=GEOJSON)
    response.headers["ETag"] = f'"{version}"'
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/zones/<code>")
def zone(code: str):
    return _feature_response(code)


def _expected_version(current: int) -> int:
    """The version named by If-Match: 428 when missing, 412 when it is not the current one.

    ``If-Match: *`` ("any version") names no version, so it would let a script overwrite changes it never read:
    it is treated like a missing header (428), since the version check is the point of the header here.
    """
    if_match = request.headers.get("If-Match")
    if not if_match or request.if_match.star_tag:
        raise PreconditionRequired(
            _l('Send If-Match: "<version>" with the ETag you read (GET /api/zones/<code>).')
        )
    for tag in request.if_match.as_set():
        if tag.isdigit() and int(tag) == current:
            return current
    raise PreconditionFailed(
        _l("The zone has changed since you read it (now version %(v)d): read it again.", v=current)
    )


def _check_csrf_for_cookie_sessions() -> None:
    """Scripts with a Bearer token are not exposed to CSRF; a browser session must send the CSRF token."""
    if authenticated_by_token():
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except (ValidationError, CSRFError) as exc:
        raise BadRequest(_l("Missing or invalid X-CSRFToken header.")) from exc


@bp.patch("/api/zones/<code>")
def patch_zone(code: str):
    session = get_session()
    zone_row = get_zone(session, code, with_tasks=False)
    authz.require(current_user.is_authenticated, current_user)
    _check_csrf_for_cookie_sessions()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_l("The body must be a JSON object of the fields to change."))
    authz.require(authz.can_update_status(current_user, zone_row), current_user)
    info_fields = set(body) & set(zone_info.INFO_FIELDS)
    if info_fields:  # the zone's facts: admins only; field staff keep to the site status
        authz.require(authz.is_admin(current_user), current_user)
    request_id = _idempotency_key()
    try:
        if info_fields:
            saved = zone_info.save_info_update(
                session,
                zone_row,
                current_user,
                {name: value for name, value in body.items() if name != "note"},
                expected_version=lambda: _expected_version(zone_row.version),
                note=str(body.get("note") or "").strip(),
                channel="api",
                request_id=request_id,
                remote_addr=request.remote_addr or "",
            )
        else:
            saved = updates.save_status_update(
                session,
                zone_row,
                current_user,
                body,
                expected_version=lambda: _expected_version(zone_row.version),
                today=today(),
                channel="api",
                request_id=request_id,
                remote_addr=request.remote_addr or "",
            )
    except updates.RequestIdReused:
        raise ValidationFailed(
            {"Idempotency-Key": _l("This Idempotency-Key was already used for another zone.")}
        ) from None
    except updates.VersionConflict as exc:
        raise PreconditionFailed(
            _l(
                "The zone has changed since you read it (now version %(v)d): read it again.",
                v=exc.zone.version,
            )
        ) from None
    # read in the same transaction: what is about to be committed (the code may have changed: the new address);
    # a resend of a PATCH that went through (its response was lost) is answered as the first time
    response = _feature_response(zone_row.code)
    if not saved.replayed:
        session.commit()
    return response


@bp.post("/api/zones")
def create_zone():
    session = get_session()
    authz.require(authz.is_admin(current_user), current_user)
    _check_csrf_for_cookie_sessions()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_l("The body must be a JSON object of the fields to change."))
    unknown = set(body) - set(zone_info.INFO_FIELDS) - {"note"}
    if unknown:
        raise ValidationFailed({name: _l("This field cannot be changed here.") for name in sorted(unknown)})
    lookups = zone_info.info_lookups(session)
    facts = {name: value for name, value in body.items() if name != "note"}
    values = zone_info.validate_info(facts, lookups, creating=True)
    zone_row = zone_info.create_zone(
        session,
        current_user,
        values,
        lookups,
        note=str(body.get("note") or "").strip(),
        channel="api",
        remote_addr=request.remote_addr or "",
    )
    response = _feature_response(zone_row.code)
    session.commit()
    response.status_code = 201
    response.headers["Location"] = f"/api/zones/{zone_row.code}"
    return response


def _idempotency_key() -> uuid.UUID | None:
    raw = request.headers.get("Idempotency-Key")
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(_l("Idempotency-Key must be a UUID.")) from None


@bp.get("/api/tasks")
def tasks():
    session = get_session()
    task_filter = task_service.parse_task_filter(session, request.args)
    rows = task_service.list_tasks(session, task_filter, today(), tracking_start())
    return jsonify({"tasks": _with_answers(session, [task_service.task_json(row) for row in rows], rows)})


@bp.get("/api/tasks/<task_id>")
def task(task_id: str):
    session = get_session()
    row = task_service.task_row(session, task_service.get_task(session, task_id), today(), tracking_start())
    return jsonify(_with_answers(session, [task_service.task_json(row)], [row])[0])


def _with_answers(session, documents: list[dict], rows) -> list[dict]:
    """Each task's "answering_today": who answers for it today, by name (khgeo.services.units.succession)."""
    from khgeo.services.units.succession import answering_today

    answers = answering_today(session, [row.task for row in rows], today())
    for document, row in zip(documents, rows, strict=True):
        document["answering_today"] = answers.get(row.task.id, [row.task.lead_agency.name])
    return documents


@bp.get("/healthz")
def healthz():
    """Anyone learns ok / not ok; only a logged-in admin gets versions and details (they help an attacker)."""
    report = get_db().health_report()
    ok = report["status"] == "ok"
    body = report if ok and _is_admin() else {"status": report["status"]}
    return jsonify(body), 200 if ok else 503


def _is_admin() -> bool:
    try:
        return authz.can_read_health_details(current_user)
    except SQLAlchemyError:
        return False  # the user cannot even be loaded: the short answer
