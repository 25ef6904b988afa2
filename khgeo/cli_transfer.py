"""The bodies of ``khgeo import`` and ``khgeo export`` (declared in khgeo/cli.py): report, confirm, progress.

Messages are rendered in English, like the rest of the command line (the catalogue serves the web pages).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask_babel import force_locale

from khgeo.app import get_db, today
from khgeo.errors import KhgeoError

# files with at least this many features show progress bars while they are checked and written
PROGRESS_MIN_FEATURES = 200
HINTS = {"layer": "--layer NAME", "crs": "--crs EPSG:…", "encoding": "--encoding NAME"}


@contextlib.contextmanager
def _messages() -> Iterator[None]:
    """English messages, and a KhgeoError as a one-line error naming the option that fixes it."""
    with force_locale("en"):
        try:
            yield
        except KhgeoError as exc:
            hint = HINTS.get(exc.field or "")
            message = str(exc.message) + (f" (use {hint})" if hint else "")
            raise click.ClickException(message) from exc


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
    from khgeo.services import importer
    from khgeo.services.geometry import VertexLimits
    from khgeo.services.import_files import read_source

    limits = VertexLimits.from_settings(current_app.config)
    with _messages():
        source = read_source(path, layer=layer, encoding=encoding)
        with get_db().session() as session, _progress(len(source.features), "checking") as progress:
            plan = importer.plan_import(
                session, source, crs=crs, today=today(), progress=progress, limits=limits
            )
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
            applied = importer.apply_import(
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
    from khgeo.services.exporter import export_zones
    from khgeo.services.zones import parse_filter

    with _messages(), get_db().session() as session:
        zone_filter = parse_filter(session, {name: value for name, value in filters.items() if value})
        export = export_zones(session, zone_filter, fmt)
    # write next to the target and rename, so a failed export never leaves half a file behind
    handle, temporary = tempfile.mkstemp(prefix=".khgeo-export-", dir=output.resolve().parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(export.body)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"{output}: {export.count} zones ({export.format.label})")
