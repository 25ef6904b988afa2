"""The reporting cycle: the board's overview, an agency's yearly report, the consolidated report download."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo.clock import today, tracking_start
from khgeo.db import get_session
from khgeo.errors import BadRequest, ValidationFailed
from khgeo.numbers import NumberError, parse_int
from khgeo.services import authz
from khgeo.services.reports import cycle as reporting
from khgeo.services.reports import data as report_data
from khgeo.services.reports.docx import render_docx
from khgeo.services.reports.xlsx import render_xlsx
from khgeo.web import bp
from khgeo.web.documents import heavy_document
from khgeo.web.download import attachment
from khgeo.web.forms import CsrfForm

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(raw: str | None) -> int:
    if not raw:
        return today().year
    message = _("The year must be a number such as 2026.")
    if not raw.isdigit():  # plain digits only: "2.026" is not a year
        raise BadRequest(message, field="year")
    try:  # the bounded parser: a 5000-digit "year" is a 400, not a 500 from int()
        return parse_int(raw, minimum=1, maximum=9999)
    except NumberError:
        raise BadRequest(message, field="year") from None


@bp.get("/reports")
def reports_board():
    session = get_session()
    year = _year(request.args.get("year"))
    cycle = reporting.cycle_status(session, year, today())
    # an agency's user comes here to write their own report: that comes first; the board consolidates
    own = next(
        (s for s in cycle.agencies if getattr(current_user, "agency_id", None) == s.agency.id),
        None,
    )
    return render_template(
        "reports/board.html",
        cycle=cycle,
        own=own if own is not None and authz.can_submit_report(current_user, own.agency) else None,
        is_board=authz.is_admin(current_user),
        today=today(),
        years=range(reporting.FIRST_YEAR, today().year + 2),
        agency_days=cycle.days_to(cycle.agency_deadline, today()),
        board_days=cycle.days_to(cycle.board_deadline, today()),
    )


@bp.route("/reports/<int:year>/<agency_code>", methods=["GET", "POST"])
def agency_report(year: int, agency_code: str):
    session = get_session()
    agency = reporting.get_agency(session, agency_code)
    authz.require(authz.can_read_agency_report(current_user, agency), current_user)
    reporting.check_year(year, today())
    tasks = reporting.agency_tasks(session, agency)
    report = reporting.get_report(session, agency, year)
    can_submit = authz.can_submit_report(current_user, agency)
    form = CsrfForm()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        authz.require(can_submit, current_user)
        if not form.validate_on_submit():
            abort(400)
        upload = request.files.get("attachment")
        attachment = (
            (upload.read(reporting.MAX_ATTACHMENT_BYTES + 1), upload.filename)
            if upload and upload.filename
            else None
        )
        items = {task.id: request.form.get(f"item-{task.id}", "") for task in tasks}
        try:
            reporting.submit_report(
                session,
                agency,
                year,
                current_user,
                summary=request.form.get("summary", ""),
                items=items,
                attachment=attachment,
                today=today(),
            )
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            session.commit()
            flash(_("Report submitted."), "success")
            return redirect(url_for("web.agency_report", year=year, agency_code=agency.code), 303)
    if request.method == "POST":
        texts = items  # what was typed, shown again with the messages
    else:
        texts = {item.task_id: item.text for item in report.items} if report else {}
    return render_template(
        "reports/agency.html",
        agency=agency,
        year=year,
        tasks=tasks,
        report=report,
        texts=texts,
        form=form,
        errors=errors,
        can_submit=can_submit,
        deadline=reporting.agency_deadline(session, year),
        today=today(),
        summary=request.form.get("summary", report.summary if report else ""),
    ), status


@bp.get("/reports/<int:year>/<agency_code>/attachment")
def report_attachment(year: int, agency_code: str):
    session = get_session()
    agency = reporting.get_agency(session, agency_code)
    authz.require(authz.can_read_agency_report(current_user, agency), current_user)
    report = reporting.get_report(session, agency, year)
    if report is None or report.attachment is None:
        abort(404)
    return attachment(
        report.attachment,
        content_type=report.attachment_type or "application/octet-stream",
        name=report.attachment_name or f"bao-cao-{agency_code}-{year}",
    )


@bp.get("/reports/<int:year>/consolidated.<fmt>")
@heavy_document("consolidated", authz.can_read_consolidated_report)
def consolidated_report(year: int, fmt: str):
    if fmt not in ("docx", "xlsx"):
        abort(404)
    data = report_data.gather(get_session(), year, today(), tracking_start())
    body, mimetype = (render_docx(data), DOCX) if fmt == "docx" else (render_xlsx(data), XLSX)
    return attachment(body, content_type=mimetype, name=f"bao-cao-nq24-{year}.{fmt}")
