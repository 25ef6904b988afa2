"""Backups with pg_dump / pg_restore (custom format): PostGIS data, history, photos, users and the audit log.

Works the same for the embedded cluster (over its Unix socket) and for KHGEO_DATABASE_URL. A restore runs in a
single transaction, so a broken backup file leaves the database as it was; it refuses to overwrite a database
that already holds khgeo data unless forced, and a backup from a newer schema. A backup file is data, not code:
pg_restore only turns it into SQL, which khgeo checks and runs itself (docs/deployment.md, "What a restore
trusts").
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.engine import make_url

from khgeo import migrate
from khgeo.db import Database
from khgeo.errors import KhgeoError
from khgeo.pgcluster import find_bindir
from khgeo.services import stored_features
from khgeo.services.units.sql import UNITS_SQL
from khgeo.text import FOLD_FUNCTIONS_SQL

log = logging.getLogger(__name__)

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


# -- restore ----------------------------------------------------------------------------------------------------
# What a khgeo backup holds, by pg_restore --list entry type. Everything else (functions, procedures, triggers,
# rules, views, languages, casts, event triggers, foreign servers, policies…) is not khgeo's and is left out.
RESTORED_TYPES = frozenset(
    {
        "TABLE",
        "SEQUENCE",
        "SEQUENCE OWNED BY",
        "DEFAULT",
        "TABLE DATA",
        "SEQUENCE SET",
        "CONSTRAINT",
        "FK CONSTRAINT",
        "INDEX",
        "COMMENT",
    }
)
# postgis for the outlines; pg_trgm for the index of the zones' search text (migration 0017)
TRUSTED_EXTENSIONS = frozenset({"postgis", "pg_trgm"})
_TOC_ENTRY = re.compile(r"^(\d+); (\d+) (\d+) (.+)$")
_COPY_FROM_STDIN = re.compile(r'^COPY public\.("?[\w$]+"?) (\([^;]*\) )?FROM stdin;$')
# SQL the dump's kept entries must never contain: running server programs, reading or writing the server's
# files, code in any language, changing who we are, changing the server
_FORBIDDEN_SQL = re.compile(
    r"\bPROGRAM\b|\bCREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|TRIGGER|CONSTRAINT\s+TRIGGER|EVENT\s+TRIGGER|"
    r"RULE|LANGUAGE|TRUSTED|AGGREGATE|OPERATOR|CAST|SERVER|FOREIGN|PUBLICATION|SUBSCRIPTION|POLICY|VIEW|"
    r"MATERIALIZED|TRANSFORM|ACCESS\s+METHOD|ROLE|USER|DATABASE|TABLESPACE)\b|\bDO\s*(\$|'|LANGUAGE)|"
    r"\blo_(import|export)\b|\bpg_(read|write|stat)_\w*file|\bpg_ls_\w+|\bdblink|\bALTER\s+(SYSTEM|ROLE|USER|"
    r"DATABASE|EXTENSION|FUNCTION|PROCEDURE|LANGUAGE)\b|\bSET\s+(SESSION\s+AUTHORIZATION|ROLE|LOCAL\s+ROLE)\b|"
    r"\bRESET\s+(ROLE|SESSION)|\bLOAD\s+'|\bEXECUTE\b|\bCALL\b|\bINSTEAD\b|\bSECURITY\s+DEFINER\b",
    re.IGNORECASE,
)
_EXTENSION_SQL = re.compile(r"\bCREATE\s+EXTENSION\s+(IF\s+NOT\s+EXISTS\s+)?\"?(\w+)", re.IGNORECASE)


@dataclass
class RestorePlan:
    """What a restore will do: the dump's schema revision and the entries of the dump it leaves out."""

    revision: str
    skipped: list[str] = field(default_factory=list)


