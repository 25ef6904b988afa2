"""parcels: land parcels of site clearance, the date and document of each stage, their history, legal timers as
data, and a version token for the parcel tiles' ETags

Revision ID: 0021
Revises: 0019
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every transaction that writes parcels (or their steps) draws a new token, once, at its commit: "same token" means
# "same parcels", so a tile's ETag can be the token (khgeo/services/parcels/tiles.py). At commit (deferred constraint
# triggers, as the zones' token since 0018), so a writer holds the one version row only while it commits: drawn at
# the first write, a long import would make every field update wait for its end.
VERSION_FUNCTION = """
CREATE FUNCTION khgeo_parcels_written() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
    IF coalesce(current_setting('khgeo.parcels_version_drawn', true), '') <> 'on' THEN
        PERFORM set_config('khgeo.parcels_version_drawn', 'on', true);
        UPDATE parcels_version SET token = gen_random_uuid() WHERE id = 1;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "parcel_timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("label_en", sa.Text(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "stage IN ('not_notified', 'notified', 'inventoried', 'plan_posted', 'plan_approved', 'paid', 'recovery_decided', 'handed_over')",
            name=op.f("ck_parcel_timers_stage"),
        ),
        sa.CheckConstraint("days > 0 OR months > 0", name=op.f("ck_parcel_timers_length")),
        sa.CheckConstraint("length(trim(citation)) > 0", name=op.f("ck_parcel_timers_citation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_timers")),
        sa.UniqueConstraint("code", name=op.f("uq_parcel_timers_code")),
    )
    op.create_table(
        "parcels_version",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_parcels_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels_version")),
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=12), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("sheet", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("old_sheet", sa.String(length=20), nullable=True),
        sa.Column("old_number", sa.String(length=20), nullable=True),
        sa.Column("land_type", sa.String(length=20), nullable=False),
        sa.Column("legal_area_m2", sa.Numeric(precision=12, scale=1), nullable=True),
        sa.Column("area_m2", sa.Double(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("land_user_kind", sa.String(length=20), nullable=True),
        sa.Column("land_user_name", sa.Text(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("people", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("zone_overridden", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("geometry_source", sa.String(length=20), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("stage_date", sa.Date(), nullable=True),
        sa.Column("compulsory_inventory", sa.Boolean(), nullable=False),
        sa.Column("enforcement", sa.Boolean(), nullable=False),
        sa.Column("dispute", sa.Boolean(), nullable=False),
        sa.Column("resettlement_needed", sa.Boolean(), nullable=False),
        sa.Column("amount_approved", sa.Numeric(precision=16, scale=0), nullable=True),
        sa.Column("amount_paid", sa.Numeric(precision=16, scale=0), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("commune_code ~ '^[0-9]{5}$'", name=op.f("ck_parcels_commune_code")),
        sa.CheckConstraint(
            "geometry_source IN ('illustrative', 'surveyed', 'imported')",
            name=op.f("ck_parcels_geometry_source"),
        ),
        sa.CheckConstraint(
            "land_user_kind IS NULL OR land_user_kind IN ('household', 'individual', 'organisation')",
            name=op.f("ck_parcels_land_user_kind"),
        ),
        sa.CheckConstraint(
            "stage IN ('not_notified', 'notified', 'inventoried', 'plan_posted', 'plan_approved', 'paid', 'recovery_decided', 'handed_over')",
            name=op.f("ck_parcels_stage"),
        ),
        sa.CheckConstraint("uid ~ '^[0-9b-hjkmnp-z]{12}$'", name=op.f("ck_parcels_uid")),
        sa.CheckConstraint(
            "amount_approved IS NULL OR amount_approved >= 0", name=op.f("ck_parcels_amount_approved")
        ),
        sa.CheckConstraint("amount_paid IS NULL OR amount_paid >= 0", name=op.f("ck_parcels_amount_paid")),
        sa.CheckConstraint("households IS NULL OR households >= 0", name=op.f("ck_parcels_households")),
        sa.CheckConstraint("legal_area_m2 IS NULL OR legal_area_m2 > 0", name=op.f("ck_parcels_legal_area")),
        sa.CheckConstraint("people IS NULL OR people >= 0", name=op.f("ck_parcels_people")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_parcels_version")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_parcels_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_parcels_zone_id_zones"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        sa.UniqueConstraint("commune_code", "sheet", "number", name="uq_parcels_commune_sheet_number"),
        sa.UniqueConstraint("uid", name=op.f("uq_parcels_uid")),
    )
    op.create_index(op.f("ix_parcels_commune_code"), "parcels", ["commune_code"], unique=False)
    op.create_index("ix_parcels_zone_id_stage", "parcels", ["zone_id", "stage"], unique=False)
    op.create_table(
        "parcel_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("parcel_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.UUID(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["parcel_id"], ["parcels.id"], name=op.f("fk_parcel_events_parcel_id_parcels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_parcel_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_events")),
        sa.UniqueConstraint("request_id", name=op.f("uq_parcel_events_request_id")),
    )
    op.create_index("ix_parcel_events_parcel_id_at", "parcel_events", ["parcel_id", "at"], unique=False)
    op.create_table(
        "parcel_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("document_signer", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "stage IN ('not_notified', 'notified', 'inventoried', 'plan_posted', 'plan_approved', 'paid', 'recovery_decided', 'handed_over')",
            name=op.f("ck_parcel_steps_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["parcel_id"], ["parcels.id"], name=op.f("fk_parcel_steps_parcel_id_parcels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_steps")),
        sa.UniqueConstraint("parcel_id", "stage", name="uq_parcel_steps_parcel_stage"),
    )
    op.execute("INSERT INTO parcels_version (id) VALUES (1)")
    op.execute(VERSION_FUNCTION)
    for table in ("parcels", "parcel_steps"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_version_at_commit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION khgeo_parcels_written()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_version_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION khgeo_parcels_written()"
        )


def downgrade() -> None:
    op.drop_table("parcel_steps")
    op.drop_table("parcel_events")
    op.drop_table("parcels")
    op.drop_table("parcels_version")
    op.drop_table("parcel_timers")
    op.execute("DROP FUNCTION khgeo_parcels_written()")
