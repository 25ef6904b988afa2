"""zone_features_version: one row whose token changes with every write to the zones' Features or page membership

The triggers of khgeo.services.stored_features draw a new random token in the same transaction as every zone
insert, update, delete or truncate and every district update; a server keeps OGC API pages in memory under the
token they were read with (khgeo.services.interop.ogc.PageCache), so a page is served from memory only while the data it
was made from is still the data.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zone_features_version",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "token",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_zone_features_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_features_version")),
    )
    op.execute("INSERT INTO zone_features_version (id) VALUES (1)")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS zones_features_version_delete ON zones")  # the first name
    op.execute("DROP TRIGGER IF EXISTS zones_features_version_truncate ON zones")
    op.execute("DROP TRIGGER IF EXISTS zones_features_version_at_commit ON zones")
    op.execute("DROP FUNCTION IF EXISTS khgeo_zones_deleted()")
    op.execute("DROP FUNCTION IF EXISTS khgeo_features_version_at_commit()")
    op.drop_table("zone_features_version")
