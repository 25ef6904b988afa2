"""One error shape for the whole app.

A ``KhgeoError`` carries an HTTP status and a message that is safe to show a user (already translated where it
comes from a request). Details for operators go to the log, never into a response.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class KhgeoError(Exception):
    status = 500

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


class BadRequest(KhgeoError):
    status = 400


class NotFound(KhgeoError):
    status = 404


class ConfigError(KhgeoError):
    """A setting is missing or invalid; raised at startup."""


class ImportFileError(KhgeoError):
    """The file cannot be imported as it is; the message says why and what to do."""

    status = 422


class DataError(KhgeoError):
    """Seed or import data is wrong: the message names the file and the feature."""

    status = 422


class ValidationFailed(KhgeoError):
    """Values a user entered are invalid: ``errors`` maps each field to its message."""

    status = 422

    def __init__(self, errors: dict):
        super().__init__(_l("Some values are not valid."))
        self.errors = errors
