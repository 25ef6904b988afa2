"""Admins edit a zone's facts in the browser: add a zone, "Sửa thông tin khu", retire and restore.

Thin: the form's fields become the same values PATCH /api/zones takes and khgeo.services.zone_info checks and
applies them (one validation, one history entry and audit event per save).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo.db import get_session
from khgeo.errors import ValidationFailed
from khgeo.models import OPERATING_STATUSES, ZONE_KINDS
from khgeo.services import authz, zone_info
from khgeo.services.admin_units import list_agencies, list_districts
from khgeo.services.sources import catalogue
from khgeo.services.updates import VersionConflict
from khgeo.services.zones import get_zone
from khgeo.web import bp
from khgeo.web.forms import CsrfForm
from khgeo.web.updates import number_locale

# form fields, in the order of the form; "note" says why (kept in the history entry)
FORM_FIELDS = (
    "kind",
    "name",
    "code",
    "aliases",
    "developer",
    "managing_agency",
    "operating_status",
    "stated_area_ha",
    "district",
    "communes",
    "notes",
)
SOURCE_PREFIX = "source_"


def _require_admin() -> None:
    authz.require(authz.is_admin(current_user), current_user)


def _current(zone) -> dict[str, str]:
    """The zone's facts as the form shows them (what the form sends back unchanged)."""
    values = {
        "kind": zone.kind,
        "name": zone.name,
        "code": zone.code,
        "aliases": "\n".join(zone.aliases or []),
        "developer": zone.developer or "",
        "managing_agency": zone.managing_agency.code if zone.managing_agency else "",
        "operating_status": zone.operating_status or "",
        "stated_area_ha": "" if zone.stated_area_ha is None else str(zone.stated_area_ha),
        "district": zone.district.code if zone.district else "",
        "communes": "; ".join(zone.communes or []),
        "notes": zone.notes or "",
        "note": "",
    }
    for fact in zone_info.SOURCE_FIELDS:
        values[SOURCE_PREFIX + fact] = "; ".join((zone.sources or {}).get(fact, []))
    return values


def _submitted() -> dict[str, str]:
    names = (*FORM_FIELDS, "note", *(SOURCE_PREFIX + fact for fact in zone_info.SOURCE_FIELDS))
    return {name: request.form.get(name, "") for name in names}


def _data(submitted: dict[str, str]) -> dict:
    """The submitted form as the values PATCH /api/zones takes."""
    data = {name: submitted[name] for name in FORM_FIELDS}
    data["sources"] = {fact: submitted[SOURCE_PREFIX + fact] for fact in zone_info.SOURCE_FIELDS}
    return data


def _render(zone, form, values, *, errors=None, conflict=None, status=200):
    session = get_session()
    errors = dict(errors or {})
    for key in [k for k in errors if k.startswith("sources.")]:  # the form shows them next to each source
        errors[SOURCE_PREFIX + key.removeprefix("sources.")] = errors.pop(key)
    return render_template(
        "zones/edit.html",
        zone=zone,
        form=form,
        values=values,
        errors=errors,
        conflict=conflict,
        kinds=ZONE_KINDS,
        operating_statuses=OPERATING_STATUSES,
        districts=list_districts(session),
        agencies=list_agencies(session),
        known_sources=catalogue(),
        source_fields=zone_info.SOURCE_FIELDS,
        version=conflict.version
        if conflict is not None
        else request.form.get("version", zone and zone.version),
    ), status


def _checked_form() -> CsrfForm:
    form = CsrfForm()
    if request.method == "POST" and not form.validate_on_submit():  # CSRF
        abort(400)
    return form


@bp.route("/zones/new", methods=["GET", "POST"])
def zone_create():
    _require_admin()
    form = _checked_form()
    if request.method == "GET":
        values = {"kind": request.args.get("kind", "").upper()}
        return _render(None, form, values)
    session = get_session()
    submitted = _submitted()
    lookups = zone_info.info_lookups(session)
    try:
        values = zone_info.validate_info(_data(submitted), lookups, creating=True, locale=number_locale())
        zone = zone_info.create_zone(
            session,
            current_user,
            values,
            lookups,
            note=submitted["note"].strip(),
            channel="web",
            remote_addr=request.remote_addr or "",
        )
    except ValidationFailed as exc:
        session.rollback()
        return _render(None, form, submitted, errors=exc.errors, status=422)
    session.commit()
    flash(_("The zone was added."), "success")
    return redirect(url_for("web.zone_page", code=zone.code), 303)


@bp.route("/zones/<code>/edit", methods=["GET", "POST"])
def zone_edit(code: str):
    _require_admin()
    session = get_session()
    zone = get_zone(session, code, with_tasks=False)
    form = _checked_form()
    if request.method == "GET":
        return _render(zone, form, _current(zone))
    submitted = _submitted()
    try:
        saved = zone_info.save_info_update(
            session,
            zone,
            current_user,
            _data(submitted),
            expected_version=_form_version(),
            note=submitted["note"].strip(),
            locale=number_locale(),
            channel="web",
            remote_addr=request.remote_addr or "",
        )
    except ValidationFailed as exc:
        return _render(zone, form, submitted, errors=exc.errors, status=422)
    except VersionConflict as exc:
        return _render(exc.zone, form, submitted, conflict=exc.zone, status=409)
    session.commit()
    flash(_("Saved.") if saved.entry is not None else _("Nothing changed."), "success")
    return redirect(url_for("web.zone_page", code=zone.code), 303)


def _form_version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400)


def _set_retired(code: str, retired: bool):
    _require_admin()
    session = get_session()
    zone = get_zone(session, code, with_tasks=False)
    _checked_form()
    version = _form_version()
    try:
        zone_info.apply_info_update(
            session,
            zone,
            current_user,
            expected_version=version,
            values={"retired": retired},
            note=request.form.get("note", "").strip(),
            channel="web",
            remote_addr=request.remote_addr or "",
        )
    except VersionConflict:
        flash(
            _("Someone saved this zone after you opened it. Check the current values and redo your change."),
            "error",
        )
        return redirect(url_for("web.zone_page", code=zone.code), 303)
    session.commit()
    flash(_("The zone is no longer monitored.") if retired else _("The zone is monitored again."), "success")
    return redirect(url_for("web.zone_page", code=zone.code), 303)


@bp.post("/zones/<code>/retire")
def zone_retire(code: str):
    return _set_retired(code, True)


@bp.post("/zones/<code>/restore")
def zone_restore(code: str):
    return _set_retired(code, False)


@bp.get("/admin/zones/retired")
def retired_zones():
    _require_admin()
    return render_template(
        "admin/retired_zones.html", zones=zone_info.retired_zones(get_session()), form=CsrfForm()
    )
