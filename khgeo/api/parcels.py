"""/api/parcels: a zone's parcels (GeoJSON, filters), one parcel, and stage updates (one with If-Match, a batch
with per-parcel conflicts). Thin: the rules are khgeo.services.parcels.stages; who may do what is authz."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from khgeo.api.views import (
    PreconditionFailed,
    PreconditionRequired,
    _check_csrf_for_cookie_sessions,
    _idempotency_key,
)
from khgeo.clock import today
from khgeo.db import get_session
from khgeo.errors import BadRequest, KhgeoError, ValidationFailed
from khgeo.services import authz
from khgeo.services.parcels import facts, privacy, queries, stages, timers
from khgeo.services.zones import get_zone

bp = Blueprint("parcels_api", __name__)
GEOJSON = "application/geo+json"


class StageConflict(KhgeoError):
    status = 409


def _login_required() -> None:
    authz.require(current_user.is_authenticated, current_user)


@bp.get("/api/zones/<code>/parcels")
def zone_parcels(code: str):
    _login_required()
    session = get_session()
    zone = get_zone(session, code, with_tasks=False)
    parcel_filter = queries.parse_parcel_filter(request.args)
    personal = authz.sees_land_users(current_user, zone)
    body, uids = queries.zone_parcels_geojson(session, zone, parcel_filter, today(), personal=personal)
    if personal and uids:
        privacy.record_view(
            session,
            current_user,
            uids,
            channel="api",
            zone_code=zone.code,
            remote_addr=request.remote_addr or "",
        )
        session.commit()
    return Response(body, mimetype=GEOJSON)


def _parcel_response(uid: str, *, status: int = 200) -> Response:
    session = get_session()
    parcel = queries.get_parcel(session, uid)
    personal = authz.sees_land_users(current_user, parcel.zone)
    running = timers.running(timers.active_timers(session), parcel, today())
    body = queries.parcel_json(parcel, running, personal=personal)
    if personal:
        privacy.record_view(
            session, current_user, [parcel.uid], channel="api", remote_addr=request.remote_addr or ""
        )
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{parcel.version}"'
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/parcels/<uid>")
def parcel(uid: str):
    _login_required()
    response = _parcel_response(uid)
    get_session().commit()  # the audit row of a personal view
    return response


def _if_match_version(current: int) -> int:
    if_match = request.headers.get("If-Match")
    if not if_match or request.if_match.star_tag:
        raise PreconditionRequired(
            _l('Send If-Match: "<version>" with the ETag you read (GET /api/parcels/<uid>).')
        )
    for tag in request.if_match.as_set():
        if tag.isdigit():
            return int(tag)
    raise PreconditionFailed(
        _l("The parcel has changed since you read it (now version %(v)d): read it again.", v=current)
    )


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_l("The body must be a JSON object."))
    return body


def _parse_change(body: dict) -> stages.StageChange:
    """The stage change of a request; a bad one is a request error (400, the batch contract), each field named."""
    try:
        return stages.parse_change(body, today())
    except ValidationFailed as exc:
        exc.status = 400
        raise


@bp.patch("/api/parcels/<uid>")
def patch_parcel(uid: str):
    _login_required()
    _check_csrf_for_cookie_sessions()
    session = get_session()
    row = queries.get_parcel(session, uid)
    authz.require(authz.can_update_parcel(current_user, row.zone), current_user)
    body = _body()
    if "stage" not in body and any(name in body for name in facts.FIELDS):
        return _patch_facts(session, row, body)
    change = _parse_change(body)
    if change.correction:
        authz.require(authz.is_admin(current_user), current_user)
    key = _idempotency_key()
    expected = _if_match_version(row.version)
    result = stages.apply_stage(
        session,
        current_user,
        [(row.uid, expected)],
        change,
        today=today(),
        request_key=key,
        channel="api",
        remote_addr=request.remote_addr or "",
    )
    if result.conflicts:
        conflict = result.conflicts[0]
        session.rollback()
        if conflict.get("current_version") is not None and conflict["current_version"] != expected:
            raise PreconditionFailed(
                _l(
                    "The parcel has changed since you read it (now version %(v)d): read it again.",
                    v=row.version,
                )
            )
        raise StageConflict(str(conflict["reason"]))
    if not result.replayed:
        session.commit()
    return _parcel_response(row.uid)


def _patch_facts(session, row, body: dict) -> Response:
    """Flags and amounts (no "stage" in the body): versioned like a stage move, If-Match required."""
    try:
        values = facts.parse_facts(body)
    except ValidationFailed as exc:
        exc.status = 400
        raise
    expected = _if_match_version(row.version)
    try:
        facts.set_facts(
            session,
            current_user,
            row,
            values,
            expected_version=expected,
            note=str(body.get("note") or ""),
            channel="api",
        )
    except facts.FactsConflict as exc:
        raise PreconditionFailed(exc.message) from None
    session.commit()
    return _parcel_response(row.uid)


@bp.post("/api/parcels/stage")
def stage_batch():
    _login_required()
    _check_csrf_for_cookie_sessions()
    authz.require(authz.may_update_parcels(current_user), current_user)
    session = get_session()
    body = _body()
    items = stages.parse_items(body.get("parcels"))
    change = _parse_change(body)
    if change.correction:
        authz.require(authz.is_admin(current_user), current_user)
    key: uuid.UUID | None = _idempotency_key()
    result = stages.apply_stage(
        session,
        current_user,
        items,
        change,
        today=today(),
        request_key=key,
        channel="api",
        remote_addr=request.remote_addr or "",
    )
    if not result.replayed:
        session.commit()
    return jsonify(result.as_json())
