"""The application factory: config → database → i18n → blueprints → error handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel

from khgeo import clock, db
from khgeo.config import PROJECT_ROOT, load_settings, resolve_secret_key

# the request's session lives with the database (khgeo.db: get_db, get_session) and the clock in khgeo.clock;
# nothing in khgeo but the CLI imports this module (tests/test_layering.py checks)

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

    db.init_app(app)
    clock.init_app(app)
    Babel(app, locale_selector=_select_locale)

    from khgeo import compression, errors_web, jinja, security
    from khgeo.api import bp as api_bp
    from khgeo.api.ogc import bp as ogcapi_bp
    from khgeo.web import bp as web_bp
    from khgeo.web.auth import bp as auth_bp
    from khgeo.web.parcels_transfer import bp as parcels_transfer_bp
    from khgeo.web.tiles import bp as tiles_bp

    compression.init_app(app)  # first: its after_request runs last, on the final body
    security.init_app(app)
    jinja.init_app(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(parcels_transfer_bp)  # parcels: cadastral import, exports per zone
    app.register_blueprint(tiles_bp)  # parcels' vector tiles at /tiles/ (GET only)
    app.register_blueprint(ogcapi_bp)  # OGC API – Features at /ogcapi/ (GET only: no CSRF concern)
    security.csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions (see khgeo/api/views.py)
    _register_parcels(app, security)
    errors_web.init_app(app)
    return app


def _register_parcels(app: Flask, security: Any) -> None:
    """Parcels (issue 14): their API (checks CSRF itself, as /api does) and their pages."""
    from khgeo.api.parcels import bp as parcels_api_bp
    from khgeo.web.parcels import bp as parcels_web_bp

    app.register_blueprint(parcels_api_bp)
    security.csrf.exempt(parcels_api_bp)
    app.register_blueprint(parcels_web_bp)


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
