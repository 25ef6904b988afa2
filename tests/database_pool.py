"""Databases for tests, reset between tests instead of copied for each one.

Copying the template (CREATE DATABASE … TEMPLATE) cost ~80 ms of PostgreSQL's CPU per test and dropping it as
much again: with ~1,300 tests that was a third of the suite's CPU on a 2-core machine. Instead each worker keeps a
few copies and puts back, after each test, only the tables the test wrote to.

How a copy knows what a test wrote: the template gets (once per run, after migrations and seed)

- a ``khgeo_test`` schema holding a pristine copy of every table of ``public`` and the sequences' values;
- a statement-level trigger on every table of ``public`` (INSERT, UPDATE, DELETE, TRUNCATE) that records the
  table's name in ``khgeo_test.dirty`` — triggers of the app that write other tables fire those tables' own
  marks, so nothing written escapes. The marks have no unique key on purpose: two transactions marking the same
  table never wait for each other (a test holding one transaction open while another connection writes would
  otherwise hang), at the price of an occasional duplicate mark;
- an event trigger that records any DDL (a test that alters the schema): such a copy is dropped, not reset.

Resetting a copy (after closing the connections the test left busy; idle ones of the shared engines stay, see
engine_for): with ``session_replication_role = replica`` (no trigger of
the app, no foreign-key check fires while the data goes back), each written table is emptied and filled from its
pristine copy, and every sequence is set back. The app runs exactly as in production — real commits, several
connections, ``now()`` moving, deferred constraint triggers at commit; the test-only triggers write only to the
``khgeo_test`` schema. A copy whose reset fails for any reason is dropped and replaced by a fresh one.
"""

from __future__ import annotations

import itertools
import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from khgeo.pgcluster import LocalCluster

SCHEMA = "khgeo_test"  # spelled out in the SQL below
DDL_MARK = "*ddl*"  # also spelled out in the SQL below
PREFIX = "khgeo_pool"
_counter = itertools.count()

# -- engines shared by the apps of successive tests ------------------------------------------------------------
# Each test builds its own app, and each app its own engines: every test opened two or three new PostgreSQL
# connections, and a new backend costs ~15 ms of the server's CPU and ~10 ms of the client's before its first
# answer (a third of the server's CPU in the suite). The apps of tests on the same pooled copy share engines
# instead, so they reuse its idle connections, as one long-running app does. Between tests, a connection still
# checked out or inside a transaction, or holding an advisory lock, is closed (see _Copy.reset).
_engines: dict[str, dict[str, Engine]] = {}


def shares_engines(url: str) -> bool:
    return (make_url(url).database or "").startswith(PREFIX)


def engine_for(create_engine, url, **options) -> Engine:
    """``create_engine(url, **options)``, the same engine again for a pooled copy and the same options."""
    if not shares_engines(str(url)):
        return create_engine(url, **options)
    engines = _engines.setdefault(make_url(url).database or "", {})
    key = repr(sorted(options.items()))
    engine = engines.get(key)
    if engine is None:
        engine = engines[key] = create_engine(url, **options)
    return engine


def _release_engines(name: str, *, everything: bool) -> None:
    engines = _engines.pop(name, {}) if everything else _engines.get(name, {})
    for engine in engines.values():
        if everything or engine.pool.checkedout():  # type: ignore[attr-defined]
            engine.dispose()


_INSTRUMENT = """
CREATE SCHEMA khgeo_test;
CREATE UNLOGGED TABLE khgeo_test.dirty (name text NOT NULL);
CREATE FUNCTION khgeo_test.mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM khgeo_test.dirty WHERE name = TG_TABLE_NAME) THEN
        INSERT INTO khgeo_test.dirty VALUES (TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION khgeo_test.mark_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO khgeo_test.dirty VALUES ('*ddl*');
END $$;
CREATE TABLE khgeo_test.sequences AS
    SELECT format('%I.%I', schemaname, sequencename) AS name, coalesce(last_value, start_value) AS value,
           last_value IS NOT NULL AS called
    FROM pg_sequences WHERE schemaname = 'public';
"""


def _tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows]


