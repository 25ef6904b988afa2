"""Error responses: JSON under /api, an HTML page elsewhere; never a stack trace, always a logged detail."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError as DatabaseDataError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from khgeo.errors import KhgeoError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/ogcapi/")) or request.path == "/healthz"


def error_response(status: int, message: str, field: str | None = None, fields: dict | None = None):
    if _wants_json():
        body = {"error": {"status": status, "message": message}}
        if field:
            body["error"]["field"] = field
        if fields:
            body["error"]["fields"] = {name: str(text) for name, text in fields.items()}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(KhgeoError)
    def _khgeo_error(exc: KhgeoError):
        if exc.status == 401 and not _wants_json():
            return redirect(
                url_for("auth.login", next=request.full_path if request.query_string else request.path)
            )
        if exc.status >= 500:
            log.error("%s on %s: %s", exc.__class__.__name__, request.path, exc.message)
        return error_response(exc.status, str(exc.message), exc.field, getattr(exc, "errors", None))

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError):
        return error_response(
            400, _("The form has expired or did not come from this site. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        messages = {
            404: _("This page does not exist."),
            405: _("This method is not allowed here."),
            413: _("The upload is too large."),
        }
        body, status = error_response(exc.code or 500, messages.get(exc.code, exc.name))
        # RFC 9110: a 405 names the methods that are allowed
        return body, status, [(k, v) for k, v in exc.get_headers() if k == "Allow"]

    @app.errorhandler(DatabaseDataError)
    def _bad_value(exc: DatabaseDataError):
        # the database refused a value the checks let through (e.g. a NUL character): the input is at fault
        log.warning(
            "database refused a value on %s: %s",
            request.path,
            exc.orig.__class__.__name__ if exc.orig else exc,
        )
        return error_response(400, _("A value in the request is not acceptable."))

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.error(
            "database unavailable on %s: %s", request.path, exc.orig.__class__.__name__ if exc.orig else exc
        )
        return error_response(503, _("The database is unavailable right now. Please try again in a moment."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, _("Something went wrong on our side. The error has been logged."))
