"""Partial indexes of the monitored zones having each fact a type-guessing client must meet on the first OGC API
page (khgeo.models.PAGE_LEADING_FACTS): finding the first zone with it is then one index probe per page.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as in khgeo.models.PAGE_LEADING_FACTS when this migration was written (a migration never imports the models):
# each index's name and its whole predicate, written out
INDEXES = {
    "ix_zones_with_aliases": "retired_at IS NULL AND cardinality(aliases) > 0",
    "ix_zones_with_stated_area": "retired_at IS NULL AND stated_area_ha IS NOT NULL",
    "ix_zones_with_computed_area": "retired_at IS NULL AND computed_area_ha IS NOT NULL",
    "ix_zones_with_clearance_area": "retired_at IS NULL AND clearance_area_ha IS NOT NULL",
    "ix_zones_with_cleared_area": "retired_at IS NULL AND cleared_area_ha IS NOT NULL",
    "ix_zones_with_clearance_pct": "retired_at IS NULL AND clearance_pct IS NOT NULL",
    "ix_zones_with_clearance_known": (
        "retired_at IS NULL AND (clearance_pct IS NOT NULL OR clearance_incomplete IS NOT NULL)"
    ),
    "ix_zones_with_households_total": "retired_at IS NULL AND households_total IS NOT NULL",
    "ix_zones_with_households_agreed": "retired_at IS NULL AND households_agreed IS NOT NULL",
    "ix_zones_with_wwtp_capacity": "retired_at IS NULL AND wwtp_capacity_m3_day IS NOT NULL",
    "ix_zones_with_infrastructure_pct": "retired_at IS NULL AND infrastructure_pct IS NOT NULL",
    "ix_zones_with_occupancy_pct": "retired_at IS NULL AND occupancy_pct IS NOT NULL",
    "ix_zones_with_as_of": "retired_at IS NULL AND as_of IS NOT NULL",
}


def upgrade() -> None:
    for name, predicate in INDEXES.items():
        op.create_index(name, "zones", ["id"], postgresql_where=sa.text(predicate))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="zones")
