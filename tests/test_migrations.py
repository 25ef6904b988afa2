"""The schema comes only from Alembic: upgrade, downgrade to nothing and upgrade again on an empty database."""

from __future__ import annotations

from sqlalchemy import inspect

from khgeo import migrate
from khgeo.db import Database
from tests.conftest import new_database


def test_upgrade_downgrade_upgrade(pg_cluster):
    name = new_database(pg_cluster, template=None)
    database = Database(pg_cluster.url(name))
    try:
        assert migrate.upgrade(database) == (None, migrate.head_revision())
        tables = set(inspect(database.engine).get_table_names())
        assert {"zones", "districts", "communes", "agencies", "tasks", "task_zones"} <= tables
        indexes = {index["name"] for index in inspect(database.engine).get_indexes("zones")}
        assert "idx_zones_geom" in indexes, "spatial index on zone outlines"
        migrate.downgrade(database, "base")
        assert "zones" not in set(inspect(database.engine).get_table_names())
        migrate.upgrade(database)
        assert migrate.current_revision(database) == migrate.head_revision()
    finally:
        database.engine.dispose()
        pg_cluster.drop_database(name)


def test_the_migrations_build_exactly_the_models(pg_cluster):
    """A model change without its migration (or the reverse) fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from geoalchemy2 import alembic_helpers

    from khgeo.models import Base

    name = new_database(pg_cluster, template=None)
    database = Database(pg_cluster.url(name))
    try:
        migrate.upgrade(database)
        with database.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": alembic_helpers.include_object, "compare_type": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        database.engine.dispose()
        pg_cluster.drop_database(name)
