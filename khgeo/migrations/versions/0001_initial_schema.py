"""initial schema: districts, communes, agencies, zones, tasks

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 15:33:30.236857
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "districts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("unit_type", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=10), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("code", name=op.f("uq_districts_code")),
    )
    op.create_geospatial_index(
        "idx_districts_geom", "districts", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_agencies_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_table(
        "communes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit_type", sa.Text(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_communes_district_id_districts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communes")),
        sa.UniqueConstraint("code", name=op.f("uq_communes_code")),
    )
    op.create_index(op.f("ix_communes_district_id"), "communes", ["district_id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=30), nullable=False),
        sa.Column("section", sa.String(length=20), nullable=False),
        sa.Column("section_title", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lead_agency_id", sa.Integer(), nullable=False),
        sa.Column("applies_to_all_agencies", sa.Boolean(), nullable=False),
        sa.Column("deadline_text", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("recurrence", sa.String(length=20), nullable=True),
        sa.Column("yearly_due", sa.String(length=5), nullable=True),
        sa.Column("due_exceptions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "recurrence IS NULL OR recurrence IN ('monthly', 'quarterly', 'yearly', 'ongoing')",
            name=op.f("ck_tasks_recurrence"),
        ),
        sa.CheckConstraint("status IN ('not_started', 'in_progress', 'done')", name=op.f("ck_tasks_status")),
        sa.CheckConstraint(
            "due_date IS NOT NULL OR recurrence IS NOT NULL", name=op.f("ck_tasks_has_deadline")
        ),
        sa.ForeignKeyConstraint(
            ["lead_agency_id"],
            ["agencies.id"],
            name=op.f("fk_tasks_lead_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_lead_agency_id"), "tasks", ["lead_agency_id"], unique=False)
    op.create_index(op.f("ix_tasks_section"), "tasks", ["section"], unique=False)
    op.create_geospatial_table(
        "zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aliases", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("communes", sa.ARRAY(sa.Text()), nullable=False),
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
        sa.Column("geometry_source", sa.String(length=20), nullable=False),
        sa.Column("geometry_note", sa.Text(), nullable=False),
        sa.Column("stated_area_ha", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "computed_area_ha",
            sa.Double(),
            sa.Computed("ST_Area(ST_Transform(geom, 32648)) / 10000.0", persisted=True),
            nullable=True,
        ),
        sa.Column("developer", sa.Text(), nullable=False),
        sa.Column("managing_agency_id", sa.Integer(), nullable=True),
        sa.Column("operating_status", sa.String(length=30), nullable=True),
        sa.Column("infrastructure_pct", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("clearance_area_ha", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("cleared_area_ha", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "clearance_pct",
            sa.Numeric(precision=5, scale=1),
            sa.Computed(
                "CASE WHEN clearance_area_ha > 0 THEN round(100 * cleared_area_ha / clearance_area_ha, 1) END",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column("clearance_incomplete", sa.Boolean(), nullable=True),
        sa.Column("households_total", sa.Integer(), nullable=True),
        sa.Column("households_agreed", sa.Integer(), nullable=True),
        sa.Column("wwtp_status", sa.String(length=30), nullable=True),
        sa.Column("wwtp_capacity_m3_day", sa.Numeric(precision=10, scale=1), nullable=True),
        sa.Column("occupancy_pct", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("sources", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("osm_ref", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "geometry_source IN ('illustrative', 'surveyed', 'imported')",
            name=op.f("ck_zones_geometry_source"),
        ),
        sa.CheckConstraint("kind IN ('KCN', 'CCN')", name=op.f("ck_zones_kind")),
        sa.CheckConstraint(
            "operating_status IS NULL OR operating_status IN ('planned', 'under_construction', 'operating', 'suspended')",
            name=op.f("ck_zones_operating_status"),
        ),
        sa.CheckConstraint(
            "wwtp_status IS NULL OR wwtp_status IN ('none', 'planned', 'under_construction', 'operating')",
            name=op.f("ck_zones_wwtp_status"),
        ),
        sa.CheckConstraint(
            "clearance_area_ha IS NULL OR clearance_area_ha >= 0", name=op.f("ck_zones_clearance_area")
        ),
        sa.CheckConstraint(
            "cleared_area_ha IS NULL OR (cleared_area_ha >= 0 AND (clearance_area_ha IS NULL OR cleared_area_ha <= clearance_area_ha))",
            name=op.f("ck_zones_cleared_area"),
        ),
        sa.CheckConstraint(
            "households_agreed IS NULL OR households_total IS NULL OR households_agreed <= households_total",
            name=op.f("ck_zones_households"),
        ),
        sa.CheckConstraint(
            "infrastructure_pct BETWEEN 0 AND 100", name=op.f("ck_zones_infrastructure_pct_range")
        ),
        sa.CheckConstraint("occupancy_pct BETWEEN 0 AND 100", name=op.f("ck_zones_occupancy_pct_range")),
        sa.CheckConstraint("stated_area_ha IS NULL OR stated_area_ha > 0", name=op.f("ck_zones_stated_area")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_zones_version")),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_zones_district_id_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["managing_agency_id"],
            ["agencies.id"],
            name=op.f("fk_zones_managing_agency_id_agencies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("code", name=op.f("uq_zones_code")),
    )
    op.create_geospatial_index(
        "idx_zones_geom", "zones", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_zones_district_id"), "zones", ["district_id"], unique=False)
    op.create_index(op.f("ix_zones_kind"), "zones", ["kind"], unique=False)
    op.create_index(op.f("ix_zones_wwtp_status"), "zones", ["wwtp_status"], unique=False)
    op.create_table(
        "task_coordinators",
        sa.Column("task_id", sa.String(length=30), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_task_coordinators_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_coordinators_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "agency_id", name=op.f("pk_task_coordinators")),
    )
    op.create_table(
        "task_zones",
        sa.Column("task_id", sa.String(length=30), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_zones_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_task_zones_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "zone_id", name=op.f("pk_task_zones")),
    )
    op.create_index(op.f("ix_task_zones_zone_id"), "task_zones", ["zone_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_task_zones_zone_id"), table_name="task_zones")
    op.drop_table("task_zones")
    op.drop_table("task_coordinators")
    op.drop_index(op.f("ix_zones_wwtp_status"), table_name="zones")
    op.drop_index(op.f("ix_zones_kind"), table_name="zones")
    op.drop_index(op.f("ix_zones_district_id"), table_name="zones")
    op.drop_geospatial_index(
        "idx_zones_geom", table_name="zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("zones")
    op.drop_index(op.f("ix_tasks_section"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_lead_agency_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_communes_district_id"), table_name="communes")
    op.drop_table("communes")
    op.drop_table("agencies")
    op.drop_geospatial_index(
        "idx_districts_geom", table_name="districts", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("districts")
