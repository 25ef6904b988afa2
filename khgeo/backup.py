"""Backups with pg_dump / pg_restore (custom format): PostGIS data, history, photos, users and the audit log.

Works the same for the embedded cluster (over its Unix socket) and for KHGEO_DATABASE_URL. A restore runs in a
single transaction, so a broken backup file leaves the database as it was; it refuses to overwrite a database
that already holds khgeo data unless forced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.engine import make_url

from khgeo.db import Database
from khgeo.errors import KhgeoError
from khgeo.pgcluster import find_bindir

# a dump file starts with this (pg_dump -Fc)
CUSTOM_FORMAT_MAGIC = b"PGDMP"


class BackupError(KhgeoError):
    status = 500


def _tool(name: str, database: Database) -> str:
    """pg_dump/pg_restore of the server's major version when we manage it, else the newest installed."""
    if database.cluster is not None:
        return str(database.cluster.bindir / name)
    try:
        return str(find_bindir() / name)
    except KhgeoError:
        found = shutil.which(name)
        if not found:
            raise BackupError(
                _l(
                    "%(tool)s not found: install the PostgreSQL client (apt install postgresql-client).",
                    tool=name,
                )
            ) from None
        return found


def _libpq_env(database: Database) -> tuple[str, dict[str, str]]:
    """The database name for the command line and the connection in libpq environment variables
    (so a password never appears in a process list)."""
    url = make_url(database.url)
    env = dict(os.environ)
    host = url.query.get("host") or url.host or ""
    env.update({"PGHOST": str(host), "PGDATABASE": url.database or "", "PGUSER": url.username or ""})
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.password:
        env["PGPASSWORD"] = url.password
    if url.query.get("sslmode"):
        env["PGSSLMODE"] = str(url.query["sslmode"])
    return url.database or "", env


def backup(database: Database, output: Path) -> int:
    """Write a custom-format dump to ``output`` (atomically: a failed dump never leaves a half file)."""
    dbname, env = _libpq_env(database)
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    result = subprocess.run(
        [
            _tool("pg_dump", database),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(partial),
            "--dbname",
            dbname,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(_l("pg_dump failed: %(detail)s", detail=result.stderr.strip()[-600:]))
    partial.replace(output)
    return output.stat().st_size


def holds_data(database: Database) -> bool:
    with database.engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('public.zones')")).scalar() is None:
            return False
        return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM zones)")).scalar())


def restore(database: Database, dump: Path, *, force: bool = False) -> None:
    """Restore ``dump`` into the database: into an empty one, or over khgeo data only with ``force``."""
    dump = Path(dump)
    with dump.open("rb") as handle:
        if handle.read(5) != CUSTOM_FORMAT_MAGIC:
            raise BackupError(_l("%(file)s is not a khgeo backup (pg_dump custom format).", file=str(dump)))
    listing = subprocess.run(
        [_tool("pg_restore", database), "--list", str(dump)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(
            _l("%(file)s is damaged: %(detail)s", file=str(dump), detail=listing.stderr.strip()[-400:])
        )
    if holds_data(database) and not force:
        raise BackupError(
            _l("The database already holds khgeo data: restore refuses to overwrite it without --force.")
        )
    dbname, env = _libpq_env(database)
    database.engine.dispose()  # no pooled connection may hold locks on what the restore drops
    # --clean drops each object of the dump before recreating it, all in one transaction: if anything fails,
    # PostgreSQL rolls everything back and the database is exactly as it was
    result = subprocess.run(
        [
            _tool("pg_restore", database),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            dbname,
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(
            _l("pg_restore failed, nothing was changed: %(detail)s", detail=result.stderr.strip()[-600:])
        )
