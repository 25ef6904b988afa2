"""parcels.geom_3857: each parcel's outline in Web Mercator (EPSG:3857), kept by PostgreSQL (a stored generated
column) with its own spatial index, so a vector tile (khgeo/services/parcels/tiles.py) neither transforms every
parcel it holds on every request nor converts its square to degrees: at z14 over 4,700 parcels that was 40 % of
the tile's time (benchmarks/parcels_scale.py).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "parcels",
        sa.Column(
            "geom_3857",
            Geometry("MULTIPOLYGON", srid=3857, spatial_index=False),
            sa.Computed("ST_Transform(geom, 3857)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index("idx_parcels_geom_3857", "parcels", ["geom_3857"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("idx_parcels_geom_3857", table_name="parcels", postgresql_using="gist")
    op.drop_column("parcels", "geom_3857")
