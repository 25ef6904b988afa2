"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from khgeo.app import get_session
from khgeo.services import accounts

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


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
        db_session.commit()  # the attempt is recorded whether or not it succeeded
        if user is not None:
            _fresh_session()
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    _fresh_session()
    return redirect(url_for("auth.login"))


def _fresh_session() -> None:
    """A new session at each login and logout (no fixation), keeping only the chosen language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
