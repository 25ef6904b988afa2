"""Parcel pages: search by sheet/parcel number (phone first), a parcel's page with its update form, the zone page's
parcels section, stage updates from a spreadsheet, and the board's list of legal timers."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo import codes
from khgeo.clock import today
from khgeo.codes import PARCEL_STAGE
from khgeo.db import get_session
from khgeo.errors import ImportFileError, NotFound, ValidationFailed
from khgeo.models import PARCEL_STAGES, Zone
from khgeo.services import authz, updates
from khgeo.services.parcels import facts, privacy, queries, sheet, stages, timers
from khgeo.services.photos import MAX_PHOTOS_PER_UPDATE, PhotoRejected
from khgeo.services.zones import get_zone
from khgeo.web.updates import number_locale

bp = Blueprint("parcels", __name__)


def zone_section(zone: Zone) -> dict | None:
    """The zone page's parcels section (None when the zone has no parcels): a fixed number of queries."""
    if not zone.parcel_count:
        return None
    session = get_session()
    day = today()
    stalled_days = current_app.config["KHGEO_PARCEL_STALLED_DAYS"]
    overdue_count, overdue = queries.overdue_parcels(session, zone, day)
    stalled_count, stalled = queries.stalled_parcels(session, zone, day, stalled_days)
    return {
        "pipeline": queries.pipeline(session, zone),
        "overdue": overdue,
        "overdue_count": overdue_count,
        "stalled": stalled,
        "stalled_count": stalled_count,
        "stalled_days": stalled_days,
        "progress": queries.progress(session, zone),
        "stages": PARCEL_STAGE,
        "can_open": authz.sees_people(current_user),
        "can_update": authz.can_update_parcel(current_user, zone),
        "illustrative": queries.has_illustrative(session, zone),
    }


@bp.get("/parcels")
def search_page():
    session = get_session()
    q = request.args.get("q", "")
    zone = get_zone(session, request.args["zone"], with_tasks=False) if request.args.get("zone") else None
    found = queries.search(session, q, zone)
    return render_template("parcels/search.html", q=q, zone=zone, found=found)


def _render_parcel(uid: str, *, errors=None, message=None, values=None, status=200):
    session = get_session()
    parcel = queries.get_parcel(session, uid)
    personal = authz.sees_land_users(current_user, parcel.zone)
    if personal:
        privacy.record_view(
            session, current_user, [parcel.uid], channel="web", remote_addr=request.remote_addr or ""
        )
        session.commit()
        parcel = queries.get_parcel(session, uid)
    running = timers.running(timers.active_timers(session), parcel, today())
    can_update = authz.can_update_parcel(current_user, parcel.zone)
    current = stages.stage_index(parcel.stage)
    return render_template(
        "parcels/parcel.html",
        parcel=parcel,
        personal=personal,
        masked=privacy.mask_land_user(parcel.land_user_name),
        running=running,
        events=queries.events(session, parcel),
        steps=sorted(parcel.steps, key=lambda s: PARCEL_STAGES.index(s.stage)),
        stages=PARCEL_STAGE,
        forward=PARCEL_STAGES[current + 1 :],
        backward=PARCEL_STAGES[:current],
        can_update=can_update,
        is_admin=authz.is_admin(current_user),
        errors=errors or {},
        message=message,
        values=values or {"date": today().isoformat()},
        today=today(),
        request_id=str(uuid.uuid4()),
        max_photos=MAX_PHOTOS_PER_UPDATE,
        author=lambda user: authz.author_label(current_user, user),
    ), status


@bp.get("/parcels/<uid>")
def parcel_page(uid: str):
    return _render_parcel(uid)


FORM_FIELDS = (
    "stage",
    "date",
    "document_number",
    "document_date",
    "document_signer",
    "note",
    "correction_reason",
)


@bp.post("/parcels/<uid>/stage")
def parcel_stage(uid: str):
    session = get_session()
    parcel = queries.get_parcel(session, uid)
    authz.require(authz.can_update_parcel(current_user, parcel.zone), current_user)
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    if not request.form.get("correction"):
        values["correction_reason"] = ""
    elif not values["correction_reason"].strip():
        return _render_parcel(
            uid, errors={"correction_reason": _("Say why the stage is corrected.")}, values=values, status=422
        )
    try:
        change = stages.parse_change(values, today())
    except ValidationFailed as exc:
        return _render_parcel(
            uid, errors={k: str(v) for k, v in exc.errors.items()}, values=values, status=422
        )
    if change.correction:
        authz.require(authz.is_admin(current_user), current_user)
    try:
        photos = updates.process_uploads(
            [
                (upload.read(), upload.filename)
                for upload in request.files.getlist("photos")
                if upload and upload.filename
            ]
        )
    except PhotoRejected as exc:
        return _render_parcel(uid, errors={"photos": str(exc.message)}, values=values, status=422)
    version = request.form.get("version", "")
    try:
        request_key = uuid.UUID(request.form.get("request_id", ""))
    except ValueError:
        request_key = None
    result = stages.apply_stage(
        session,
        current_user,
        [(parcel.uid, int(version) if version.isdigit() else -1)],
        change,
        today=today(),
        request_key=request_key,
        channel="web",
        remote_addr=request.remote_addr or "",
    )
    if result.conflicts:
        session.rollback()
        return _render_parcel(uid, message=str(result.conflicts[0]["reason"]), values=values, status=409)
    if result.saved and not result.replayed:
        stages.attach_photos(session, parcel.uid, result.saved[0]["version"], photos)
    session.commit()
    flash(
        _("Saved: the parcel is now at the stage %(stage)s.", stage=PARCEL_STAGE.label(change.stage)),
        "success",
    )
    return redirect(url_for("parcels.parcel_page", uid=parcel.uid))


