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

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = "khgeo.storing_zone_features"  # as in khgeo.services.stored_features when this was written

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION khgeo_lower_first(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT lower(left(value, 1)) || substr(value, 2)
$fn$;

CREATE OR REPLACE FUNCTION khgeo_place_zones(zone_ids integer[]) RETURNS void
LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    DELETE FROM zone_units WHERE zone_id = ANY(zone_ids);
    -- from a real outline: the 2025 units it overlaps by at least 2 % of its area
    INSERT INTO zone_units (zone_id, unit_id, basis)
    SELECT z.id, u.id, 'outline'
    FROM zones z JOIN admin_units u
      ON u.period = '2025' AND u.level = 'commune' AND u.geom && z.geom AND ST_Intersects(u.geom, z.geom)
    WHERE z.id = ANY(zone_ids) AND z.geom IS NOT NULL AND z.geometry_source <> 'illustrative'
      AND ST_Area(ST_Intersection(u.geom, z.geom)) >= 0.02 * ST_Area(z.geom);
    -- otherwise: the communes the plan names, in the zone's 2022 district, through the crosswalk; a name the
    -- 2022 register does not resolve goes by the placements the data files give (unit_name_placements)
    INSERT INTO zone_units (zone_id, unit_id, basis)
    SELECT DISTINCT z.id, coalesce(link.successor_id, placed.unit_id), 'crosswalk'
    FROM zones z
    CROSS JOIN LATERAL unnest(z.communes) AS stated(name)
    LEFT JOIN admin_units d ON d.period = '2022' AND d.level = 'district' AND d.district_id = z.district_id
    LEFT JOIN admin_units c ON c.period = '2022' AND c.level = 'commune' AND c.parent_id = d.id
         AND khgeo_fold(c.name) = khgeo_fold(stated.name)
    LEFT JOIN admin_unit_links link ON link.predecessor_id = c.id
    LEFT JOIN unit_name_placements placed ON link.successor_id IS NULL
         AND placed.name_folded = khgeo_fold(stated.name)
    WHERE z.id = ANY(zone_ids)
      AND coalesce(link.successor_id, placed.unit_id) IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM zone_units o WHERE o.zone_id = z.id AND o.basis = 'outline');
END
$fn$;

-- after a change to the units, links or placements: every zone again, then its stored Feature (once installed)
CREATE OR REPLACE FUNCTION khgeo_units_changed() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $fn$
BEGIN
    PERFORM khgeo_place_zones(ARRAY(SELECT id FROM zones));
    IF to_regprocedure('khgeo_store_zone_features(integer[])') IS NOT NULL THEN
        PERFORM khgeo_store_zone_features(ARRAY(SELECT id FROM zones));
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION khgeo_zones_inserted_place() RETURNS trigger LANGUAGE plpgsql
SET search_path = public AS $fn$
BEGIN
    PERFORM khgeo_place_zones(ARRAY(SELECT id FROM changed));
    RETURN NULL;
END
$fn$;

-- an update places again only the zones whose outline, its kind, district or stated communes changed; never
-- for the stored Features' own write of feature_json
CREATE OR REPLACE FUNCTION khgeo_zones_updated_place() RETURNS trigger LANGUAGE plpgsql
SET search_path = public AS $fn$
BEGIN
    IF coalesce(current_setting('{GUARD}', true), '') <> 'on' THEN
        PERFORM khgeo_place_zones(ARRAY(
            SELECT changed.id FROM changed JOIN before ON before.id = changed.id
            WHERE changed.geom IS DISTINCT FROM before.geom
               OR changed.geometry_source IS DISTINCT FROM before.geometry_source
               OR changed.district_id IS DISTINCT FROM before.district_id
               OR changed.communes IS DISTINCT FROM before.communes));
    END IF;
    RETURN NULL;
END
$fn$;

-- what the zones' Features carry (khgeo.services.zones._feature_properties): the current units, and a label
-- naming them with what the plan said, e.g. "Phường Nếnh (trước 01/7/2025: xã Quang Châu, huyện Việt Yên)"
CREATE OR REPLACE FUNCTION khgeo_zone_unit_codes(zone integer) RETURNS text[] LANGUAGE sql STABLE
SET search_path = public AS $fn$
    SELECT coalesce(array_agg(u.code ORDER BY u.code), '{{}}')
    FROM zone_units zu JOIN admin_units u ON u.id = zu.unit_id WHERE zu.zone_id = zone
$fn$;

CREATE OR REPLACE FUNCTION khgeo_zone_units_label(zone integer) RETURNS text LANGUAGE sql STABLE
SET search_path = public AS $fn$
    WITH now_units AS (
        SELECT string_agg(u.full_name, ', ' ORDER BY u.code) AS names
        FROM zone_units zu JOIN admin_units u ON u.id = zu.unit_id WHERE zu.zone_id = zone
    ), was AS (
        SELECT concat_ws(', ',
            (SELECT string_agg(coalesce(khgeo_lower_first(c.full_name), stated.name), ', ' ORDER BY stated.n)
             FROM unnest(z.communes) WITH ORDINALITY AS stated(name, n)
             LEFT JOIN admin_units c ON c.period = '2022' AND c.level = 'commune' AND c.parent_id = d.id
                  AND khgeo_fold(c.name) = khgeo_fold(stated.name)),
            khgeo_lower_first(d.full_name)) AS names
        FROM zones z
        LEFT JOIN admin_units d ON d.period = '2022' AND d.level = 'district' AND d.district_id = z.district_id
        WHERE z.id = zone
    )
    SELECT CASE
        WHEN now_units.names IS NULL THEN NULL
        WHEN coalesce(was.names, '') = '' THEN now_units.names
        ELSE now_units.names || ' (trước 01/7/2025: ' || was.names || ')'
    END
    FROM now_units LEFT JOIN was ON true
$fn$;
"""  # noqa: S608

TRIGGERS = """
CREATE TRIGGER zones_place_units_insert AFTER INSERT ON zones REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_zones_inserted_place();
CREATE TRIGGER zones_place_units_update AFTER UPDATE ON zones REFERENCING OLD TABLE AS before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_zones_updated_place();
CREATE TRIGGER admin_units_place_zones AFTER INSERT OR UPDATE OR DELETE ON admin_units
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
CREATE TRIGGER admin_unit_links_place_zones AFTER INSERT OR UPDATE OR DELETE ON admin_unit_links
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
CREATE TRIGGER unit_name_placements_place_zones AFTER INSERT OR UPDATE OR DELETE ON unit_name_placements
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
"""


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
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


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
