"""Admin pages for agencies over time: the successions recorded, and a form to record one (CSRF, admins only).

Thin: khgeo.services.units.succession checks and writes (the same rules as `khgeo agencies succeed`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo import codes
from khgeo.db import get_session
from khgeo.errors import BadRequest
from khgeo.services import authz
from khgeo.services.admin_units import list_agencies
from khgeo.services.units import succession
from khgeo.text import parse_date
from khgeo.web import bp
from khgeo.web.forms import CsrfForm


@bp.route("/admin/agencies/successions", methods=["GET", "POST"])
def agency_successions():
    authz.require(authz.is_admin(current_user), current_user)
    session = get_session()
    form = CsrfForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            try:
                effective = parse_date(request.form.get("effective", ""))
            except ValueError:
                raise BadRequest(_("Enter a date as dd/mm/yyyy."), field="effective") from None
            row = succession.succeed(
                session,
                request.form.get("old", ""),
                request.form.get("new", ""),
                effective,
                request.form.get("source", ""),
                kind=request.form.get("kind", "merged"),
                actor=current_user,
            )
        except BadRequest as exc:
            session.rollback()
            errors[exc.field or "old"] = str(exc.message)
            status = 422
        else:
            flash(_("%(new)s succeeds %(old)s.", new=row.successor.name, old=row.predecessor.name))
            session.commit()
            return redirect(url_for("web.agency_successions"), 303)
    return (
        render_template(
            "admin/successions.html",
            form=form,
            errors=errors,
            values=request.form,
            agencies=list_agencies(session),
            kinds=codes.SUCCESSION_KIND,
            successions=succession.list_successions(session),
        ),
        status,
    )
