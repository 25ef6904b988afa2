"""The SQL that keeps each zone's current units (zone_units) and the text its Feature carries about them.

Installed by migration 0020 and again by a restore (khgeo.backup: a dump's functions and triggers are never
restored), after the tables exist; idempotent (CREATE OR REPLACE). The triggers run khgeo_place_zones after every
insert or update of zones (before the stored Features are written: triggers of one event fire in name order, and
zones_place_… sorts before zones_store_…) and after any change to the units, their links or the name placements
(then the stored Features are rewritten too: khgeo.services.stored_features). Built from constants only.
"""

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
CREATE OR REPLACE TRIGGER zones_place_units_insert AFTER INSERT ON zones REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_zones_inserted_place();
CREATE OR REPLACE TRIGGER zones_place_units_update AFTER UPDATE ON zones REFERENCING OLD TABLE AS before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_zones_updated_place();
CREATE OR REPLACE TRIGGER admin_units_place_zones AFTER INSERT OR UPDATE OR DELETE ON admin_units
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
CREATE OR REPLACE TRIGGER admin_unit_links_place_zones AFTER INSERT OR UPDATE OR DELETE ON admin_unit_links
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
CREATE OR REPLACE TRIGGER unit_name_placements_place_zones AFTER INSERT OR UPDATE OR DELETE ON unit_name_placements
    FOR EACH STATEMENT EXECUTE FUNCTION khgeo_units_changed();
"""

UNITS_SQL = FUNCTIONS + TRIGGERS
# what UNITS_SQL creates, by name (a restore checks that nothing but khgeo's own code is left)
ROUTINES = (
    "khgeo_lower_first",
    "khgeo_place_zones",
    "khgeo_units_changed",
    "khgeo_zones_inserted_place",
    "khgeo_zones_updated_place",
    "khgeo_zone_unit_codes",
    "khgeo_zone_units_label",
)
TRIGGER_NAMES = (
    "zones_place_units_insert",
    "zones_place_units_update",
    "admin_units_place_zones",
    "admin_unit_links_place_zones",
    "unit_name_placements_place_zones",
)
