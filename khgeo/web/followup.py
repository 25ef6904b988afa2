"""Follow-up pages: the bell and the notifications list, notification settings (with the user's calendar), the
agency's calendar address and urging letter, the secret calendar feed, and the board's e-mail outbox."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from khgeo.clock import now, today, tracking_start
from khgeo.db import get_session
from khgeo.errors import ValidationFailed
from khgeo.models import NOTIFICATION_KINDS
from khgeo.services import authz
from khgeo.services.followup import calendars, mail, notifications
from khgeo.services.reports import cycle as reporting
from khgeo.web import bp
from khgeo.web.download import attachment
from khgeo.web.forms import CsrfForm

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.app_context_processor
def _bell() -> dict:
    """``unread_notifications()`` for the header's bell: counted only when a page shows the bell."""

    def unread() -> int:
        if not authz.can_read_notifications(current_user):
            return 0
        try:
            return notifications.unread_count(get_session(), current_user)
        except SQLAlchemyError:  # an error page about the database itself still renders its header
            return 0

    def agency_followup(agency) -> dict:
        """What the agency page offers this user: the calendar address (own users, the board), the letter (board)."""
        calendar = authz.can_manage_agency_followup(current_user, agency)
        return {
            "calendar": calendar,
            "feed": calendars.active_feed(get_session(), agency=agency) if calendar else None,
            "letter": authz.can_write_letters(current_user),
        }

    return {"unread_notifications": unread, "agency_followup": agency_followup}


def _base_url() -> str:
    return current_app.config.get("KHGEO_PUBLIC_URL") or request.url_root.rstrip("/")


@bp.get("/notifications")
def notifications_page():
    authz.require(authz.can_read_notifications(current_user), current_user)
    return render_template(
        "followup/list.html",
        items=notifications.user_notifications(get_session(), current_user),
        form=CsrfForm(),
    )


@bp.post("/notifications/read")
@bp.post("/notifications/<int:notification_id>/read")
def notification_read(notification_id: int | None = None):
    authz.require(authz.can_read_notifications(current_user), current_user)
    if not CsrfForm().validate_on_submit():
        abort(400)
    session = get_session()
    notifications.mark_read(session, current_user, notification_id, now())
    session.commit()
    return redirect(url_for("web.notifications_page"), 303)


def _calendar_created(secret: str, owner: str, back: str):
    response = current_app.make_response(
        render_template(
            "followup/calendar.html",
            url=_base_url() + url_for("web.calendar_feed", secret=secret),
            owner=owner,
            back=back,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once: no copy in any cache
    return response


@bp.route("/notifications/settings", methods=["GET", "POST"])
def notification_settings():
    authz.require(authz.can_read_notifications(current_user), current_user)
    session = get_session()
    form = CsrfForm()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        action = request.form.get("action", "save")
        if action in ("calendar-new", "calendar-revoke"):
            if action == "calendar-revoke":
                calendars.revoke_feeds(session, user=current_user, now=now())
                session.commit()
                flash(_("The calendar address no longer works."), "success")
                return redirect(url_for("web.notification_settings"), 303)
            secret = calendars.new_feed(session, user=current_user, now=now())
            session.commit()
            return _calendar_created(
                secret,
                current_user.display_name or current_user.username,
                url_for("web.notification_settings"),
            )
        channels = {
            kind: (request.form.get(f"app-{kind}") == "on", request.form.get(f"email-{kind}") == "on")
            for kind in NOTIFICATION_KINDS
        }
        try:
            notifications.save_settings(
                session,
                current_user,
                email=request.form.get("email", ""),
                channels=channels,
                stale_days=request.form.get("stale_days", ""),
            )
        except ValidationFailed as exc:
            session.rollback()
            errors, status = exc.errors, 400
        else:
            session.commit()
            flash(_("Notification settings saved."), "success")
            return redirect(url_for("web.notification_settings"), 303)
    return render_template(
        "followup/settings.html",
        form=form,
        rows=notifications.user_settings(session, current_user),
        email=request.form.get("email", current_user.email or "") if errors else (current_user.email or ""),
        errors=errors,
        feed=calendars.active_feed(session, user=current_user),
        mail_on=mail.SmtpSettings.from_settings(current_app.config) is not None,
    ), status


@bp.post("/agencies/<code>/calendar")
def agency_calendar(code: str):
    session = get_session()
    agency = reporting.get_agency(session, code)
    authz.require(authz.can_manage_agency_followup(current_user, agency), current_user)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if request.form.get("action") == "revoke":
        calendars.revoke_feeds(session, agency=agency, now=now())
        session.commit()
        flash(_("The calendar address no longer works."), "success")
        return redirect(url_for("web.agency_page", code=agency.code), 303)
    secret = calendars.new_feed(session, agency=agency, now=now())
    session.commit()
    return _calendar_created(secret, agency.name, url_for("web.agency_page", code=agency.code))


@bp.post("/agencies/<code>/contact")
def agency_contact(code: str):
    session = get_session()
    agency = reporting.get_agency(session, code)
    authz.require(authz.can_manage_agency_followup(current_user, agency), current_user)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        notifications.set_agency_contact(session, agency, request.form.get("contact_email", ""), current_user)
    except ValidationFailed as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(str(message), "error")
    else:
        session.commit()
        flash(_("The agency's reminder address is saved."), "success")
    return redirect(url_for("web.agency_page", code=agency.code), 303)


@bp.get("/calendar/<secret>.ics")
def calendar_feed(secret: str):
    session = get_session()
    feed = calendars.find_feed(session, secret)
    body = calendars.calendar_for(
        session, feed, today=today(), now=now(), tracking_start=tracking_start(), base_url=_base_url()
    )
    response = current_app.response_class(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/agencies/<code>/letter.docx")
def agency_letter(code: str):
    authz.require(authz.can_write_letters(current_user), current_user)
    from khgeo.services.followup import letters

    letter = letters.gather(get_session(), code, today(), tracking_start())
    return attachment(letters.render(letter, current_app.config), content_type=DOCX, name=letter.file_name)


@bp.get("/admin/outbox")
def outbox_page():
    authz.require(authz.can_read_outbox(current_user), current_user)
    smtp = mail.SmtpSettings.from_settings(current_app.config)
    return render_template(
        "followup/outbox.html",
        messages=mail.outbox(get_session()),
        smtp=smtp.describe() if smtp else "",
        public_url=current_app.config.get("KHGEO_PUBLIC_URL") or "",
    )
