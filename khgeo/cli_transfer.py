"""The bodies of ``khgeo import`` and ``khgeo export`` (declared in khgeo/cli.py): report, confirm, progress.

Messages are rendered in the default language (KHGEO_DEFAULT_LOCALE); an error becomes one line naming the option
that fixes it (khgeo/cli_errors.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app

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
    # write next to the target and rename, so a failed export never leaves half a file behind
    try:
        handle, temporary = tempfile.mkstemp(prefix=".khgeo-export-", dir=output.resolve().parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(output)) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(export.body)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"{output}: {export.count} zones ({export.format.label})")
