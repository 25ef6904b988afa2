"""The ``khgeo`` command: db, users, seed, report, import, export, backup/restore and serve.

With the embedded database each command starts the cluster if it is not running and stops it again afterwards
if it was the one that started it; ``khgeo serve`` keeps it running until the server exits (``khgeo serve
--upgrade --seed`` migrates and seeds first, with the same start).

Errors become one line in the default language (KHGEO_DEFAULT_LOCALE), never a traceback: the root group hands
whatever escapes a command to khgeo/cli_errors.py. ``khgeo --help`` loads neither the app nor the heavy
libraries (geopandas, folium, matplotlib, python-docx, openpyxl): every command imports what it needs.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from khgeo.errors import KhgeoError

log = logging.getLogger(__name__)
ROLE_NAMES = "viewer, field, planner, admin"


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
            from khgeo.cli_errors import as_cli_error

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


@main.group()
def db() -> None:
    """Database schema (Alembic migrations) and the embedded server."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_database
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema."""
    _upgrade(revision)


def _upgrade(revision: str = "head") -> None:
    from khgeo import migrate

    before, after = migrate.upgrade(get_db(), revision)
    click.echo(f"schema: {before or 'empty'} → {after}" if before != after else f"schema already at {after}")


@db.command("downgrade")
@click.argument("revision")
@with_database
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. base)."""
    from khgeo import migrate

    migrate.downgrade(get_db(), revision)
    click.echo(f"schema at {migrate.current_revision(get_db()) or 'base'}")


@db.command("current")
@with_database
def db_current() -> None:
    """Show the schema revision."""
    from khgeo import migrate

    click.echo(f"{migrate.current_revision(get_db()) or 'empty'} (head: {migrate.head_revision()})")


@db.command("start")
@with_appcontext
def db_start() -> None:
    """Start the embedded PostgreSQL and leave it running."""
    database = get_db()
    if database.cluster is None:
        raise KhgeoError(_l("KHGEO_DATABASE_URL is set: khgeo does not manage that server."))
    database.ensure_running()
    click.echo(f"embedded PostgreSQL running in {database.cluster.datadir}")


@db.command("stop")
@with_appcontext
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    database = get_db()
    if database.cluster is None:
        raise KhgeoError(_l("KHGEO_DATABASE_URL is set: khgeo does not manage that server."))
    database.stop_embedded()
    click.echo("embedded PostgreSQL stopped")


@main.command("health")
@with_appcontext
def health_command() -> None:
    """Print the database's state, PostGIS and schema versions and khgeo's version; exit 1 if not ok."""
    report = get_db().health_report()
    for name, value in report.items():
        click.echo(f"{name}: {value}")
    if report["status"] != "ok":
        raise click.ClickException("the database is unavailable")


@main.command("seed")
@click.option(
    "--demo-parcels",
    is_flag=True,
    help="Also generate illustrative parcels for the seeded zones (marked illustrative; never by default).",
)
@with_database
def seed_command(demo_parcels: bool) -> None:
    """Load districts, communes, agencies, zones and plan tasks from data/ (idempotent)."""
    _require_schema()
    _seed()
    if demo_parcels:
        _seed_demo_parcels()


def _seed_demo_parcels() -> None:
    from khgeo.clock import today
    from khgeo.services.parcels.demo import seed_demo_parcels

    with get_db().session() as session:
        added = seed_demo_parcels(session, today())
        session.commit()
    click.echo(f"illustrative parcels: {sum(added.values())} in {len(added)} zones")


def _seed() -> None:
    from khgeo.services.seed import seed

    with get_db().session() as session:
        report = seed(session)
    for line in report.lines():
        click.echo(line)


