"""Each zone's CRS84 GeoJSON Feature, kept in zones.feature_json by the database itself.

Why: building the Features is most of the database time of a page of the OGC API or /api/zones (properties and
geometry as JSON, for every zone, on every request). The zones change rarely; their Features are read all the time.

How it stays exact: the SQL that writes the column is GENERATED from the one serialisation
(khgeo.services.zones.feature_text, the same expression the other CRSs are served with), installed as the
function khgeo_store_zone_features(zone ids), and called by statement-level triggers after every INSERT or UPDATE
of zones and every UPDATE of districts (a renamed district changes its zones' "district" property), in the same
transaction. So no write path can leave a Feature stale: the ORM, the importers, admin edits, retire and restore,
seed, raw SQL in a migration or a psql session all go through the triggers.

``sync`` installs (or replaces) the functions and triggers when the serialisation they were generated from has
changed, and then rewrites every zone's Feature: ``khgeo db upgrade`` (khgeo.migrate.upgrade), ``khgeo serve`` and
a restore (which never restores functions or triggers from a dump) run it, so a code change to the serialisation
reaches the stored Features before the first request. The fingerprint of the generated SQL is a comment
line in the body of khgeo_store_zone_features.

The stored text follows the session's TimeZone for updated_at, like the computed one: khgeo's sessions all use
the server's. The functions run with search_path public (khgeo's schema), whatever the writer's session has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import any_, literal_column, select
from sqlalchemy.dialects import postgresql

from khgeo.models import District, Zone

STORE_FUNCTION = "khgeo_store_zone_features(integer[])"
# set (transaction-locally) while the function writes the column, so its own UPDATE does not fire it again
GUARD = "khgeo.storing_zone_features"
MARK = "khgeo stored features"
TRIGGERS = {
    "zones_store_features_insert": "AFTER INSERT ON zones REFERENCING NEW TABLE AS changed",
    "zones_store_features_update": "AFTER UPDATE ON zones REFERENCING NEW TABLE AS changed",
    "districts_store_zone_features": "AFTER UPDATE ON districts REFERENCING NEW TABLE AS changed",
    "zones_features_version_truncate": "AFTER TRUNCATE ON zones",
}
# The token moves at commit (deferred constraint triggers, once per transaction): a writer holds the one version
# row only while it commits. Drawn at the first write instead, a long transaction (an import) held it to its end,
# and every other writer of zones waited behind it — a field update for minutes, a concurrent edit for ever when
# the import's own thread waited for it.
CONSTRAINT_TRIGGERS = {
    "zones_features_version_at_commit": "AFTER INSERT OR UPDATE OR DELETE ON zones",
}
TRIGGER_FUNCTIONS = {
    "zones_store_features_insert": "khgeo_zones_changed",
    "zones_store_features_update": "khgeo_zones_changed",
    "districts_store_zone_features": "khgeo_districts_changed",
    "zones_features_version_truncate": "khgeo_zones_deleted",
    "zones_features_version_at_commit": "khgeo_features_version_at_commit",
}
# every transaction that writes zones (their Features, or deletes them) draws a new token: pages kept in memory
# under the old one are no longer served (khgeo.services.interop.ogc.PageCache). In the writer's transaction, so readers
# see the token and the zones change together; random, so a token never comes back for other data (after a
# restore, the dump's token comes back with the dump's zones).
BUMPED = "khgeo.features_version_drawn"
NEW_VERSION = "UPDATE zone_features_version SET token = gen_random_uuid();"

Execute = Callable[[str], Any]  # runs one SQL statement; returns the first column of the first row, or None


def _fresh_features_sql() -> str:
    """SELECT id, feature FROM the zones whose id is in zone_ids: the serialisation, compiled to literal SQL."""
    from khgeo.services.zones import default_geometry_json, feature_text

    query = (
        select(Zone.id, feature_text(default_geometry_json()).label("feature"))
        .select_from(Zone)
        .outerjoin(District, Zone.district_id == District.id)
        .where(Zone.id == any_(literal_column("zone_ids")))
    )
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    if "$" in sql or "%%" in sql:  # never the case today: it would break the dollar quoting or the literals
        raise RuntimeError("the serialisation's SQL cannot be embedded in a function body")
    return sql


@lru_cache(maxsize=1)
def install_sql() -> tuple[str, str]:
    """(the SQL creating the functions and triggers, the fingerprint line it carries)."""
    # built from constants and SQLAlchemy's compiled literals only: no value from outside
    function = f"""
