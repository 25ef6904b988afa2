"""The field update form (mobile-first), site photos, and the zone's history."""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from khgeo.clock import today
from khgeo.db import get_session
from khgeo.jinja import number
from khgeo.models import WWTP_STATUSES
from khgeo.services import authz, updates
from khgeo.services.photos import MAX_PHOTOS_PER_UPDATE, PhotoRejected
from khgeo.services.zones import get_zone
from khgeo.web import bp
from khgeo.web.forms import CsrfForm
from khgeo.web.geometry import edit_outline

QUEUE_CLIENT = (
    "khgeo-queue"  # X-Requested-With of a save sent from the offline queue (static/js/offline/sync.js)
)
FORM_FIELDS = (
    "as_of",
    "clearance_area_ha",
    "cleared_area_ha",
    "clearance_pct",
    "households_total",
    "households_agreed",
    "wwtp_status",
    "wwtp_capacity_m3_day",
    "infrastructure_pct",
    "occupancy_pct",
    "note",
)


def _submitted() -> dict[str, str]:
    """The fields the user sent, as typed (so a refused save shows them again)."""
    return {name: request.form.get(name, "") for name in FORM_FIELDS}


def _current(zone) -> dict[str, str]:
    """The zone's figures as the rest of the UI writes them in the current language (vi: 4.000 and 398,5), which
    is also how the form reads them back (khgeo.numbers)."""
    values = {name: _as_typed(getattr(zone, name)) for name in updates.STATUS_FIELDS if name != "wwtp_status"}
    values["wwtp_status"] = (
        zone.wwtp_status or ""
    )  # a coded value, not a number (the form was a 500 when set)
    values["clearance_pct"] = _as_typed(zone.clearance_pct)
    values["as_of"] = today().isoformat()
    values["note"] = ""
    return values


def _as_typed(value) -> str:
    return "" if value is None else number(value)


def number_locale() -> str:
    return get_locale().language if get_locale() is not None else "vi"


def _render(zone, form, values, *, errors=None, conflict=None, status=200):
    return render_template(
        "zones/update.html",
        zone=zone,
        form=form,
        values=values,
        errors=errors or {},
        conflict=conflict,
        wwtp_statuses=WWTP_STATUSES,
        max_photos=MAX_PHOTOS_PER_UPDATE,
        today=today(),
        request_id=request.form.get("request_id") or str(uuid.uuid4()),
        version=conflict.version if conflict is not None else request.form.get("version", zone.version),
    ), status


@bp.route("/zones/<code>/update", methods=["GET", "POST"])
def zone_update(code: str):
    session = get_session()
    zone = get_zone(session, code)
    authz.require(authz.can_update_status(current_user, zone), current_user)
    form = CsrfForm()
    if request.method == "GET":
        return _render(zone, form, _current(zone))
    if not form.validate_on_submit():  # CSRF
        abort(400)
    submitted = _submitted()
    data = {name: value for name, value in submitted.items() if name not in ("clearance_pct",) or value}
    try:
        saved = updates.save_status_update(
            session,
            zone,
            current_user,
            data,
            expected_version=_form_version,
            today=today(),
            locale=number_locale(),
            uploads=_uploads(),
            channel="web",
            request_id=_uuid(request.form.get("request_id")),
            remote_addr=request.remote_addr or "",
        )
    except updates.RequestIdReused:
        abort(400)  # a request id from another zone's form: a tampered form
    except updates.ValidationFailed as exc:
        return _render(zone, form, submitted, errors=exc.errors, status=422)
    except PhotoRejected as exc:
        return _render(zone, form, submitted, errors={"photos": exc.message}, status=422)
    except updates.VersionConflict as exc:
        return _render(exc.zone, form, submitted, conflict=exc.zone, status=409)
    if not saved.replayed:  # a resend of a save that already went through: nothing to do
        session.commit()
    if request.headers.get("X-Requested-With") != QUEUE_CLIENT:  # the phone's queue says so itself
        flash(_("Saved."), "success")
    return _saved(zone.code, zone.version)


def _form_version() -> int:
    """The version the form was opened at (asked only once the request is known not to be a resend)."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400)


def _saved(code: str, version: int):
    """Back to the zone page. The form's script asks for the address instead of following the redirect, so
    the "Saved." message is shown on the page the user lands on rather than consumed by a hidden request."""
    target = url_for("web.zone_page", code=code)
    if request.headers.get("X-Requested-With") in ("khgeo-form", QUEUE_CLIENT):
        # the version lets a phone's queue send its next update of this zone on top of this one
        return jsonify({"saved": True, "location": target, "version": version})
    return redirect(target, 303)


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _uploads() -> list[tuple[bytes, str]]:
    """The photos sent, as (content, file name); the service checks how many and what they are."""
    return [
        (upload.read(), upload.filename)
        for upload in request.files.getlist("photos")
        if upload and upload.filename
    ]


def _photo_response(photo_id: int, attribute: str) -> Response:
    photo = updates.get_photo(get_session(), photo_id)
    if photo is None:
        abort(404)
    response = Response(getattr(photo, attribute), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    return _photo_response(photo_id, "content")


@bp.get("/photos/<int:photo_id>/thumb")
def photo_thumbnail(photo_id: int):
    return _photo_response(photo_id, "thumbnail")


@bp.route("/zones/<code>/geometry", methods=["GET", "POST"])
def zone_geometry(code: str):
    return edit_outline(code)
