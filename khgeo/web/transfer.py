"""Downloads of the zones (every format, the map's filters) and the admins' import: upload → preview → apply.

An upload is kept between the preview and the apply in the database (import_uploads, under a random token),
usable only by the admin who uploaded it, so the apply may reach any app instance; it is removed once applied
or after a day. The
apply re-reads the file, plans again and refuses if the plan differs from the preview (the fingerprint).
"""

from __future__ import annotations

import logging
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.exceptions import RequestEntityTooLarge

from khgeo.clock import today
from khgeo.db import get_session
from khgeo.errors import KhgeoError
from khgeo.errors_web import error_response
from khgeo.geo.reprojection import crs_options
from khgeo.jinja import FIELD_LABELS
from khgeo.models import ImportUpload
from khgeo.services import authz
from khgeo.services.geometry import VertexLimits
from khgeo.services.interop import staging as import_staging
from khgeo.services.interop.export import FORMATS, download_name, export_zones
from khgeo.services.interop.files import read_source
from khgeo.services.interop.import_apply import apply_import
from khgeo.services.interop.import_plan import plan_import
from khgeo.services.interop.import_types import PlanChanged
from khgeo.services.interop.source import ACCEPTED_SUFFIXES, ImportFileError, LayerChoiceNeeded
from khgeo.services.zones import parse_filter
from khgeo.web import bp
from khgeo.web.download import attachment

log = logging.getLogger(__name__)

ENCODINGS = (
    ("", _l("Automatic (UTF-8, or the Shapefile's .cpg)")),
    ("cp1258", _l("Windows Vietnamese (cp1258)")),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252"),
    ("latin-1", "ISO-8859-1"),
)
# the zone fields' names as the history shows them, plus what only an import preview needs
FIELD_TITLES = {
    **FIELD_LABELS,
    "geometry": _l("Outline area (ha)"),
    "ignored": _l("(recognised, not imported)"),
}
MATCHED_BY = {"code": _l("code"), "name": _l("name"), "alias": _l("other name")}


# -- downloads --------------------------------------------------------------------------------------------------
@bp.get("/export/zones.<fmt>")
def export_download(fmt: str):
    if fmt not in FORMATS:
        raise HTTPNotFound()
    authz.require(authz.can_export(current_user, current_app.config["KHGEO_PUBLIC_READ"]), current_user)
    session = get_session()
    zone_filter = parse_filter(session, request.args)
    export = export_zones(session, zone_filter, fmt)
    extension = export.format.filename.split(".", 1)[1]
    return attachment(
        export.body,
        content_type=export.format.mimetype,
        name=download_name(session, zone_filter, extension),
    )


# -- import -----------------------------------------------------------------------------------------------------
def _require_admin() -> None:
    authz.require(authz.is_admin(current_user), current_user)


