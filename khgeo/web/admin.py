"""The zone board's pages: the audit log (HTML and CSV) and failed logins."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user

from khgeo.app import get_session
from khgeo.services import audit, authz, throttle
from khgeo.web import bp


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
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="khgeo-audit.csv"'
    return response


@bp.get("/admin/logins")
def failed_logins():
    authz.require(authz.is_admin(current_user), current_user)
    db_session = get_session()
    return render_template(
        "admin/logins.html",
        attempts=throttle.recent_failures(db_session),
        delays=throttle.current_delays(db_session),
        pair_limit=throttle.PAIR_LIMIT,
        address_limit=throttle.ADDRESS_LIMIT,
    )