def _filtered_list(dump: Path, database: Database) -> tuple[str, list[str]]:
    """The dump's object list with only khgeo's kinds of objects (pg_restore --use-list), and what was left out."""
    listing = subprocess.run(
        [_tool("pg_restore", database), "--list", str(dump)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(
            _l("%(file)s is damaged: %(detail)s", file=str(dump), detail=listing.stderr.strip()[-400:])
        )
    kept, skipped = [], []
    for line in listing.stdout.splitlines():
        match = _TOC_ENTRY.match(line)
        if not match:
            continue  # a comment of the listing
        description = match.group(4)
        kind = next(
            (t for t in sorted(RESTORED_TYPES, key=len, reverse=True) if description.startswith(t + " ")), ""
        )
        rest = description[len(kind) :].split()
        if (
            kind == "COMMENT"
            and rest[:2] == ["-", "EXTENSION"]
            and rest[2:3]
            and rest[2] in TRUSTED_EXTENSIONS
        ):
            kept.append(line)
        elif kind and rest[:1] == ["public"]:
            kept.append(line)
        elif description.startswith("EXTENSION - ") and description.split()[2] in TRUSTED_EXTENSIONS:
            kept.append(line)
        else:
            skipped.append(description.strip())
    return "\n".join(kept) + "\n", skipped


def _script(dump: Path, database: Database, use_list: Path):
    """pg_restore's SQL for the kept entries, as ("sql", text) and ("copy", statement, [row lines]) steps.

    pg_restore only writes the script here (it connects to no database); khgeo runs the script itself, so no
    psql meta-command in a dump is ever run and no COPY other than plain table data is accepted.
    """
    errors = (
        tempfile.TemporaryFile()
    )  # a file, not a pipe: pg_restore never blocks on what it complains about
    process = subprocess.Popen(
        [
            _tool("pg_restore", database),
            "--use-list",
            str(use_list),
            "--no-owner",
            "--no-privileges",
            "--file",
            "-",
            str(dump),
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
    )
    assert process.stdout is not None
    sql: list[str] = []
    copy: tuple[str, list[bytes]] | None = None
    complete = False
    try:
        for raw in process.stdout:
            if copy is not None:
                if raw.rstrip(b"\n") == b"\\.":
                    yield ("copy", copy[0], copy[1])
                    copy = None
                else:
                    copy[1].append(raw)
                continue
            line = raw.decode("utf-8")
            stripped = line.strip()
            if stripped.startswith(("\\restrict ", "\\unrestrict ")):
                continue  # pg_dump's own guard against meta-commands; khgeo runs no psql
            if stripped.startswith("\\"):
                raise BackupError(f"{dump} holds a psql command ({stripped[:40]}): it is not a khgeo backup")
            if stripped.startswith("COPY "):
                if not _COPY_FROM_STDIN.match(stripped):
                    raise BackupError(f"{dump} holds a COPY that is not table data: refused")
                if sql:
                    yield ("sql", "".join(sql))
                    sql = []
                copy = (stripped, [])
                continue
            if not stripped.startswith("--"):
                sql.append(line)
        if sql:
            yield ("sql", "".join(sql))
        complete = True
    finally:
        if not complete:  # the reader stopped early (a refusal or a failed statement): stop pg_restore too
            process.kill()
        process.stdout.close()
        returncode = process.wait()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
        errors.close()
    if returncode != 0:
        raise BackupError(_l("%(file)s is damaged: %(detail)s", file=str(dump), detail=stderr.strip()[-400:]))


def _check(step: tuple, dump: Path) -> None:
    if step[0] != "sql":
        return
    text_ = step[1]
    found = _FORBIDDEN_SQL.search(text_)
    if found:
        raise BackupError(
            f"{dump} holds SQL a khgeo backup never has ({found.group(0)!r}): refused, nothing was changed"
        )
    for extension in _EXTENSION_SQL.finditer(text_):
        if extension.group(2).lower() not in TRUSTED_EXTENSIONS:
            raise BackupError(
                f"{dump} installs the extension {extension.group(2)}: refused, nothing was changed"
            )


def plan_restore(database: Database, dump: Path, use_list: Path) -> str:
    """Read the whole script once before anything runs: refuse what khgeo would never write; the dump's revision."""
    revision = None
    for step in _script(dump, database, use_list):
        _check(step, dump)
        if step[0] == "copy" and step[1].startswith("COPY public.alembic_version "):
            rows = [row.decode("utf-8").strip() for row in step[2] if row.strip()]
            revision = rows[0] if len(rows) == 1 else None
    if revision is None:
        raise BackupError(f"{dump} is not a khgeo backup: it records no schema revision (alembic_version)")
    known = migrate.known_revisions()
    if revision not in known:
        raise BackupError(
            f"{dump} was made by a newer khgeo: its schema is revision {revision}, this khgeo knows up to "
            f"{migrate.head_revision()}. Upgrade khgeo first, then restore."
        )
    return revision


def _drop_everything_khgeo(cursor) -> None:
    """Drop every table, view, sequence and routine of the public schema that is not part of an extension: what the
    dump does not have must not survive the restore."""
    cursor.execute(
        """
        SELECT format('DROP %s IF EXISTS %s CASCADE',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                      c.oid::regclass)
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
        """
    )
    statements = [statement for (statement,) in cursor.fetchall()]
    # rows users added to an extension's configuration tables (PostGIS: the VN-2000 spatial_ref_sys entries) are
    # in the dump as table data: empty them the way the extension says what is users'
    cursor.execute(
        """
        SELECT format('DELETE FROM %%s %%s', config.tab::regclass, config.cond)
        FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS config(tab, cond)
        WHERE e.extname = ANY(%s)
        """,
        (sorted(TRUSTED_EXTENSIONS),),
    )
    statements += [statement for (statement,) in cursor.fetchall()]
    for statement in statements:
        cursor.execute(statement)


def restore(database: Database, dump: Path, *, force: bool = False) -> RestorePlan:
    """Restore ``dump`` into the database: into an empty one, or over khgeo data only with ``force``.

    The database ends up holding exactly the dump's khgeo objects (tables the dump lacks are dropped), in one
    transaction: a refused or broken dump changes nothing. A dump from a newer schema is refused. Only khgeo's
    kinds of objects are restored (see RESTORED_TYPES) and the SQL is checked before it runs (docs/deployment.md,
    "What a restore trusts").
    """
    dump = Path(dump)
    with dump.open("rb") as handle:
        if handle.read(5) != CUSTOM_FORMAT_MAGIC:
            raise BackupError(_l("%(file)s is not a khgeo backup (pg_dump custom format).", file=str(dump)))
    use_list_text, skipped = _filtered_list(dump, database)
    with tempfile.TemporaryDirectory(prefix="khgeo-restore-") as workdir:
        use_list = Path(workdir) / "restore.list"
        use_list.write_text(use_list_text)
        revision = plan_restore(database, dump, use_list)
        if holds_data(database) and not force:
            raise BackupError(
                _l("The database already holds khgeo data: restore refuses to overwrite it without --force.")
            )
        database.dispose()  # no pooled connection may hold locks on what the restore drops
        connection = database.engine.connect()
        try:
            raw = connection.connection.driver_connection
            raw.rollback()  # whatever the pool's liveness check began: the restore is one transaction of its own
            try:
                with raw.cursor() as cursor:
                    _drop_everything_khgeo(cursor)
                    # a dump's functions are never restored: khgeo's own, which zones.search_text is generated
                    # from, must exist before the dump's tables
                    cursor.execute("SELECT set_config('search_path', 'public', true)")
                    cursor.execute(FOLD_FUNCTIONS_SQL)
                    for step in _script(dump, database, use_list):
                        _check(step, dump)
                        if step[0] == "sql":
                            cursor.execute(step[1])
                        else:
                            with cursor.copy(step[1]) as copy:
                                for row in step[2]:
                                    copy.write(row)
                    # a dump's functions and triggers are never restored: khgeo's own keep the zones' units
                    # (khgeo.services.units.sql) and the stored Features
                    cursor.execute("SELECT to_regclass('public.zone_units') IS NOT NULL")
                    if cursor.fetchone()[0]:  # a dump from before migration 0020 has no units yet
                        cursor.execute(
                            "SELECT set_config('search_path', 'public', true)"
                        )  # the script emptied it
                        cursor.execute(UNITS_SQL)
                    stored_features.sync_cursor(cursor)
                raw.commit()
            except BackupError:
                raw.rollback()
                raise
            except Exception as exc:  # psycopg's errors
                raw.rollback()
                raise BackupError(f"the restore failed, nothing was changed: {exc}") from None
        finally:
            connection.invalidate()  # the script changed session settings (search_path): never pool it
            connection.close()
            database.dispose()
    if skipped:
        log.warning("restore of %s left out what khgeo never writes: %s", dump, "; ".join(skipped))
    return RestorePlan(revision=revision, skipped=skipped)
