"""Login, logout, and the user's own account page (password change, log out of all devices)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from khgeo.db import get_session
from khgeo.errors import BadRequest
from khgeo.security import SESSION_KEY, session_lifetime
from khgeo.services import accounts
from khgeo.services.audit import record

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))],
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a user to another host after login."""
    if not target:
        return url_for("web.map_page")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.map_page")
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        # CR/LF would break the Location header (a 500, or a split response); "/\\host" is "//host" to browsers
        return url_for("web.map_page")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        db_session = get_session()
        try:
            user = accounts.authenticate(
                db_session, form.username.data, form.password.data, request.remote_addr or ""
            )
        except accounts.TooManyAttempts as exc:
            flash(str(exc.message), "error")
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            _fresh_session()
            key = accounts.start_session(
                db_session,
                user,
                lifetime=session_lifetime(),
                remote_addr=request.remote_addr or "",
                user_agent=request.user_agent.string,
            )
            db_session.commit()
            login_user(user)
            session[SESSION_KEY] = key
            session.permanent = True
            # the new session's CSRF secret now, in the login answer's cookie: otherwise the first pages after the
            # login each draw one, and the offline app's downloads running beside the map could write theirs over
            # the page's (its forms then fail "missing or invalid CSRF token")
            g.pop("csrf_token", None)
            generate_csrf()
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Ends this session on the server too: a copy of the cookie taken before is worth nothing after."""
    db_session = get_session()
    accounts.end_session(db_session, session.get(SESSION_KEY))
    db_session.commit()
    logout_user()
    _fresh_session()
    return redirect(url_for("auth.login"))


def _fresh_session() -> None:
    """A new session at each login and logout (no fixation), keeping only the chosen language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def _require_login():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    return None


def _account_page(form: PasswordForm, status: int = 200):
    sessions = accounts.list_sessions(get_session(), current_user, session_lifetime())
    return render_template(
        "auth/account.html",
        form=form,
        sessions=sessions,
        this_session=accounts.session_key_hash(session.get(SESSION_KEY)),
        lifetime_hours=session_lifetime().total_seconds() / 3600,
    ), status


@bp.get("/account")
def account():
    return _require_login() or _account_page(PasswordForm(formdata=None))


@bp.post("/account/password")
def change_password():
    if (response := _require_login()) is not None:
        return response
    form = PasswordForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return _account_page(form, 400)
    db_session = get_session()
    try:
        ended = accounts.change_password(
            db_session,
            current_user,
            form.current_password.data,
            form.new_password.data,
            remote_addr=request.remote_addr or "",
            keep_session=session.get(SESSION_KEY),
        )
    except (BadRequest, accounts.TooManyAttempts) as exc:
        db_session.rollback()
        flash(str(exc.message), "error")
        return _account_page(form, exc.status)
    db_session.commit()
    flash(_("Password changed. Other devices (%(n)d sessions) have been logged out.", n=ended), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/logout-all")
def logout_everywhere():
    if (response := _require_login()) is not None:
        return response
    db_session = get_session()
    ended = accounts.end_sessions(db_session, current_user)
    record(
        db_session, current_user, "user.logout_all", "user", current_user.username, {}, {"sessions": ended}
    )
    db_session.commit()
    logout_user()
    _fresh_session()
    flash(_("You have been logged out on all devices."), "success")
    return redirect(url_for("auth.login"), 303)
