"""zones.feature_json: each zone's CRS84 GeoJSON Feature, kept by triggers (khgeo.services.stored_features);
an index of the monitored zones' ids

The functions and triggers that fill the column are generated from the serialisation in the code and installed
after the migrations by khgeo.migrate.upgrade (stored_features.sync), which then writes every zone's Feature.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("zones", sa.Column("feature_json", sa.Text(), nullable=True))
    # stored out of line and uncompressed: a page reads 1,000 of them, and decompressing PostgreSQL's default
    # (pglz) cost three times the whole query (benchmarks/ogc_vs_peers.py); the text is compressed on the wire
    op.execute("ALTER TABLE zones ALTER COLUMN feature_json SET STORAGE EXTERNAL")
    # a page of the monitored zones counts them and takes its ids from this index alone (index-only scans)
    op.create_index("ix_zones_monitored_id", "zones", ["id"], postgresql_where=sa.text("retired_at IS NULL"))


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS zones_store_features_insert ON zones;
        DROP TRIGGER IF EXISTS zones_store_features_update ON zones;
        DROP TRIGGER IF EXISTS districts_store_zone_features ON districts;
        DROP FUNCTION IF EXISTS khgeo_zones_changed();
        DROP FUNCTION IF EXISTS khgeo_districts_changed();
        DROP FUNCTION IF EXISTS khgeo_store_zone_features(integer[]);
        """
    )
    op.drop_index("ix_zones_monitored_id", table_name="zones")
    op.drop_column("zones", "feature_json")
