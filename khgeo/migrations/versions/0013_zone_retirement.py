"""zones can be retired (and restored) by an admin; history entries of kind "info" (an admin edited the facts)

Revision ID: 0013
Revises: 0005
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('seed', 'status', 'geometry', 'import')"
KINDS_AFTER = "kind IN ('seed', 'status', 'geometry', 'import', 'info')"


def upgrade() -> None:
    op.add_column("zones", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("zones", sa.Column("retired_by_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_zones_retired_by_id_users"), "zones", "users", ["retired_by_id"], ["id"], ondelete="SET NULL"
    )
    op.drop_constraint(op.f("ck_zone_updates_kind"), "zone_updates", type_="check")
    op.create_check_constraint(op.f("ck_zone_updates_kind"), "zone_updates", KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM zone_updates WHERE kind = 'info'")
    op.drop_constraint(op.f("ck_zone_updates_kind"), "zone_updates", type_="check")
    op.create_check_constraint(op.f("ck_zone_updates_kind"), "zone_updates", KINDS_BEFORE)
    op.drop_constraint(op.f("fk_zones_retired_by_id_users"), "zones", type_="foreignkey")
    op.drop_column("zones", "retired_by_id")
    op.drop_column("zones", "retired_at")
