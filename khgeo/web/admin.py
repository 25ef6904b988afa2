"""The zone board's pages: the audit log (HTML and CSV)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from khgeo.app import get_session
from khgeo.services import audit, authz
from khgeo.services.exporter import CSV_CONTENT_TYPE
from khgeo.text import file_name
from khgeo.web import bp
from khgeo.web.download import attachment


def _events(limit: int | None):
    authz.require(authz.is_admin(current_user), current_user)
    return audit.list_events(
        get_session(),
        entity_type=request.args.get("entity_type") or None,
        entity_id=request.args.get("entity_id") or None,
        username=request.args.get("username") or None,
        limit=limit,
    )


@bp.get("/admin/audit")
def audit_log():
    return render_template("admin/audit.html", events=_events(limit=500), args=request.args)


@bp.get("/admin/audit.csv")
def audit_csv():
    body = "\ufeff" + audit.to_csv(_events(limit=None))  # BOM: Excel opens UTF-8 Vietnamese correctly
    # the name says what was filtered: nhat-ky-user-lan.csv
    filters = [request.args.get(key, "").strip() for key in ("entity_type", "entity_id", "username")]
    name = file_name(" ".join(["nhật ký", *filter(None, filters)]))[:120] + ".csv"
    return attachment(body, content_type=CSV_CONTENT_TYPE, name=name)
