"""Error responses: JSON under /api, an HTML page elsewhere; never a stack trace, always a logged detail."""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
import uuid

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError as DatabaseDataError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from khgeo import channels
from khgeo.errors import KhgeoError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return channels.program_request(request)


def error_response(status: int, message: str, field: str | None = None, fields: dict | None = None):
    if _wants_json():
        body = {"error": {"status": status, "message": message}}
        if field:
            body["error"]["field"] = field
        if fields:
            body["error"]["fields"] = {name: str(text) for name, text in fields.items()}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def _rollback() -> None:
    """After a database error the request's transaction is dead: roll it back before the error page is rendered
    (rendering may query, e.g. the logged-in user), so the page is the app's own and nothing half-done stays."""
    db_session = g.get("db_session")
    if db_session is not None:
        try:
            db_session.rollback()
        except Exception:  # the connection itself may be gone; teardown closes the session anyway
            log.warning("rollback after a database error failed on %s", request.path)


class _BoundedJSONProvider(DefaultJSONProvider):
    """A body nested thousands deep makes the JSON decoder raise RecursionError, which is not the ValueError
    Flask turns into a 400: say it is invalid JSON instead (request.get_json then answers 400 / None)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    app.json = _BoundedJSONProvider(app)

    @app.errorhandler(KhgeoError)
    def _khgeo_error(exc: KhgeoError):
        _rollback()  # nothing of a refused request is kept (and a failed flush must not break the error page)
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
        _rollback()
        # the database refused a value the checks let through (e.g. a NUL character): the input is at fault
        log.warning(
            "database refused a value on %s: %s",
            request.path,
            exc.orig.__class__.__name__ if exc.orig else exc,
        )
        return error_response(400, _("A value in the request is not acceptable."))

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        _rollback()
        log.error(
            "database unavailable on %s: %s", request.path, exc.orig.__class__.__name__ if exc.orig else exc
        )
        return error_response(503, _("The database is unavailable right now. Please try again in a moment."))

    @app.errorhandler(IntegrityError)
    def _conflicting_write(exc: IntegrityError):
        # two requests created the same thing at the same moment (a unique code): the later one lost the race;
        # any other broken constraint is a fault of khgeo's, logged as one
        if getattr(exc.orig, "sqlstate", None) != "23505":  # unique_violation
            return _unexpected(exc)
        _rollback()
        log.warning(
            "integrity error on %s: %s", request.path, exc.orig.__class__.__name__ if exc.orig else exc
        )
        return error_response(
            409,
            _("Someone saved the same thing at the same moment. Reload the page and check before retrying."),
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _rollback()
        log.error(
            "unhandled %s on %s %s [request %s] %s\n%s",
            _exception_chain(exc),
            request.method,
            request.path,
            _request_id(),
            _request_shape(),
            "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__))).rstrip(),
        )
        return error_response(500, _("Something went wrong on our side. The error has been logged."))


# What the log says about a failed request: where it failed and the shape of what was sent, never the values.
# Notes, reports and photos are users' words and pictures, and exception messages quote them (a database's
# "Failing row contains (…)", SQLAlchemy's "[parameters: …]"), so only exception class names are logged.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:12]


def _exception_chain(exc: BaseException) -> str:
    names, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(type(current).__qualname__)
        current = current.__cause__ or current.__context__
    return " <- ".join(names)


def _size(stream) -> int:
    try:
        position = stream.tell()
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(position)
        return size
    except (OSError, ValueError, AttributeError):
        return -1


def _request_shape() -> str:
    """Field names with their sizes (characters, or bytes for files): enough to reproduce, nothing to read."""
    parts = [f"{name}:{len(value)}" for name, value in request.form.items(multi=True)]
    parts += [f"{name}:file:{_size(upload.stream)}B" for name, upload in request.files.items(multi=True)]
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            parts += [f"{name}:json:{len(json.dumps(value, default=str))}" for name, value in body.items()]
        else:
            parts.append(f"json body:{request.content_length or 0}B")
    elif not parts and request.content_length:
        parts.append(f"body:{request.content_length}B")
    return "fields " + (", ".join(parts) if parts else "none")