@main.group()
def users() -> None:
    """Accounts: create, list, disable, API tokens (create, list, revoke)."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help=f"One of {ROLE_NAMES}.")
@click.option(
    "--district", "districts", multiple=True, help="District (GSO code or name) a field user may edit."
)
@click.option("--name", "display_name", default="", help="Full name shown in the history.")
@click.option("--agency", default=None, help="Agency code the user reports for (e.g. SCT, UBND_VY).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@with_database
def users_create(
    username: str,
    role: str,
    districts: tuple[str, ...],
    display_name: str,
    agency: str | None,
    password_stdin: bool,
) -> None:
    """Create an account (the password is asked for, or read with --password-stdin)."""
    from khgeo.services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with get_db().session() as session:
        user = accounts.create_user(
            session,
            username,
            password,
            role,
            districts=list(districts),
            display_name=display_name,
            agency=agency,
        )
        district_names = ", ".join(d.name for d in user.districts)
    click.echo(f"created {user.username} ({role}{': ' + district_names if district_names else ''})")


@users.command("token")
@click.argument("username")
@click.option("--name", "label", default="", help="What the token is for, e.g. 'QGIS on the board PC'.")
@click.option("--days", default=365, show_default=True, type=int, help="Days until the token expires.")
@with_database
def users_token(username: str, label: str, days: int) -> None:
    """Print a new API token for USERNAME (use it as: Authorization: Bearer <token>)."""
    from khgeo.services import accounts

    with get_db().session() as session:
        token = accounts.new_token(session, username, name=label, days=days)
    click.echo(token)  # alone on stdout, for scripts; the rest goes to stderr
    from khgeo import clock

    expires = clock.now() + dt.timedelta(days=days)
    click.echo(f"expires {expires:%d/%m/%Y}; shown only this once", err=True)


@users.command("tokens")
@click.argument("username")
@with_database
def users_tokens(username: str) -> None:
    """List USERNAME's API tokens: id, name, created, expires, last used, state (dates dd/mm/yyyy)."""
    from khgeo import clock
    from khgeo.services import accounts

    now = clock.now()
    with get_db().session() as session:
        tokens = accounts.list_tokens(session, username)
    click.echo("id\tname\tcreated\texpires\tlast used\tstate")
    for token in tokens:
        state = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
        click.echo(
            "\t".join(
                [
                    str(token.id),
                    token.name or "-",
                    _date(token.created_at),
                    _date(token.expires_at),
                    _date(token.last_used_at),
                    state,
                ]
            )
        )