def instrument_template(cluster: LocalCluster, template: str) -> None:
    """Give the (migrated, seeded) template its pristine copies, write marks and DDL mark. Run once per run."""
    with psycopg.connect(cluster.conninfo(template), autocommit=True) as conn:
        with conn.transaction():
            conn.execute(_INSTRUMENT)
            for table in _tables(conn):
                ident = sql.Identifier(table)
                conn.execute(
                    sql.SQL("CREATE TABLE {}.{} AS TABLE public.{}").format(
                        sql.Identifier(SCHEMA), ident, ident
                    )
                )
                conn.execute(
                    sql.SQL(
                        "CREATE TRIGGER zz_khgeo_test_dirty AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.{}"
                        " FOR EACH STATEMENT EXECUTE FUNCTION {}.mark_dirty()"
                    ).format(ident, sql.Identifier(SCHEMA))
                )
            conn.execute(
                sql.SQL(
                    "CREATE EVENT TRIGGER khgeo_test_ddl ON ddl_command_end EXECUTE FUNCTION {}.mark_ddl()"
                ).format(sql.Identifier(SCHEMA))
            )
            conn.execute(
                sql.SQL(
                    "CREATE EVENT TRIGGER khgeo_test_drop ON sql_drop EXECUTE FUNCTION {}.mark_ddl()"
                ).format(sql.Identifier(SCHEMA))
            )


class _Copy:
    """One copy of the template and the columns each table is filled back through."""

    def __init__(self, cluster: LocalCluster, template: str):
        self.cluster = cluster
        self.name = f"{PREFIX}{os.getpid()}_{next(_counter)}"
        cluster.create_database(self.name, template=template)
        self._fill: dict[str, sql.Composed] = {}
        self._admin: psycopg.Connection | None = None

    def fill_statement(self, conn: psycopg.Connection, table: str) -> sql.Composed:
        statement = self._fill.get(table)
        if statement is None:
            columns, identity_always = conn.execute(
                "SELECT array_agg(a.attname ORDER BY a.attnum), bool_or(a.attidentity = 'a')"
                " FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
                " AND NOT a.attisdropped AND a.attgenerated = ''",
                (f'public."{table}"',),
            ).fetchone()
            column_list = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
            statement = sql.SQL(
                "DELETE FROM public.{table}; INSERT INTO public.{table} ({columns}) {override}"
                "SELECT {columns} FROM {schema}.{table}"
            ).format(
                table=sql.Identifier(table),
                columns=column_list,
                override=sql.SQL("OVERRIDING SYSTEM VALUE " if identity_always else ""),
                schema=sql.Identifier(SCHEMA),
            )
            self._fill[table] = statement
        return statement

    def reset(self) -> bool:
        """Put back what the last test wrote. False if this copy cannot be reset (it is then dropped)."""
        _release_engines(self.name, everything=False)
        if self._admin is None or self._admin.closed:
            # kept open between resets: a new backend per reset cost ~20 ms of CPU
            self._admin = psycopg.connect(self.cluster.conninfo(self.name), autocommit=True)
        conn = self._admin
        # connections the test left busy are closed first: inside a transaction (it releases its locks as it
        # ends: lock_timeout below) or holding an advisory lock, or not an idle connection of a shared engine
        conn.execute(
            "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a"
            " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
            " AND (a.state <> 'idle' OR a.application_name NOT LIKE 'khgeo%'"
            "      OR EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))"
        )
        dirty = {name for (name,) in conn.execute("SELECT name FROM khgeo_test.dirty").fetchall()}
        if DDL_MARK in dirty:
            return False
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL lock_timeout = '5s'")
            for table in sorted(dirty):
                conn.execute(self.fill_statement(conn, table))
            conn.execute("SELECT setval(name, value, called) FROM khgeo_test.sequences")
            conn.execute("DELETE FROM khgeo_test.dirty")
        return True

    def drop(self) -> None:
        _release_engines(self.name, everything=True)
        if self._admin is not None:
            self._admin.close()
        self.cluster.drop_database(self.name)


class DatabasePool:
    """Copies of the template for this worker: ``take`` a clean one, ``give_back`` when done with it."""

    def __init__(self, cluster: LocalCluster, template: str):
        self.cluster = cluster
        self.template = template
        self._clean: list[_Copy] = []

    def take(self) -> _Copy:
        if self._clean:
            return self._clean.pop()
        return _Copy(self.cluster, self.template)

    def give_back(self, copy: _Copy) -> None:
        try:
            reset = copy.reset()
        except psycopg.Error:
            reset = False  # the copy is dropped: a broken admin connection or a reset that could not finish
        if reset:
            self._clean.append(copy)
        else:
            copy.drop()
