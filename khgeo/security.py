"""Authentication wiring: Flask-Login (session cookie, or an API token as Bearer or as HTTP Basic's password on the
program paths: khgeo/channels.py), CSRF, cookie flags, the read gate.

Sessions are signed cookies, so any app instance accepts a login made on another. The cookie also carries a random
session key whose hash is a row of user_sessions: each request checks that the row still exists (no logout, no
"log out everywhere", no password change since) and that the login is younger than KHGEO_SESSION_HOURS, counted
from the login however active the session is. Cookies are HttpOnly and SameSite=Lax always, and Secure whenever
the request came over HTTPS (directly or through a trusted proxy).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, url_for
from flask import session as cookie_session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from khgeo import channels
from khgeo.db import get_session
from khgeo.errors import KhgeoError
from khgeo.services import accounts, authz

csrf = CSRFProtect()
login_manager = LoginManager()
# reachable without logging in, whatever KHGEO_PUBLIC_READ says
# the calendar feed: a calendar client cannot log in, its secret address is the credential (followup/calendars.py);
# the service worker and the web app manifest: the browser fetches them without the session (offline work)
OPEN_ENDPOINTS = {
    "static",
    "auth.login",
    "api.healthz",
    "web.calendar_feed",
    "web.service_worker",
    "web.web_manifest",
}
SESSION_KEY = "sid"  # the cookie's entry holding the server-side session key


# sent by the offline app when it downloads pages for later (static/js/offline/ui.js, khgeo/web/offline.py)
PRECACHE_HEADER = "X-Khgeo-Precache"


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def should_set_cookie(self, app: Flask, session) -> bool:
        # a page downloaded in the background never writes the session back: a request running at the same time may
        # have changed it (the "Saved." message of the page the user opens next, the CSRF secret of the page open)
        if request.headers.get(PRECACHE_HEADER):
            return False
        return super().should_set_cookie(app, session)


@dataclass(frozen=True)
class Credentials:
    """An API token a request presents: as Bearer, or as HTTP Basic's password with the username it names."""

    scheme: str  # "bearer" or "basic"
    token: str
    username: str = ""

    @property
    def usable(self) -> bool:
        """Basic only reads (khgeo/channels.py says why); Bearer does anything its user may."""
        return self.scheme == "bearer" or request.method in channels.SAFE_METHODS


def presented_credentials() -> Credentials | None:
    """The token credentials of this request, if any (Basic only where channels.takes_basic; never logged)."""
    if "credentials" not in g:
        g.credentials = _parse_credentials()
    return g.credentials


def _parse_credentials() -> Credentials | None:
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme == "Bearer":
        return Credentials("bearer", rest.strip())
    if scheme.lower() == "basic" and channels.takes_basic(request.path):
        # werkzeug decodes it; None when malformed, which then fails like a wrong token
        basic = request.authorization
        if basic is None or basic.type != "basic":
            return Credentials("basic", "")
        return Credentials("basic", basic.password or "", (basic.username or "").strip().lower())
    return None


@login_manager.user_loader
def _load_user(user_id: str):
    if not user_id.isdigit() or presented_credentials() is not None:
        return None  # a request that names a token acts as the token's user, whatever the cookie says
    return accounts.user_for_session(
        get_session(), int(user_id), cookie_session.get(SESSION_KEY), session_lifetime()
    )


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["KHGEO_SESSION_HOURS"])


@login_manager.request_loader
def _load_token_user(_req):
    credentials = presented_credentials()
    if credentials is None or not credentials.usable:
        return None
    user = accounts.user_for_token(get_session(), credentials.token)
    if user is None or (credentials.scheme == "basic" and credentials.username != user.username):
        return None
    g.auth_by_token = True
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    raise authz.Unauthorized()


