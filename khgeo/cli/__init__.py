"""The ``khgeo`` command. This module declares the root group and what every command shares (the app created on
first use, the embedded database started and stopped around a command, errors as one line); the commands live by
subject beside it: database.py (db, health, seed, backup, restore, serve), accounts.py (users), agencies.py,
documents.py (report), followup.py (notify, letter), transfer.py (import, export), parcels.py.

With the embedded database each command starts the cluster if it is not running and stops it again afterwards
if it was the one that started it; ``khgeo serve`` keeps it running until the server exits (``khgeo serve
--upgrade --seed`` migrates and seeds first, with the same start).

Errors become one line in the default language (KHGEO_DEFAULT_LOCALE), never a traceback: the root group hands
whatever escapes a command to khgeo/cli/errors.py. ``khgeo --help`` loads neither the app nor the heavy
libraries (geopandas, folium, matplotlib, python-docx, openpyxl): every command imports what it needs.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import ScriptInfo, with_appcontext


def _create_app():
    from khgeo.app import create_app

    return create_app()


def get_db():
    from khgeo.db import get_db as app_db

    return app_db()


class KhgeoGroup(click.Group):
    """The root group: the app is created on first use (not for --help), and errors become one line."""

    def make_context(self, info_name, args, parent=None, **extra):
        if parent is None:
            # FlaskCliRunner passes its own ScriptInfo (the test's app)
            extra.setdefault("obj", ScriptInfo(create_app=_create_app, set_debug_flag=False))
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:
            from khgeo.cli.errors import as_cli_error

            info = ctx.find_object(ScriptInfo)
            raise as_cli_error(exc, getattr(info, "_loaded_app", None)) from exc


def with_database(command: Callable) -> Callable:
    """Run a command in the app context with the database reachable (the embedded one started if needed)."""

    @functools.wraps(command)
    @with_appcontext
    def wrapper(*args, **kwargs):
        db = get_db()
        started = db.ensure_running()
        try:
            return command(*args, **kwargs)
        finally:
            if started:
                db.stop_embedded()

    return wrapper


@click.group(cls=KhgeoGroup)
def main() -> None:
    """khgeo — bản đồ giám sát khu, cụm công nghiệp tỉnh Bắc Giang."""


# the commands, declared in their modules (each imports only click and flask at the top: --help stays light)
from khgeo.cli import accounts, agencies, database, documents, followup, parcels, transfer  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