@users.command("revoke-token")
@click.argument("token_id", type=int)
@with_database
def users_revoke_token(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `khgeo users tokens NAME`); it stops working at once."""
    from khgeo.services import accounts

    with get_db().session() as session:
        token = accounts.revoke_token(session, token_id)
        owner = token.user.username
    click.echo(f"revoked token {token_id} of {owner}")


def _date(value: dt.datetime | None) -> str:
    from khgeo import clock

    return clock.local(value).strftime("%d/%m/%Y") if value else "-"


@users.command("list")
@with_database
def users_list() -> None:
    """List accounts: username, role, state, agency and districts (by name), tab-separated."""
    from khgeo.services import accounts

    with get_db().session() as session:
        for user in accounts.list_users(session):
            state = _("active") if user.active else _("disabled")
            agency = user.agency.name if user.agency else "—"
            districts = ", ".join(d.name for d in user.districts) or "—"
            click.echo(f"{user.username}\t{user.role}\t{state}\t{agency}\t{districts}")


@users.command("disable")
@click.argument("username")
@with_database
def users_disable(username: str) -> None:
    """Disable an account and revoke its API tokens."""
    from khgeo.services import accounts

    with get_db().session() as session:
        accounts.disable_user(session, username)
    click.echo(f"disabled {username}")


@main.command("report")
@click.option("--year", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
@with_database
def report_command(year: int, fmt: str, output: str) -> None:
    """Write the consolidated yearly report on the plan (Word or Excel)."""
    from khgeo.clock import today, tracking_start
    from khgeo.services.reports import data as report_data
    from khgeo.services.reports.docx import render_docx
    from khgeo.services.reports.xlsx import render_xlsx

    with get_db().session() as session:
        data = report_data.gather(session, year, today(), tracking_start())
    body = render_docx(data) if fmt == "docx" else render_xlsx(data)
    with open(output, "wb") as handle:
        handle.write(body)
    counts = data.counts
    click.echo(
        f"{output}: {counts['zones']} zones, {counts['tasks']} tasks ({counts['overdue']} overdue), "
        f"{counts['agencies_submitted']}/{counts['agencies']} agencies reported"
    )


@main.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
@with_database
def backup_command(output: str) -> None:
    """Back up the whole database (zones, history, photos, tasks, reports, users, audit log) to a file."""
    from khgeo import backup

    size = backup.backup(get_db(), output)
    click.echo(f"{output}: {size / 1024:.0f} KiB")


@main.command("restore")
@click.argument("dump", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite a database that already holds khgeo data.")
@with_database
def restore_command(dump: str, force: bool) -> None:
    """Restore a backup made with `khgeo backup` (refuses a non-empty database without --force)."""
    from khgeo import backup, migrate

    plan = backup.restore(get_db(), dump, force=force)
    for entry in plan.skipped:
        click.echo(f"left out (not khgeo's): {entry}", err=True)
    click.echo(f"restored {dump} (schema {migrate.current_revision(get_db())})")


@main.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", help="CRS of a file that names none, e.g. EPSG:9214 (VN-2000 TM-3, Bắc Giang).")
@click.option("--layer", help="Layer (GeoPackage, KML), Shapefile in a zip, or XLSX sheet to import.")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg or of a CSV, e.g. cp1258.")
@click.option("--dry-run", is_flag=True, help="Show exactly what would change; write nothing.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@with_database
def import_command(path: Path, crs: str, layer: str, encoding: str, dry_run: bool, yes: bool) -> None:
    """Import zones from GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ, CSV or XLSX (one transaction)."""
    from khgeo.cli_transfer import run_import

    run_import(path, crs=crs, layer=layer, encoding=encoding, dry_run=dry_run, yes=yes)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "shp", "csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--kind", help="KCN or CCN.")
@click.option("--district", help="District (GSO code or name).")
@click.option("--wwtp", help="Wastewater status: none, planned, under_construction, operating, unknown.")
@click.option("--q", help="Search text (diacritics ignored).")
@click.option("--bbox", help="minlon,minlat,maxlon,maxlat")
@click.option(
    "--retired", type=click.Choice(["include", "only"]), help="Also (or only) zones no longer monitored."
)
@with_database
def export_command(fmt: str, output: Path, **filters: str | None) -> None:
    """Export zones (with the map's filters) as GeoJSON, GeoPackage, zipped Shapefile, CSV or XLSX."""
    from khgeo.cli_transfer import run_export

    run_export(fmt, output, filters)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--upgrade", is_flag=True, help="Upgrade the schema first (khgeo db upgrade).")
@click.option("--seed", "load_seed", is_flag=True, help="Load the seed data first (khgeo seed).")
@with_database
def serve(host: str, port: int, workers: int, threads: int, upgrade: bool, load_seed: bool) -> None:
    """Serve the app with gunicorn (production WSGI server); the embedded database is started once."""
    from khgeo import migrate
    from khgeo.wsgi_server import run

    if upgrade:
        _upgrade()
    _require_schema()
    migrate.sync_stored_features(get_db())  # the stored Features follow this code's serialisation
    if load_seed:
        _seed()
    click.echo(f"khgeo: serving on http://{host}:{port}/ ({workers} workers × {threads} threads)")
    run(current_app._get_current_object(), host=host, port=port, workers=workers, threads=threads)


def _require_schema() -> None:
    from khgeo import migrate

    current, head = migrate.current_revision(get_db()), migrate.head_revision()
    if current != head:
        raise KhgeoError(
            _l(
                "The database schema is at %(current)s, not %(head)s: run `khgeo db upgrade` first.",
                current=current or "—",
                head=head,
            )
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# commands declared in their own modules (each imports only click at the top, like this one)
from khgeo import cli_followup  # noqa: E402, F401
