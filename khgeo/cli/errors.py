"""How the ``khgeo`` command reports a failure: one line in the user's language, a non-zero exit, no traceback.

The root command group (khgeo/cli/__init__.py) hands every exception escaping a command to :func:`as_cli_error`, so no
command converts errors itself. Messages are rendered in the app's default language (``KHGEO_DEFAULT_LOCALE``)
inside the app context, where the lazy translations of the services can be resolved.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import click
from flask_babel import lazy_gettext as _l

from khgeo.errors import KhgeoError

log = logging.getLogger("khgeo.cli")

# an error naming one of these fields is fixed with that option
OPTION_HINTS = {"layer": "--layer NAME", "crs": "--crs EPSG:…", "encoding": "--encoding NAME"}
OS_REASONS = {
    errno.ENOENT: _l("no such file or folder"),
    errno.EACCES: _l("permission denied"),
    errno.EPERM: _l("permission denied"),
    errno.EISDIR: _l("it is a folder"),
    errno.ENOTDIR: _l("a part of the path is not a folder"),
    errno.ENOSPC: _l("no space left on the disk"),
    errno.EROFS: _l("the disk is read-only"),
}


class CliError(click.ClickException):
    """A ClickException whose "Error:" prefix is translated too."""

    def __init__(self, message: str, prefix: str = "Error"):
        super().__init__(message)
        self.prefix = prefix

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.prefix}: {self.format_message()}", err=True, file=file)


def one_line(text: object) -> str:
    """Collapse a message (a driver's multi-line error, a pg_restore tail) onto one line."""
    return " ".join(str(text).split())


def describe(exc: BaseException) -> object:
    """What to tell the user about ``exc`` (possibly a lazy translation)."""
    from psycopg import OperationalError as DriverOperationalError
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, KhgeoError):
        hint = OPTION_HINTS.get(exc.field or "")
        if hint:
            return _l("%(message)s (use %(option)s)", message=exc.message, option=hint)
        return exc.message
    if isinstance(exc, OperationalError | DriverOperationalError):
        detail = getattr(exc, "orig", None) or exc
        first = next((line for line in str(detail).splitlines() if line.strip()), "")
        return _l(
            "The database cannot be reached (%(detail)s). Check KHGEO_DATABASE_URL, or start the embedded "
            "one with `khgeo db start`.",
            detail=first.strip(),
        )
    if isinstance(exc, OSError):
        reason = OS_REASONS.get(exc.errno, exc.strerror or exc.__class__.__name__)
        path = exc.filename or ""
        return _l("Cannot use the file %(path)s: %(reason)s", path=path, reason=reason) if path else reason
    if isinstance(exc, ValueError):
        return str(exc)
    log.debug("unexpected error in a khgeo command", exc_info=exc)
    return _l(
        "Unexpected error (%(kind)s: %(detail)s). Set KHGEO_LOG_LEVEL=DEBUG to see where it happened.",
        kind=exc.__class__.__name__,
        detail=str(exc),
    )


def as_cli_error(exc: Exception, app: Any = None) -> CliError:
    """``exc`` as a one-line CliError, rendered in the app's language when the app was loaded."""
    message = describe(exc)
    if app is None:
        return CliError(one_line(message))
    with app.app_context():
        return CliError(one_line(message), prefix=str(_l("Error")))