CREATE OR REPLACE FUNCTION khgeo_store_zone_features(zone_ids integer[]) RETURNS void
LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    IF cardinality(zone_ids) > 0 THEN
        PERFORM set_config('{GUARD}', 'on', true);
        UPDATE zones SET feature_json = fresh.feature
        FROM ({_fresh_features_sql()}) AS fresh
        WHERE zones.id = fresh.id AND zones.feature_json IS DISTINCT FROM fresh.feature;
        PERFORM set_config('{GUARD}', 'off', true);
    END IF;
END
$fn$;
CREATE OR REPLACE FUNCTION khgeo_zones_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    {NEW_VERSION}
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION khgeo_features_version_at_commit() RETURNS trigger LANGUAGE plpgsql
SET search_path = public AS $fn$
BEGIN
    IF coalesce(current_setting('{BUMPED}', true), '') <> 'on' THEN
        PERFORM set_config('{BUMPED}', 'on', true);
        {NEW_VERSION}
    END IF;
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION khgeo_zones_changed() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    IF coalesce(current_setting('{GUARD}', true), '') <> 'on' THEN
        PERFORM khgeo_store_zone_features(ARRAY(SELECT id FROM changed));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION khgeo_districts_changed() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    PERFORM khgeo_store_zone_features(
        ARRAY(SELECT zones.id FROM zones JOIN changed ON zones.district_id = changed.id));
    RETURN NULL;
END
$fn$;
"""  # noqa: S608
    fingerprint = hashlib.sha256(function.encode()).hexdigest()[:16]
    triggers = (
        "".join(
            f"CREATE OR REPLACE TRIGGER {name} {event} FOR EACH STATEMENT EXECUTE FUNCTION "
            f"{TRIGGER_FUNCTIONS[name]}();\n"
            for name, event in TRIGGERS.items()
        )
        + "DROP TRIGGER IF EXISTS zones_features_version_delete ON zones;\n"
        + "".join(  # an earlier name
            # OR REPLACE is not allowed on constraint triggers
            f"DROP TRIGGER IF EXISTS {name} ON zones;\n"
            f"CREATE CONSTRAINT TRIGGER {name} {event} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
            f"{TRIGGER_FUNCTIONS[name]}();\n"
            for name, event in CONSTRAINT_TRIGGERS.items()
        )
    )
    # the fingerprint lives in the body (a COMMENT would be restored from a dump without its function)
    mark = f"-- {MARK} {fingerprint}\n"
    return function.replace(
        "BEGIN\n    IF cardinality", f"BEGIN\n    {mark}    IF cardinality", 1
    ) + triggers, mark


def sync(execute: Execute) -> bool:
    """Install the functions and triggers if they are missing or were generated from another serialisation, and
    then rewrite every zone's Feature. True when it did. Nothing before the schema has zones.feature_json."""
    has_column = execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'zones' AND column_name = 'feature_json'"
    )
    if not has_column:
        return False
    sql, fingerprint = install_sql()
    installed = execute(
        "SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('khgeo_store_zone_features(integer[])')"
    )
    installed = installed or ""
    names = ", ".join(f"'{name}'" for name in [*TRIGGERS, *CONSTRAINT_TRIGGERS])
    query = f"SELECT count(*) FROM pg_trigger WHERE tgname IN ({names}) AND NOT tgisinternal"  # noqa: S608
    triggers = execute(query)
    if fingerprint in installed and triggers == len(TRIGGERS) + len(CONSTRAINT_TRIGGERS):
        return False
    execute(sql)
    execute("SELECT khgeo_store_zone_features(ARRAY(SELECT id FROM zones))")
    return True


def sync_connection(connection) -> bool:
    """sync on a SQLAlchemy Connection (in its transaction)."""

    def execute(sql: str) -> Any:
        result = connection.exec_driver_sql(sql)
        return result.scalar() if result.returns_rows else None

    return sync(execute)


def sync_cursor(cursor) -> bool:
    """sync on a psycopg cursor (in its transaction), e.g. a restore's, whose script emptied the search_path."""
    cursor.execute("SELECT set_config('search_path', 'public', true)")

    def execute(sql: str) -> Any:
        cursor.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return None if row is None else row[0]

    return sync(execute)
