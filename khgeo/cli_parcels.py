"""The bodies of ``khgeo parcels import`` and ``khgeo parcels export`` (declared in khgeo/cli.py).

Messages are rendered in the default language (KHGEO_DEFAULT_LOCALE); an error becomes one line
(khgeo/cli_errors.py).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from khgeo.cli_transfer import write_atomically
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
    for line in plan.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    if not plan.has_changes:
        click.echo("nothing to import")
        return
    if not yes:
        click.confirm("Apply these changes?", abort=True)
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
