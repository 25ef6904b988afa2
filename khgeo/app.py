"""The application factory: config → database → i18n → blueprints → error handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel
from sqlalchemy.orm import Session

from khgeo import clock
from khgeo.clock import today  # noqa: F401  the clock lives in khgeo.clock; kept for branches merged later
from khgeo.config import PROJECT_ROOT, load_settings, resolve_secret_key
from khgeo.db import Database

LOCALES = ("vi", "en")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    settings = load_settings(overrides)
    app = Flask(
        "khgeo",
        root_path=str(PROJECT_ROOT / "khgeo"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(settings)
    app.config["SECRET_KEY"] = resolve_secret_key(settings)
    app.config.setdefault("JSON_SORT_KEYS", False)
    app.config["BABEL_DEFAULT_LOCALE"] = settings["KHGEO_DEFAULT_LOCALE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PROJECT_ROOT / "khgeo" / "translations")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    logging.basicConfig(
        level=settings["KHGEO_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    app.extensions["khgeo.db"] = Database.from_settings(settings)
    clock.init_app(app)
    Babel(app, locale_selector=_select_locale)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db_session: Session | None = g.pop("db_session", None)
        if db_session is not None:
            db_session.close()

    from khgeo import compression, errors_web, jinja, security
    from khgeo.api import bp as api_bp
    from khgeo.api.ogc import bp as ogcapi_bp
    from khgeo.web import bp as web_bp
    from khgeo.web.auth import bp as auth_bp

    compression.init_app(app)  # first: its after_request runs last, on the final body
    security.init_app(app)
    jinja.init_app(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ogcapi_bp)  # OGC API – Features at /ogcapi/ (GET only: no CSRF concern)
    security.csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions (see khgeo/api/views.py)
    errors_web.init_app(app)
    return app


def _select_locale() -> str:
    """Vietnamese unless the user picked English: ?lang=en switches and is remembered in the session.

    Outside a request (the ``khgeo`` command) it is the default language, KHGEO_DEFAULT_LOCALE."""
    if not has_request_context():
        return current_app.config["KHGEO_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
        return wanted
    return session.get("lang") or current_app.config["KHGEO_DEFAULT_LOCALE"]


def get_db() -> Database:
    return current_app.extensions["khgeo.db"]


def public_root() -> str:
    """The address khgeo is reached at, without a trailing slash: KHGEO_PUBLIC_URL when set, so a forged Host
    header never ends up in a link; else the request's own root."""
    return (current_app.config.get("KHGEO_PUBLIC_URL") or request.url_root).rstrip("/")


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session
