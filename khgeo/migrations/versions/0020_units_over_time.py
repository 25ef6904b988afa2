"""Administrative units over time: the 2022 units beside the 2025 ones, predecessor → successor links, each
zone's current unit(s) (kept by the database), accounts scoped to units, agency successions

``admin_units`` holds both periods (filled by ``khgeo seed`` from data/units-2025 and the 2022 register; the
districts/communes tables and every reference to them stay). ``zone_units`` is written only by the function
khgeo_place_zones below, run by triggers: after every insert or update of zones (before the stored Features are
written: triggers of one event fire in name order, and zones_place_… sorts before zones_store_…), and after any
change to the units, their links or the name placements (then the stored Features are rewritten too). A zone's
units come from its outline when it has one that is not illustrative (every 2025 unit it overlaps by at least
2 % of its area: slivers from imprecise boundaries are ignored), else from the crosswalk of the communes the plan
names in its 2022 district.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# the functions and triggers that keep zone_units and label the zones (a restore installs them again, as it does
# khgeo_fold: a dump's functions and triggers are never restored)
from khgeo.services.units.sql import UNITS_SQL

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "admin_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("unit_type", sa.Text(), nullable=False),
        sa.Column("later_names", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("level IN ('province', 'district', 'commune')", name=op.f("ck_admin_units_level")),
        sa.CheckConstraint("period IN ('2022', '2025')", name=op.f("ck_admin_units_period")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_admin_units_validity"),
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["communes.id"],
            name=op.f("fk_admin_units_commune_id_communes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_admin_units_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["admin_units.id"],
            name=op.f("fk_admin_units_parent_id_admin_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_units")),
        sa.UniqueConstraint("commune_id", name=op.f("uq_admin_units_commune_id")),
        sa.UniqueConstraint("district_id", name=op.f("uq_admin_units_district_id")),
        sa.UniqueConstraint("period", "level", "code", name="uq_admin_units_period_level_code"),
    )
    op.create_geospatial_index(
        "idx_admin_units_geom",
        "admin_units",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_admin_units_parent_id"), "admin_units", ["parent_id"], unique=False)
    op.create_table(
        "admin_unit_links",
        sa.Column("predecessor_id", sa.Integer(), nullable=False),
        sa.Column("successor_id", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["predecessor_id"],
            ["admin_units.id"],
            name=op.f("fk_admin_unit_links_predecessor_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"],
            ["admin_units.id"],
            name=op.f("fk_admin_unit_links_successor_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("predecessor_id", "successor_id", name=op.f("pk_admin_unit_links")),
    )
    op.create_index(
        op.f("ix_admin_unit_links_successor_id"), "admin_unit_links", ["successor_id"], unique=False
    )
    op.create_table(
        "unit_name_placements",
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_units.id"],
            name=op.f("fk_unit_name_placements_unit_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name_folded", "unit_id", name=op.f("pk_unit_name_placements")),
    )
    op.create_table(
        "zone_units",
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=10), nullable=False),
        sa.CheckConstraint("basis IN ('outline', 'crosswalk')", name=op.f("ck_zone_units_basis")),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_units.id"],
            name=op.f("fk_zone_units_unit_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_zone_units_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("zone_id", "unit_id", name=op.f("pk_zone_units")),
    )
    op.create_index(op.f("ix_zone_units_unit_id"), "zone_units", ["unit_id"], unique=False)
    op.create_table(
        "user_units",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_units.id"],
            name=op.f("fk_user_units_unit_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_units_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "unit_id", name=op.f("pk_user_units")),
    )
    op.create_table(
        "agency_successions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.Integer(), nullable=False),
        sa.Column("successor_id", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('merged', 'renamed', 'split')", name=op.f("ck_agency_successions_kind")),
        sa.CheckConstraint("predecessor_id <> successor_id", name=op.f("ck_agency_successions_not_itself")),
        sa.ForeignKeyConstraint(
            ["predecessor_id"],
            ["agencies.id"],
            name=op.f("fk_agency_successions_predecessor_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"],
            ["agencies.id"],
            name=op.f("fk_agency_successions_successor_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_successions")),
        sa.UniqueConstraint("predecessor_id", "successor_id", name="uq_agency_successions_pair"),
    )
    op.create_index(
        op.f("ix_agency_successions_predecessor_id"), "agency_successions", ["predecessor_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_successions_successor_id"), "agency_successions", ["successor_id"], unique=False
    )
    op.execute(UNITS_SQL)


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS zones_place_units_insert ON zones;
        DROP TRIGGER IF EXISTS zones_place_units_update ON zones;
        """
    )
    op.drop_table("agency_successions")
    op.drop_table("user_units")
    op.drop_table("zone_units")
    op.drop_table("unit_name_placements")
    op.drop_table("admin_unit_links")
    op.drop_geospatial_index("idx_admin_units_geom", table_name="admin_units", column_name="geom")
    op.drop_table("admin_units")
    op.execute(
        """
        DROP FUNCTION IF EXISTS khgeo_zone_units_label(integer);
        DROP FUNCTION IF EXISTS khgeo_zone_unit_codes(integer);
        DROP FUNCTION IF EXISTS khgeo_zones_updated_place();
        DROP FUNCTION IF EXISTS khgeo_zones_inserted_place();
        DROP FUNCTION IF EXISTS khgeo_units_changed();
        DROP FUNCTION IF EXISTS khgeo_place_zones(integer[]);
        DROP FUNCTION IF EXISTS khgeo_lower_first(text);
        """
    )
