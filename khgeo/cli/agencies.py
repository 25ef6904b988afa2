"""``khgeo agencies``: agencies over time (one succeeding another from a date, citing the act)."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from khgeo.cli import get_db, main, with_database


@main.group()
def agencies() -> None:
    """Agencies over time: record that one agency succeeds another."""


@agencies.command("succeed")
@click.argument("old")
@click.argument("new")
@click.option("--from", "effective", required=True, help="The day the successor takes over (dd/mm/yyyy).")
@click.option("--source", required=True, help="The act that did it: number and date.")
@click.option("--kind", default="merged", show_default=True, help="merged, renamed or split.")
@with_database
def agencies_succeed(old: str, new: str, effective: str, source: str, kind: str) -> None:
    """Record that agency NEW succeeds agency OLD (codes, e.g. SKHDT STC) from a date, citing its act."""
    from khgeo.errors import BadRequest
    from khgeo.services.units import succession
    from khgeo.text import parse_date

    try:
        day = parse_date(effective)
    except ValueError:
        raise BadRequest(_("Enter a date as dd/mm/yyyy."), field="from") from None
    with get_db().session() as session:
        row = succession.succeed(session, old, new, day, source, kind=kind)
        session.commit()
        click.echo(
            f"{row.successor.code} succeeds {row.predecessor.code} from {day:%d/%m/%Y} ({row.kind}; {row.source})"
        )
