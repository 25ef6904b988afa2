"""Parcels in and out: the admins' cadastral import (upload → preview → apply, the zones' staged-upload mechanism of
khgeo/web/transfer.py) and a zone's parcels as GeoPackage, XLSX or GeoJSON (land users only for those
authz.sees_land_users allows; every such download audited)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound as HTTPNotFound

from khgeo.db import get_session
from khgeo.errors import KhgeoError
from khgeo.geo.reprojection import crs_options
from khgeo.services import authz
from khgeo.services.geometry import VertexLimits
from khgeo.services.interop.files import ImportFileError, LayerChoiceNeeded
from khgeo.services.parcels import exporting
from khgeo.services.parcels.import_types import ParcelPlanChanged
from khgeo.services.parcels.importing import apply_parcel_import, plan_parcel_import
from khgeo.services.zones import get_zone, list_zones
from khgeo.web import transfer
from khgeo.web.download import attachment

bp = Blueprint("parcels_transfer", __name__)

ACCEPT = ".zip,.gpkg,.geojson,.json"
PREVIEW_ROWS = 500  # rows listed per section of the preview; the counts cover them all
FIELD_TITLES = {
    "sheet": _l("Map sheet (số tờ)"),
    "number": _l("Parcel number (số thửa)"),
    "old_sheet": _l("Old map sheet"),
    "old_number": _l("Old parcel number"),
    "legal_area_m2": _l("Legal area (m²)"),
    "area_m2": _l("Area of the outline (m²)"),
    "commune_code": _l("Commune code (2025)"),
    "land_type": _l("Land type"),
    "land_user_kind": _l("Land user kind"),
    "land_user_name": _l("Land user"),
    "address": _l("Address"),
    "households": _l("Households affected"),
    "people": _l("People affected"),
    "uid": _l("Parcel identifier"),
    "zone": _l("Zone"),
}


def _options() -> dict:
    form = request.form
    return {
        "crs": (form.get("crs") or "").strip() or None,
        "layer": (form.get("layer") or "").strip() or None,
        "encoding": (form.get("encoding") or "").strip() or None,
        "zone": (form.get("zone") or "").strip() or None,
    }


def _zones() -> list[tuple[str, str]]:
    return [(zone.code, f"{zone.kind} {zone.name}") for zone in list_zones(get_session())]


def _form_page(*, error=None, status: int = 200, token: str | None = None, file_name: str = "", layers=()):
    return render_template(
        "parcels/import.html",
        error=error,
        token=token,
        file_name=file_name,
        layers=list(layers),
        options=_options() if request.method == "POST" else {},
        crs_options=crs_options(),
        encodings=transfer.ENCODINGS,
        zones=_zones(),
        accept=ACCEPT,
        max_mb=current_app.config["MAX_CONTENT_LENGTH"] // 2**20,
    ), status


def _limits() -> VertexLimits:
    return VertexLimits.from_settings(current_app.config)


@bp.route("/admin/parcels/import", methods=["GET", "POST"])
def import_page():
    authz.require(authz.is_admin(current_user), current_user)
    if request.method == "GET":
        return _form_page()
    token = request.form.get("token") or None
    upload = request.files.get("upload")
    file_name = ""
    try:
        if upload is not None and upload.filename:
            if token:
                transfer.discard_staged(token)
            token = transfer.stage_file(upload)
        elif not token:
            raise ImportFileError(_l("Choose a file to import."))
        staged = transfer.staged_file(token)
        file_name = staged.file_name
        options = _options()
        source = transfer.read_staged(staged, options)
        session = get_session()
        plan = plan_parcel_import(
            session, source, crs=options["crs"], zone_code=options["zone"], limits=_limits()
        )
        session.rollback()
    except LayerChoiceNeeded as exc:
        return _form_page(error=exc.message, status=422, token=token, file_name=file_name, layers=exc.layers)
    except ImportFileError as exc:
        keep = exc.field in ("crs", "layer", "encoding", "zone") and token is not None
        if not keep and token:
            transfer.discard_staged(token)
        return _form_page(
            error=exc.message, status=422, token=token if keep else None, file_name=file_name if keep else ""
        )
    return render_template(
        "parcels/import_preview.html",
        plan=plan,
        token=token,
        options=options,
        titles=FIELD_TITLES,
        limit=PREVIEW_ROWS,
    )


@bp.post("/admin/parcels/import/apply")
def import_apply():
    authz.require(authz.is_admin(current_user), current_user)
    token = request.form.get("token", "")
    staged = transfer.staged_file(token)
    file_name = staged.file_name
    options = _options()
    session = get_session()
    try:
        source = transfer.read_staged(staged, options)
        plan = apply_parcel_import(
            session,
            source,
            user=current_user,
            crs=options["crs"],
            zone_code=options["zone"],
            expected_fingerprint=request.form.get("fingerprint", ""),
            channel="web",
            limits=_limits(),
        )
        session.commit()
    except ParcelPlanChanged as exc:
        session.rollback()
        return _form_page(error=exc.message, status=409, token=token, file_name=file_name)
    except KhgeoError:
        session.rollback()
        raise
    transfer.discard_staged(token)
    counts = plan.counts
    flash(
        _(
            "Imported %(file)s: %(created)d parcels created, %(updated)d updated, %(unchanged)d unchanged, "
            "%(rejected)d rejected.",
            file=plan.file_name,
            created=counts["create"],
            updated=counts["update"],
            unchanged=counts["unchanged"],
            rejected=counts["rejected"],
        ),
        "success",
    )
    return redirect(url_for("parcels_transfer.import_page"), 303)


@bp.get("/zones/<code>/parcels.<fmt>")
def export_download(code: str, fmt: str):
    if fmt not in exporting.FORMATS:
        raise HTTPNotFound()
    authz.require(authz.can_export_parcels(current_user), current_user)
    session = get_session()
    zone = get_zone(session, code, with_tasks=False)
    export = exporting.export_parcels(
        session,
        zone,
        fmt,
        user=current_user,
        personal=authz.sees_land_users(current_user, zone),
        channel="web",
    )
    session.commit()  # the audit event of an export with land users
    return attachment(export.body, content_type=export.format.mimetype, name=export.file_name)