def _display_name(raw: str) -> str:
    """The uploaded file's own name, for history and the preview: no folders, NFC, at most 200 characters."""
    name = PurePosixPath(raw.replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name[-200:] or "upload"


def _stage(upload) -> str:
    name = _display_name(upload.filename)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise ImportFileError(
            _l(
                "Unsupported file type %(suffix)s: use GeoJSON, a zipped Shapefile, GeoPackage, KML/KMZ, CSV or XLSX.",
                suffix=suffix or "(none)",
            )
        )
    session = get_session()
    token = import_staging.stage_upload(session, current_user.id, name, suffix, upload.read())
    session.commit()
    return token


def _staged(token: str) -> ImportUpload:
    row = import_staging.staged_upload(get_session(), token)
    if row is None:
        raise KhgeoError(_l("The uploaded file is no longer available: upload it again."), status=410)
    if row.user_id != current_user.id:
        raise authz.Forbidden()
    return row


def _read_staged(row: ImportUpload, options: dict):
    """Read the staged upload through a private temporary file (the readers want a path)."""
    with tempfile.TemporaryDirectory(prefix="khgeo-import-") as folder:
        path = Path(folder) / f"upload{row.suffix}"
        path.write_bytes(row.content)
        return read_source(
            path, file_name=row.file_name, layer=options["layer"], encoding=options["encoding"]
        )


def _discard(token: str) -> None:
    session = get_session()
    import_staging.discard_upload(session, token)
    session.commit()


def _options() -> dict:
    return {
        "crs": (request.form.get("crs") or "").strip() or None,
        "layer": (request.form.get("layer") or "").strip() or None,
        "encoding": (request.form.get("encoding") or "").strip() or None,
    }


def _form_page(*, error=None, status: int = 200, token: str | None = None, file_name: str = "", layers=()):
    return render_template(
        "transfer/import.html",
        error=error,
        token=token,
        file_name=file_name,
        layers=list(layers),
        options=_options() if request.method == "POST" else {},
        crs_options=crs_options(),
        encodings=ENCODINGS,
        accept=",".join(ACCEPTED_SUFFIXES),
        max_mb=current_app.config["MAX_CONTENT_LENGTH"] // 2**20,
    ), status


@bp.route("/admin/import", methods=["GET", "POST"])
def import_page():
    _require_admin()
    if request.method == "GET":
        return _form_page()
    token = request.form.get("token") or None
    upload = request.files.get("upload")
    try:
        if upload is not None and upload.filename:
            if token:
                _discard(token)
            token = _stage(upload)
        elif not token:
            raise ImportFileError(_l("Choose a file to import."))
        staged = _staged(token)
        meta = {"file_name": staged.file_name}
        options = _options()
        source = _read_staged(staged, options)
        session = get_session()
        plan = plan_import(session, source, crs=options["crs"], today=today(), limits=_vertex_limits())
        session.rollback()
    except LayerChoiceNeeded as exc:
        return _form_page(
            error=exc.message, status=422, token=token, file_name=meta["file_name"], layers=exc.layers
        )
    except ImportFileError as exc:
        # the CRS, layer or encoding can be chosen for the staged file; anything else needs another file
        keep = exc.field in ("crs", "layer", "encoding") and token is not None
        if not keep and token:
            _discard(token)
        return _form_page(
            error=exc.message,
            status=422,
            token=token if keep else None,
            file_name=meta["file_name"] if keep else "",
        )
    return render_template(
        "transfer/preview.html",
        plan=plan,
        token=token,
        options=options,
        titles=FIELD_TITLES,
        matched=MATCHED_BY,
    )


def _vertex_limits() -> VertexLimits:
    return VertexLimits.from_settings(current_app.config)


@bp.post("/admin/import/apply")
def import_apply():
    _require_admin()
    token = request.form.get("token", "")
    staged = _staged(token)
    meta = {"file_name": staged.file_name}
    options = _options()
    session = get_session()
    try:
        source = _read_staged(staged, options)
        plan = apply_import(
            session,
            source,
            user=current_user,
            today=today(),
            crs=options["crs"],
            expected_fingerprint=request.form.get("fingerprint", ""),
            channel="web",
            limits=_vertex_limits(),
        )
        session.commit()
    except PlanChanged as exc:
        session.rollback()
        return _form_page(error=exc.message, status=409, token=token, file_name=meta["file_name"])
    except KhgeoError:
        session.rollback()
        raise
    _discard(token)
    counts = plan.counts
    flash(
        _(
            "Imported %(file)s: %(created)d zones created, %(updated)d updated, %(unchanged)d unchanged, %(rejected)d rejected.",
            file=plan.file_name,
            created=counts["create"],
            updated=counts["update"],
            unchanged=counts["unchanged"],
            rejected=counts["rejected"],
        ),
        "success",
    )
    return redirect(url_for("web.import_page"), 303)


@bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_exc: RequestEntityTooLarge):
    if request.endpoint != "web.import_page":
        return error_response(413, _("The upload is too large."))
    limit = current_app.config["MAX_CONTENT_LENGTH"] // 2**20
    message = _(
        "The file is larger than %(limit)d MB, the most a browser upload may carry. Zip it (a zipped Shapefile is "
        "much smaller), split it, or import it on the server with the command `khgeo import`.",
        limit=limit,
    )
    return render_template("error.html", status=413, message=message), 413
