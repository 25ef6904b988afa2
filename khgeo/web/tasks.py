"""The plan's task register, a task's page with its progress notes, and an agency's page."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo.clock import today, tracking_start
from khgeo.db import get_session
from khgeo.errors import ValidationFailed
from khgeo.models import TASK_STATUSES
from khgeo.services import authz
from khgeo.services import tasks as task_service
from khgeo.services.admin_units import list_agencies
from khgeo.services.indicators import get_indicator
from khgeo.services.reports import cycle as reporting
from khgeo.services.zones import ZoneFilter, list_zones, zone_bounds
from khgeo.text import parse_date
from khgeo.web import bp
from khgeo.web.forms import CsrfForm
from khgeo.web.maps import zones_overview_map


@bp.get("/tasks")
def task_register():
    session = get_session()
    task_filter = task_service.parse_task_filter(session, request.args)
    rows = task_service.list_tasks(session, task_filter, today(), tracking_start())
    agencies = list_agencies(session)
    zones = list_zones(session)
    return render_template(
        "tasks/list.html",
        rows=rows,
        task_filter=task_filter,
        agencies=agencies,
        sections=task_service.task_sections(session),
        zones=zones,
        statuses=task_service.STATUS_FILTERS,
        args=request.args,
        today=today(),
        soon_days=task_service.DUE_SOON_DAYS,
    )


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
def task_page(task_id: str):
    session = get_session()
    task = task_service.get_task(session, task_id)
    form = CsrfForm()
    errors: dict = {}
    status_code = 200
    if request.method == "POST":
        authz.require(authz.can_add_progress(current_user, task), current_user)
        if not form.validate_on_submit():
            abort(400)
        new_status = request.form.get("status") or None
        if new_status is not None and new_status != task.status:
            authz.require(authz.can_set_task_status(current_user, task), current_user)
        try:
            reported_on = _date(request.form.get("reported_on")) or today()
            task_service.add_progress(
                session,
                task,
                current_user,
                note=request.form.get("note", ""),
                status=new_status,
                reported_on=reported_on,
                today=today(),
            )
        except ValidationFailed as exc:
            errors, status_code = exc.errors, 422
        else:
            session.commit()
            flash(_("Progress recorded."), "success")
            return redirect(url_for("web.task_page", task_id=task.id), 303)
    row = task_service.task_row(session, task, today(), tracking_start())
    parts = None
    if task.zones:
        codes = [zone.code for zone in task.zones]
        parts = zones_overview_map(
            session, codes, get_indicator(None), zone_bounds(session, ZoneFilter(codes=tuple(codes)))
        )
    return render_template(
        "tasks/task.html",
        row=row,
        task=task,
        form=form,
        errors=errors,
        parts=parts,
        zone_list=task_service.task_zone_list(session, task),
        statuses=TASK_STATUSES,
        values=request.form if request.method == "POST" else {},
        today=today(),
        can_add_progress=authz.can_add_progress(current_user, task),
        can_set_status=authz.can_set_task_status(current_user, task),
    ), status_code


def _date(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return parse_date(raw)
    except ValueError:
        raise ValidationFailed({"reported_on": _("Enter a date as dd/mm/yyyy.")}) from None


@bp.get("/agencies/<code>")
def agency_page(code: str):
    session = get_session()
    agency = reporting.get_agency(session, code)
    rows = task_service.rows(session, reporting.agency_tasks(session, agency), today(), tracking_start())
    year = today().year
    report = reporting.get_report(session, agency, year)
    deadline = reporting.agency_deadline(session, year)
    return render_template(
        "tasks/agency.html",
        agency=agency,
        rows=rows,
        report=report,
        year=year,
        deadline=deadline,
        days_left=(deadline - today()).days,
        today=today(),
        can_submit=authz.can_submit_report(current_user, agency),
    )
