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

# as in khgeo.models.PAGE_LEADING_FACTS when this migration was written (a migration never imports the models)
FACTS = {
    "aliases": "cardinality(aliases) > 0",
    "stated_area": "stated_area_ha IS NOT NULL",
    "computed_area": "computed_area_ha IS NOT NULL",
    "clearance_area": "clearance_area_ha IS NOT NULL",
    "cleared_area": "cleared_area_ha IS NOT NULL",
    "clearance_pct": "clearance_pct IS NOT NULL",
    "clearance_known": "clearance_pct IS NOT NULL OR clearance_incomplete IS NOT NULL",
    "households_total": "households_total IS NOT NULL",
    "households_agreed": "households_agreed IS NOT NULL",
    "wwtp_capacity": "wwtp_capacity_m3_day IS NOT NULL",
    "infrastructure_pct": "infrastructure_pct IS NOT NULL",
    "occupancy_pct": "occupancy_pct IS NOT NULL",
    "as_of": "as_of IS NOT NULL",
}


def upgrade() -> None:
    for key, condition in FACTS.items():
        op.create_index(
            f"ix_zones_with_{key}",
            "zones",
            ["id"],
            postgresql_where=sa.text(f"retired_at IS NULL AND ({condition})"),
        )


def downgrade() -> None:
    for key in FACTS:
        op.drop_index(f"ix_zones_with_{key}", table_name="zones")
