"""``khgeo seed --demo-parcels``: illustrative parcels for the seeded zones, so a new user can try the flow.

Never loaded by default. For each monitored zone with an outline and no parcels yet, a grid of plausible parcels
(cells of ~40–80 m, about 300 a zone) clipped to the zone's outline, with stages spread from "not yet notified" to
"handed over", the steps' dates in the past, land users named "Hộ minh họa 001", … Every row is marked
``illustrative`` (and its outline source "illustrative"), like the zones' illustrative outlines: the pages, the API
and the tiles say so. Idempotent: zones that already have parcels are left alone. All set-based SQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from khgeo.geo.crs import METRIC_SRID
from khgeo.models import PARCEL_STAGES
from khgeo.services.parcels import derive

TARGET_PARCELS = 300
DAYS_PER_STAGE = 25  # the demo's steps are this many days apart

INSERT_PARCELS = text("""
WITH chosen AS (
    SELECT z.id, z.geom,
           coalesce((SELECT c.code FROM communes c
                     WHERE c.district_id = z.district_id AND c.code ~ '^[0-9]{5}$'
                     ORDER BY (c.name = ANY(z.communes)) DESC, c.code LIMIT 1), '00000') AS commune_code,
           greatest(40, sqrt(ST_Area(ST_Transform(z.geom, :metric)) / :target)) AS cell
    FROM zones z
    WHERE z.retired_at IS NULL AND z.geom IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM parcels p WHERE p.zone_id = z.id)
), cells AS (
    SELECT ch.id AS zone_id, ch.commune_code, ch.cell,
           ST_Intersection(g.geom, ST_Transform(ch.geom, :metric)) AS piece, g.i, g.j
    FROM chosen ch, ST_SquareGrid(ch.cell, ST_Transform(ch.geom, :metric)) AS g
    WHERE ST_Intersects(g.geom, ST_Transform(ch.geom, :metric))
), kept AS (
    SELECT zone_id, commune_code, ST_Multi(ST_CollectionExtract(ST_Transform(piece, 4326), 3)) AS geom,
           ST_Area(piece) AS area,
           row_number() OVER (PARTITION BY zone_id ORDER BY j DESC, i) AS n,
           abs(hashtext(zone_id::text || ':' || i || ':' || j)) % 1000 AS draw
    FROM cells
    WHERE ST_Area(piece) > 0.35 * cell * cell
), staged AS (
    SELECT k.*, least(7, (k.draw % 100) * 8 / 100 + CASE WHEN k.draw >= 500 THEN 1 ELSE 0 END) AS stage_no
    FROM kept k
)
INSERT INTO parcels (uid, commune_code, sheet, number, land_type, legal_area_m2, area_m2, address,
                     land_user_kind, land_user_name, households, people, zone_id, zone_overridden, geom,
                     geometry_source, illustrative, stage, stage_date, compulsory_inventory, enforcement, dispute,
                     resettlement_needed, version)
SELECT ST_GeoHash(ST_PointOnSurface(s.geom), 12), s.commune_code, (100 + s.zone_id)::text, s.n::text,
       CASE WHEN s.draw % 5 = 0 THEN 'ONT' WHEN s.draw % 7 = 0 THEN 'CLN' ELSE 'LUC' END,
       NULL, s.area, 'Địa chỉ minh họa', 'household', 'Hộ minh họa ' || lpad(s.n::text, 3, '0'),
       1 + s.draw % 3, 2 + s.draw % 5, s.zone_id, false, s.geom, 'illustrative', true,
       (CAST(:stages AS text[]))[s.stage_no + 1],
       CASE WHEN s.stage_no > 0 THEN CAST(:today AS date) - (5 + s.draw % 60) END,
       s.draw % 23 = 0, s.draw % 97 = 0, s.draw % 31 = 0, s.draw % 5 = 0, 1
FROM staged s
WHERE NOT ST_IsEmpty(s.geom)
ON CONFLICT DO NOTHING
RETURNING zone_id
""")
# the steps reached, each DAYS_PER_STAGE days before the next, the current one on the parcel's stage date
INSERT_STEPS = text("""
INSERT INTO parcel_steps (parcel_id, stage, date, document_number, document_date, document_signer)
SELECT p.id, s.stage, p.stage_date - CAST((cur.i - s.i) * :gap AS integer), 'MH-' || p.number || '/' || s.i,
       p.stage_date - CAST((cur.i - s.i) * :gap AS integer), 'Chủ tịch UBND xã (minh họa)'
FROM parcels p
JOIN unnest(CAST(:stages AS text[])) WITH ORDINALITY AS cur(stage, i) ON cur.stage = p.stage
JOIN unnest(CAST(:stages AS text[])) WITH ORDINALITY AS s(stage, i) ON s.i > 1 AND s.i <= cur.i
WHERE p.zone_id = ANY(:zone_ids) AND p.illustrative AND p.stage_date IS NOT NULL
ON CONFLICT DO NOTHING
""")
INSERT_EVENTS = text("""
INSERT INTO parcel_events (parcel_id, parcel_version, kind, changes, note, document)
SELECT p.id, p.version, 'import', jsonb_build_object('stage', jsonb_build_array(NULL, p.stage)),
       'Dữ liệu minh họa (khgeo seed --demo-parcels)', '{}'::jsonb
FROM parcels p
WHERE p.zone_id = ANY(:zone_ids) AND p.illustrative
  AND NOT EXISTS (SELECT 1 FROM parcel_events e WHERE e.parcel_id = p.id)
""")


def seed_demo_parcels(session: Session, today: dt.date) -> dict[int, int]:
    """Generate the illustrative parcels (see the module); {zone id: parcels added}. The caller commits."""
    zone_ids = list(
        session.execute(
            INSERT_PARCELS,
            {"target": TARGET_PARCELS, "stages": list(PARCEL_STAGES), "today": today, "metric": METRIC_SRID},
        ).scalars()
    )
    added: dict[int, int] = {}
    for zone_id in zone_ids:
        added[zone_id] = added.get(zone_id, 0) + 1
    if added:
        ids = list(added)
        session.execute(INSERT_STEPS, {"stages": list(PARCEL_STAGES), "gap": DAYS_PER_STAGE, "zone_ids": ids})
        session.execute(INSERT_EVENTS, {"zone_ids": ids})
        derive.refresh_zones(
            session, ids, today=today, source="seed", note="Dữ liệu minh họa (khgeo seed --demo-parcels)"
        )
    return added
