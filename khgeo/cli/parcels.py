"""``khgeo parcels import`` and ``khgeo parcels export``.

Messages are rendered in the default language (KHGEO_DEFAULT_LOCALE); an error becomes one line
(khgeo/cli/errors.py).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from khgeo.cli import main, with_database
from khgeo.cli.transfer import confirm_plan, write_atomically
from khgeo.db import get_db


def run_parcels_import(
    path: Path,
    *,
    zone: str | None,
    crs: str | None,
    layer: str | None,
    encoding: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    from khgeo.services.geometry import VertexLimits
    from khgeo.services.interop.files import read_source
    from khgeo.services.parcels.importing import apply_parcel_import, plan_parcel_import

    limits = VertexLimits.from_settings(current_app.config)
    source = read_source(path, layer=layer, encoding=encoding)
    with get_db().session() as session:
        plan = plan_parcel_import(session, source, crs=crs, zone_code=zone, limits=limits)
        session.rollback()  # planning writes nothing
    if not confirm_plan(plan, dry_run=dry_run, yes=yes):
        return
    with get_db().session() as session:
        applied = apply_parcel_import(
            session,
            source,
            user=None,
            crs=crs,
            zone_code=zone,
            expected_fingerprint=plan.fingerprint,
            channel="cli",
            limits=limits,
        )
    counts = applied.counts
    click.echo(f"imported {source.file_name}: {counts['create']} parcels created, {counts['update']} updated")


def run_parcels_export(zone: str, fmt: str, output: Path) -> None:
    from khgeo.services.parcels.exporting import export_zone_parcels

    with get_db().session() as session:  # commits the audit event with the export
        export = export_zone_parcels(session, zone, fmt, user=None, personal=True, channel="cli")
    write_atomically(output, export.body)
    click.echo(f"{output}: {export.count} parcels ({export.label})")


@main.group()
def parcels() -> None:
    """Land parcels of site clearance: import from cadastral files, export per zone."""


@parcels.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--zone", help="Put every parcel in this zone (its code) instead of the zone its outline overlaps."
)
@click.option("--crs", help="CRS of a file that names none, e.g. EPSG:9214 (VN-2000 TM-3, Bắc Giang).")
@click.option("--layer", help="Layer (GeoPackage) or Shapefile in a zip to import.")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg, e.g. cp1258.")
@click.option("--dry-run", is_flag=True, help="Show exactly what would change; write nothing.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@with_database
def parcels_import(
    path: Path, zone: str, crs: str, layer: str, encoding: str, dry_run: bool, yes: bool
) -> None:
    """Import parcels from a cadastral Shapefile (zip), GeoPackage or GeoJSON (office field names)."""
    run_parcels_import(path, zone=zone, crs=crs, layer=layer, encoding=encoding, dry_run=dry_run, yes=yes)


@parcels.command("export")
@click.option("--zone", required=True, help="The zone's code.")
@click.option("--format", "fmt", type=click.Choice(["gpkg", "xlsx", "geojson"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@with_database
def parcels_export(zone: str, fmt: str, output: Path) -> None:
    """Export a zone's parcels (with the land users: written to the audit log) as GeoPackage, XLSX or GeoJSON."""
    run_parcels_export(zone, fmt, output)
