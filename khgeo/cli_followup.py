"""``khgeo notify`` and ``khgeo letter``: follow-up that happens by itself (khgeo/services/followup)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from khgeo.cli import get_db, main, with_database


@main.command("notify")
@click.option(
    "--dry-run", is_flag=True, help="List what would go out (in the app, by e-mail); write nothing."
)
@with_database
def notify_command(dry_run: bool) -> None:
    """Send today's reminders (deadlines, late reports, stale zones, weekly digest) once; run it from a timer."""
    from khgeo import clock
    from khgeo.services.followup import notify

    result = notify.run(
        get_db(),
        current_app.config,
        today=clock.today(),
        now=clock.now(),
        tracking_start=clock.tracking_start(),
        dry_run=dry_run,
    )
    if result.busy:
        click.echo("another `khgeo notify` is running: nothing done")
        return
    if dry_run:
        for item in result.planned:
            who = item.user.username if item.user is not None else f"agency #{item.agency_id}"
            channels = ", ".join(
                c
                for c, on in (
                    ("app", item.in_app and item.user is not None),
                    (f"e-mail {item.email}", bool(item.email and result.smtp)),
                )
                if on
            )
            click.echo(f"{item.event.kind}\t{who}\t{channels}\t{item.event.title}")
        click.echo(f"{len(result.planned)} to send (dry run: nothing written)")
        return
    click.echo(f"{result.notifications} new notifications in the app")
    if not result.smtp:
        click.echo("e-mail off (KHGEO_SMTP_URL is not set): in the app only")
        return
    sent = result.sent
    click.echo(
        f"{result.queued} e-mails queued; sent {sent.sent}, waiting to retry {sent.retried}, failed {sent.failed}"
    )
    if sent.error:
        click.echo(f"mail server {result.smtp}: {sent.error}", err=True)


@main.command("letter")
@click.option("--agency", "agency_code", help="Agency code, e.g. SCT.")
@click.option("--all-late", is_flag=True, help="One letter per agency with overdue tasks or missing reports.")
@click.option(
    "--output",
    type=click.Path(writable=True, path_type=Path),
    required=True,
    help="The DOCX file; with --all-late, a folder.",
)
@with_database
def letter_command(agency_code: str | None, all_late: bool, output: Path) -> None:
    """Write an urging letter (công văn đôn đốc, DOCX) to an agency about its overdue tasks and missing reports."""
    from khgeo import clock
    from khgeo.services.followup import letters

    if bool(agency_code) == all_late:
        raise click.UsageError("give --agency CODE or --all-late")
    with get_db().session() as session:
        if all_late:
            found = letters.late_agencies(session, clock.today(), clock.tracking_start())
            output.mkdir(parents=True, exist_ok=True)
            targets = [(letter, output / letter.file_name) for letter in found]
        else:
            letter = letters.gather(
                session, agency_code.strip().upper(), clock.today(), clock.tracking_start()
            )
            targets = [(letter, output)]
        for letter, path in targets:
            path.write_bytes(letters.render(letter, current_app.config))
            click.echo(
                f"{path}: {letter.agency.code}, {len(letter.overdue)} overdue tasks, "
                f"{len(letter.missing_reports)} missing reports"
            )
    if all_late and not targets:
        click.echo("no agency has overdue tasks or missing reports")
