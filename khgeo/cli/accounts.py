"""``khgeo users``: accounts, their areas of responsibility and API tokens."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask_babel import gettext as _

from khgeo.cli import get_db, main, with_database

ROLE_NAMES = "viewer, field, planner, admin"


@main.group()
def users() -> None:
    """Accounts: create, list, disable, API tokens (create, list, revoke)."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help=f"One of {ROLE_NAMES}.")
@click.option(
    "--district", "districts", multiple=True, help="District (GSO code or name) a field user may edit."
)
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="Unit of 2025 or 2022 (code or name, e.g. 'Phường Nếnh') whose zones a field user may edit; repeatable.",
)
@click.option("--name", "display_name", default="", help="Full name shown in the history.")
@click.option("--agency", default=None, help="Agency code the user reports for (e.g. SCT, UBND_VY).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@with_database
def users_create(
    username: str,
    role: str,
    districts: tuple[str, ...],
    units: tuple[str, ...],
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
            units=list(units),
        )
        district_names = ", ".join([*(d.name for d in user.districts), *(u.full_name for u in user.units)])
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
            districts = (
                ", ".join([*(d.name for d in user.districts), *(u.full_name for u in user.units)]) or "—"
            )
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