def _refuse_credentials(credentials: Credentials) -> None:
    """401 for token credentials that do not authenticate: the program must notice, not silently read less."""
    if credentials.scheme == "bearer":
        message = _l("The API token is invalid, expired or revoked.")
        g.challenges = ['Bearer error="invalid_token"']
    elif not credentials.usable:
        message = _l('HTTP Basic only reads: to change data send the API token as "Authorization: Bearer …".')
        g.challenges = [channels.BEARER_CHALLENGE]
    elif not credentials.token.startswith(accounts.TOKEN_PREFIX):
        message = _l(
            "Here the password is an API token (khg_…, from khgeo users token), not the account's password."
        )
    else:
        message = _l("The username or API token is wrong, or the token has expired or been revoked.")
    raise authz.Unauthorized(message)  # in the channel's error shape (OGC exception under /ogcapi)


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
    init_headers(app)
    login_manager.session_protection = "basic"

    @app.after_request
    def _challenge(response: Response) -> Response:
        # every 401 to a program tells it how to authenticate (QGIS and browsers then ask for credentials)
        if response.status_code != 401 or "WWW-Authenticate" in response.headers:
            return response
        values = g.get("challenges") or (
            channels.challenges(request) if channels.takes_basic(request.path) else []
        )
        for value in values:
            response.headers.add("WWW-Authenticate", value)
        return response

    @app.before_request
    def _reject_nul_bytes():
        # PostgreSQL text cannot hold NUL: refuse such input up front rather than fail deep inside a query
        # in the address (path, query) it is a malformed request, 400; in what the user sent, a field's value, 422
        address = [request.path, *request.args.keys(), *(v for _k, vs in request.args.lists() for v in vs)]
        if any("\x00" in value for value in address):
            raise KhgeoError(_l("The request contains invalid characters."), status=400)
        values: list[str] = []
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [*request.form.keys(), *(v for _k, vs in request.form.lists() for v in vs)]
            values += [upload.filename or "" for _k, uploads in request.files.lists() for upload in uploads]
        if request.is_json:
            values += _json_strings(request.get_json(silent=True))
        if any("\x00" in value for value in values):
            raise KhgeoError(_l("The request contains invalid characters."), status=422)

    @app.before_request
    def _read_gate():
        if request.endpoint == "static":
            return None
        credentials = presented_credentials()
        if credentials is not None and not current_user.is_authenticated:
            # a dead token (revoked, expired, its account disabled) is refused, even where anonymous may read
            _refuse_credentials(credentials)
        if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
            return None
        if authz.may_open(current_user, request.endpoint, current_app.config["KHGEO_PUBLIC_READ"]):
            return None
        if channels.program_request(request):
            raise authz.Unauthorized()  # 401 with the challenges (below), never the HTML login page
        return redirect(
            url_for("auth.login", next=request.full_path if request.query_string else request.path)
        )


# -- security headers ------------------------------------------------------------------------------------------
def _json_strings(value) -> list[str]:
    """Every key and string in a parsed JSON body (iteratively: the decoder already bounded the depth)."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += [key for key in item if isinstance(key, str)]
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return found


def tile_sources(tiles_url: str) -> str:
    """The CSP source for the basemap tile host ("{s}." subdomain templates become a wildcard)."""
    if not tiles_url:
        return ""
    parts = urlsplit(tiles_url.replace("{s}.", "sub."))
    host = parts.netloc.replace("sub.", "*.", 1) if "{s}." in tiles_url else parts.netloc
    return f"{parts.scheme}://{host}"


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)(?=[\s>])")


def nonced(html: str) -> Markup:
    """Add this response's CSP nonce to every <script> and <style> of trusted generated HTML (folium's)."""
    return Markup(_SCRIPT_OR_STYLE.sub(lambda m: f'<{m.group(1)} nonce="{csp_nonce()}"', str(html)))


def _content_security_policy(tiles: str, fetched_tiles: str = "") -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{csp_nonce()}'",
            # Leaflet and its plugins position map panes with inline style attributes
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {tiles}".strip(),
            # the tile host too only when phones keep tiles for offline work (KHGEO_OFFLINE_TILES)
            f"connect-src 'self' {fetched_tiles}".strip(),
            "worker-src 'self'",  # the offline worker, /sw.js (khgeo/web/offline.py)
            "manifest-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_headers(app: Flask) -> None:
    tiles = tile_sources(app.config["KHGEO_TILES_URL"])
    fetched_tiles = tiles if app.config.get("KHGEO_OFFLINE_TILES") else ""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonced

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", _content_security_policy(tiles, fetched_tiles))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
