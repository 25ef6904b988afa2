"""``khgeo import`` and ``khgeo export`` of zones: report, confirm, progress.

Messages are rendered in the default language (KHGEO_DEFAULT_LOCALE); an error becomes one line naming the option
that fixes it (khgeo/cli/errors.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app

from khgeo.cli import main, with_database
from khgeo.clock import today
from khgeo.db import get_db

# files with at least this many features show progress bars while they are checked and written
PROGRESS_MIN_FEATURES = 200


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator:
    if total < PROGRESS_MIN_FEATURES:
        yield None
        return
    with click.progressbar(length=total, label=label) as bar:
        yield bar.update


def confirm_plan(plan, *, dry_run: bool, yes: bool) -> bool:
    """Print an import's plan; whether to apply it (not for a dry run or an empty plan; asks unless ``yes``)."""
    for line in plan.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was written")
        return False
    if not plan.has_changes:
        click.echo("nothing to import")
        return False
    if not yes:
        click.confirm("Apply these changes?", abort=True)
    return True


def run_import(
    path: Path, *, crs: str | None, layer: str | None, encoding: str | None, dry_run: bool, yes: bool
) -> None:
    from khgeo.services.geometry import VertexLimits
    from khgeo.services.interop.files import read_source
    from khgeo.services.interop.import_apply import apply_import
    from khgeo.services.interop.import_plan import plan_import

    limits = VertexLimits.from_settings(current_app.config)
    source = read_source(path, layer=layer, encoding=encoding)
    with get_db().session() as session, _progress(len(source.features), "checking") as progress:
        plan = plan_import(session, source, crs=crs, today=today(), progress=progress, limits=limits)
        session.rollback()  # planning writes nothing; say so to the database too
    if not confirm_plan(plan, dry_run=dry_run, yes=yes):
        return
    changes = plan.counts["create"] + plan.counts["update"]
    with get_db().session() as session, _progress(changes, "importing") as progress:
        applied = apply_import(
            session,
            source,
            user=None,
            today=today(),
            crs=crs,
            expected_fingerprint=plan.fingerprint,
            channel="cli",
            progress=progress,
            limits=limits,
        )
    counts = applied.counts
    click.echo(f"imported {source.file_name}: {counts['create']} created, {counts['update']} updated")


def run_export(fmt: str, output: Path, filters: dict[str, str | None]) -> None:
    from khgeo.services.interop.export import export_zones
    from khgeo.services.zones import parse_filter

    with get_db().session() as session:
        zone_filter = parse_filter(session, {name: value for name, value in filters.items() if value})
        export = export_zones(session, zone_filter, fmt)
    write_atomically(output, export.body)
    click.echo(f"{output}: {export.count} zones ({export.format.label})")


def write_atomically(output: Path, body: bytes) -> None:
    """Write next to the target and rename, so a failed export never leaves half a file behind."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=".khgeo-export-", dir=output.resolve().parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(output)) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    run_import(path, crs=crs, layer=layer, encoding=encoding, dry_run=dry_run, yes=yes)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "shp", "csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--kind", help="KCN or CCN.")
@click.option("--district", help="District (GSO code or name).")
@click.option(
    "--unit", help="Unit of 2025 or 2022 (code or name, e.g. 'Phường Nếnh'): the zones lying in it today."
)
@click.option("--wwtp", help="Wastewater status: none, planned, under_construction, operating, unknown.")
@click.option("--q", help="Search text (diacritics ignored).")
@click.option("--bbox", help="minlon,minlat,maxlon,maxlat")
@click.option(
    "--retired", type=click.Choice(["include", "only"]), help="Also (or only) zones no longer monitored."
)
@with_database
def export_command(fmt: str, output: Path, **filters: str | None) -> None:
    """Export zones (with the map's filters) as GeoJSON, GeoPackage, zipped Shapefile, CSV or XLSX."""
    run_export(fmt, output, filters)
