"""``khgeo report``: the consolidated yearly report (Word or Excel)."""

from __future__ import annotations

import click
from flask import current_app

from khgeo.cli import get_db, main, with_database


@main.command("report")
@click.option("--year", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--group",
    type=click.Choice(["district", "unit"]),
    default="district",
    show_default=True,
    help="Zones by the plan's 2022 district, or by their 2025 commune/ward.",
)
@with_database
def report_command(year: int, fmt: str, output: str, group: str) -> None:
    """Write the consolidated yearly report on the plan (Word or Excel)."""
    from khgeo.clock import today, tracking_start
    from khgeo.services.reports import data as report_data
    from khgeo.services.reports.docx import render_docx
    from khgeo.services.reports.xlsx import render_xlsx

    with get_db().session() as session:
        from khgeo.services.units.naming import report_issuer  # the province now, from settings (issue 13)

        data = report_data.gather(
            session, year, today(), tracking_start(), report_issuer(current_app.config), group
        )
    body = render_docx(data) if fmt == "docx" else render_xlsx(data)
    with open(output, "wb") as handle:
        handle.write(body)
    counts = data.counts
    click.echo(
        f"{output}: {counts['zones']} zones, {counts['tasks']} tasks ({counts['overdue']} overdue), "
        f"{counts['agencies_submitted']}/{counts['agencies']} agencies reported"
    )
