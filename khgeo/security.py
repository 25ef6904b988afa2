"""Authentication wiring: Flask-Login (session cookie or Bearer token), CSRF, cookie flags, the read gate.

Sessions are signed cookies, so any app instance accepts a login made on another. Cookies are HttpOnly and
SameSite=Lax always, and Secure whenever the request came over HTTPS (directly or through a trusted proxy).
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from khgeo.services import accounts, authz

csrf = CSRFProtect()
login_manager = LoginManager()
# reachable without logging in, whatever KHGEO_PUBLIC_READ says
OPEN_ENDPOINTS = {"static", "auth.login", "api.healthz"}


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


@login_manager.user_loader
def _load_user(user_id: str):
    from khgeo.app import get_session
    from khgeo.models import User

    if not user_id.isdigit() or request.headers.get("Authorization", "").startswith("Bearer "):
        return None  # a request that names a token acts as the token's user, whatever the cookie says
    user = get_session().get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.request_loader
def _load_token_user(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from khgeo.app import get_session

    user = accounts.user_for_token(get_session(), header[len("Bearer ") :].strip())
    if user is not None:
        g.auth_by_token = True
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    raise authz.Unauthorized()


def authenticated_by_token() -> bool:
    return bool(g.get("auth_by_token"))


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="khgeo_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=app.config["KHGEO_SESSION_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: forms left open on a phone still save
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.session_interface = _SessionInterface()
    if app.config["KHGEO_TRUSTED_PROXIES"]:
        hops = app.config["KHGEO_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @app.before_request
    def _read_gate():
        if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
            return None
        if authz.can_read(current_user, current_app.config["KHGEO_PUBLIC_READ"]):
            return None
        if request.path.startswith(("/api/", "/ogcapi/")):
            raise authz.Unauthorized()
        return redirect(
            url_for("auth.login", next=request.full_path if request.query_string else request.path)
        )
