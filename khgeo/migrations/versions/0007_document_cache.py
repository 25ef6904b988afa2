"""generated documents cached per data version; per-user download log for the rate limit

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("disposition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_document_cache")),
    )
    op.create_index(op.f("ix_document_cache_created_at"), "document_cache", ["created_at"], unique=False)
    op.create_table(
        "document_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_document_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_requests")),
    )
    op.create_index(op.f("ix_document_requests_at"), "document_requests", ["at"], unique=False)
    op.create_index(op.f("ix_document_requests_user_id"), "document_requests", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_document_requests_user_id"), table_name="document_requests")
    op.drop_index(op.f("ix_document_requests_at"), table_name="document_requests")
    op.drop_table("document_requests")
    op.drop_index(op.f("ix_document_cache_created_at"), table_name="document_cache")
    op.drop_table("document_cache")