@bp.post("/parcels/<uid>/facts")
def parcel_facts(uid: str):
    """Flags and amounts, from the parcel page (a checkbox absent from the form is off)."""
    session = get_session()
    parcel = queries.get_parcel(session, uid)
    authz.require(authz.can_update_parcel(current_user, parcel.zone), current_user)
    data = {name: request.form.get(name, "") for name in facts.FLAGS + facts.AMOUNTS}
    try:
        values = facts.parse_facts(data, locale=number_locale())
    except ValidationFailed as exc:
        return _render_parcel(uid, errors={k: str(v) for k, v in exc.errors.items()}, status=422)
    version = request.form.get("version", "")
    try:
        changed = facts.set_facts(
            session,
            current_user,
            parcel,
            values,
            expected_version=int(version) if version.isdigit() else -1,
            note=request.form.get("note", ""),
        )
    except facts.FactsConflict as exc:
        return _render_parcel(uid, message=str(exc.message), status=409)
    session.commit()
    flash(_("Saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("parcels.parcel_page", uid=uid))


# -- the board's timers ------------------------------------------------------------------------------------------
@bp.get("/admin/parcel-timers")
def timers_page():
    authz.require(authz.is_admin(current_user), current_user)
    return _render_timers()


def _render_timers(errors=None, editing=None, status=200):
    session = get_session()
    rows = timers.all_timers(session)
    return render_template(
        "parcels/timers.html",
        rows=rows,
        stages=PARCEL_STAGE,
        stage_keys=PARCEL_STAGES,
        kinds=codes.TIMER_KIND,
        conditions=codes.TIMER_CONDITION,
        errors=errors or {},
        editing=editing,
    ), status


@bp.post("/admin/parcel-timers/<int:timer_id>")
def timer_save(timer_id: int):
    authz.require(authz.is_admin(current_user), current_user)
    session = get_session()
    timer = timers.get_timer(session, timer_id)
    if timer is None:
        raise NotFound(_("No such timer."))
    data = {name: request.form.get(name, "") for name in timers.TIMER_FIELDS}
    data["active"] = bool(request.form.get("active"))
    try:
        timers.save_timer(session, timer, data, current_user)
    except ValidationFailed as exc:
        session.rollback()
        return _render_timers({k: str(v) for k, v in exc.errors.items()}, editing=timer_id, status=422)
    session.commit()
    flash(_("The timer is saved."), "success")
    return redirect(url_for("parcels.timers_page"))


# -- stage updates from a spreadsheet: upload → preview → apply ----------------------------------------------------
def _sheet_zone(code: str):
    zone = get_zone(get_session(), code, with_tasks=False)
    authz.require(authz.can_update_parcel(current_user, zone), current_user)
    return zone


@bp.get("/zones/<code>/parcels/stages")
def stages_upload(code: str):
    zone = _sheet_zone(code)
    return render_template("parcels/stages_upload.html", zone=zone, result=None, errors={})


@bp.post("/zones/<code>/parcels/stages")
def stages_preview(code: str):
    zone = _sheet_zone(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template(
            "parcels/stages_upload.html", zone=zone, result=None, errors={"file": _("Choose a file.")}
        ), 422
    suffix = Path(upload.filename).suffix.lower()
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        upload.save(handle.name)
        try:
            result = sheet.read_rows(Path(handle.name), upload.filename)
        except ImportFileError as exc:
            return _sheet_refused(zone, {"file": str(exc.message)})
        except ValidationFailed as exc:
            return _sheet_refused(zone, {k: str(v) for k, v in exc.errors.items()})
    session = get_session()
    sheet.apply_rows(session, zone, current_user, result, today=today(), dry_run=True)
    session.rollback()
    return _render_sheet(zone, result, preview=True)


def _sheet_refused(zone, errors: dict):
    """The upload form again with what was wrong (422): nothing was written."""
    return render_template("parcels/stages_upload.html", zone=zone, result=None, errors=errors), 422


def _render_sheet(zone, result, *, preview: bool):
    rows_json = json.dumps([{"line": row.line, **row.values} for row in result.rows], ensure_ascii=False)
    return render_template(
        "parcels/stages_upload.html",
        zone=zone,
        result=result,
        preview=preview,
        rows_json=rows_json,
        stages=PARCEL_STAGE,
        errors={},
    )


@bp.post("/zones/<code>/parcels/stages/apply")
def stages_apply(code: str):
    zone = _sheet_zone(code)
    try:
        values = json.loads(request.form.get("rows", "[]"))
    except ValueError:
        values = None
    if not isinstance(values, list) or not values:
        return _sheet_refused(zone, {"file": _("Choose a file.")})
    try:
        result = sheet.rows_from_values(values)
    except ValidationFailed as exc:
        return _sheet_refused(zone, {k: str(v) for k, v in exc.errors.items()})
    session = get_session()
    sheet.apply_rows(session, zone, current_user, result, today=today(), dry_run=False)
    session.commit()
    return _render_sheet(zone, result, preview=False)
