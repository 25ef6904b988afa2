"""``khgeo db``, ``health``, ``seed``, ``backup``/``restore`` and ``serve``: the database and the server."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from khgeo.cli import get_db, main, with_database
from khgeo.errors import KhgeoError


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
