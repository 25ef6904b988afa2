"""VN-2000 provincial TM-3 zones (EPSG:9205–9218, Bắc Giang: 9214) in spatial_ref_sys

PostGIS 3.3 ships VN-2000 geographic (4756) and UTM (3405, 3406) but not the provincial TM-3 zones that Vietnamese
cadastral and planning files use. The rows come from khgeo.geo.crs (pyproj's EPSG database) with the datum shift
EPSG:6960 written out in both srtext (TOWGS84) and proj4text (+towgs84): see that module's docstring.

Existing rows are left alone (a newer PostGIS may ship them); downgrade removes only rows this revision wrote.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from khgeo.geo import crs

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rows() -> list[dict]:
    rows = crs.spatial_ref_sys_rows()
    for row in rows:
        # a pyproj whose EPSG data moved on must not silently change the datum shift of stored data
        if crs.VN2000_TOWGS84_PROJ not in row["proj4text"]:
            raise RuntimeError(f"unexpected VN-2000 definition for EPSG:{row['srid']}: {row['proj4text']}")
    return rows


def upgrade() -> None:
    op.get_bind().execute(
        sa.text(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (:srid, :auth_name, :auth_srid, :srtext, :proj4text) ON CONFLICT (srid) DO NOTHING"
        ),
        _rows(),
    )


def downgrade() -> None:
    bind = op.get_bind()
    for row in _rows():
        bind.execute(
            sa.text("DELETE FROM spatial_ref_sys WHERE srid = :srid AND proj4text = :proj4text"),
            {"srid": row["srid"], "proj4text": row["proj4text"]},
        )
