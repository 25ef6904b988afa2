"""A zone's clearance figures follow from its parcels — one rule, stated in the README and on the zone page:

- area to clear = Σ area of the zone's parcels, each its legal area when known, else its outline's area;
- area cleared = the same Σ over the parcels handed over;
- households = Σ households of the parcels; households agreed = Σ households of the parcels that were paid or
  went further (paid, recovery decided, handed over): accepting the compensation is the agreement.

Written into the zone's own columns (so the map, API, OGC API, exports, planning and the yearly report read them
unchanged), with ``clearance_from_parcels`` and ``parcel_count``, a new version and a history entry of kind
"parcels" — only for zones whose figures changed — by ONE set-based statement, in the transaction of the parcel
write that caused it. A zone without parcels keeps its typed figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from khgeo.models import PARCEL_STAGES, Zone

AGREED_STAGES = PARCEL_STAGES[PARCEL_STAGES.index("paid") :]
CLEARED_STAGE = "handed_over"

# one statement: the figures of the given zones from their parcels; the zones whose figures (or parcel count)
# changed get them with a new version, and one history entry each (a full row of figures, old → new in changes)
DERIVE_SQL = text("""
WITH wanted AS (
    SELECT id FROM zones WHERE id = ANY(:zone_ids)
), figures AS (
    SELECT w.id AS zone_id,
           count(p.id)::int AS parcel_count,
           round((sum(coalesce(p.legal_area_m2::float8, p.area_m2)) / 10000.0)::numeric, 2) AS area_ha,
           round((coalesce(sum(coalesce(p.legal_area_m2::float8, p.area_m2))
                  FILTER (WHERE p.stage = :cleared_stage), 0) / 10000.0)::numeric, 2) AS cleared_ha,
           sum(p.households)::int AS households,
           CASE WHEN sum(p.households) IS NOT NULL
                THEN coalesce(sum(p.households) FILTER (WHERE p.stage = ANY(:agreed_stages)), 0)::int END
               AS agreed
    FROM wanted w LEFT JOIN parcels p ON p.zone_id = w.id
    GROUP BY w.id
), old AS (
    SELECT z.id, z.clearance_area_ha, z.cleared_area_ha, z.households_total, z.households_agreed,
           z.clearance_from_parcels, z.parcel_count, z.as_of
    FROM zones z JOIN wanted USING (id)
), changed AS (
    UPDATE zones z SET
        clearance_area_ha = CASE WHEN f.parcel_count > 0 THEN f.area_ha ELSE z.clearance_area_ha END,
        cleared_area_ha = CASE WHEN f.parcel_count > 0 THEN f.cleared_ha ELSE z.cleared_area_ha END,
        households_total = CASE WHEN f.parcel_count > 0 THEN f.households ELSE z.households_total END,
        households_agreed = CASE WHEN f.parcel_count > 0 THEN f.agreed ELSE z.households_agreed END,
        clearance_from_parcels = f.parcel_count > 0,
        parcel_count = f.parcel_count,
        as_of = CASE WHEN f.parcel_count > 0 THEN CAST(:today AS date) ELSE z.as_of END,
        version = z.version + 1,
        updated_at = now()
    FROM figures f
    WHERE z.id = f.zone_id
      AND (f.parcel_count <> z.parcel_count
           OR (f.parcel_count > 0 AND (
                  f.area_ha IS DISTINCT FROM z.clearance_area_ha
               OR f.cleared_ha IS DISTINCT FROM z.cleared_area_ha
               OR f.households IS DISTINCT FROM z.households_total
               OR f.agreed IS DISTINCT FROM z.households_agreed
               OR NOT z.clearance_from_parcels)))
    RETURNING z.*
)
INSERT INTO zone_updates (zone_id, zone_version, kind, user_id, as_of, source, note, request_id,
                          clearance_area_ha, cleared_area_ha, households_total, households_agreed, wwtp_status,
                          wwtp_capacity_m3_day, infrastructure_pct, occupancy_pct, changes)
SELECT c.id, c.version, 'parcels', CAST(:user_id AS integer), c.as_of, CAST(:source AS varchar),
       CAST(:note AS text), NULL,
       c.clearance_area_ha, c.cleared_area_ha, c.households_total, c.households_agreed, c.wwtp_status,
       c.wwtp_capacity_m3_day, c.infrastructure_pct, c.occupancy_pct,
       jsonb_strip_nulls(jsonb_build_object(
           'clearance_area_ha', CASE WHEN o.clearance_area_ha IS DISTINCT FROM c.clearance_area_ha
                THEN jsonb_build_array(o.clearance_area_ha, c.clearance_area_ha) END,
           'cleared_area_ha', CASE WHEN o.cleared_area_ha IS DISTINCT FROM c.cleared_area_ha
                THEN jsonb_build_array(o.cleared_area_ha, c.cleared_area_ha) END,
           'households_total', CASE WHEN o.households_total IS DISTINCT FROM c.households_total
                THEN jsonb_build_array(o.households_total, c.households_total) END,
           'households_agreed', CASE WHEN o.households_agreed IS DISTINCT FROM c.households_agreed
                THEN jsonb_build_array(o.households_agreed, c.households_agreed) END,
           'parcel_count', CASE WHEN o.parcel_count IS DISTINCT FROM c.parcel_count
                THEN jsonb_build_array(o.parcel_count, c.parcel_count) END,
           'as_of', CASE WHEN o.as_of IS DISTINCT FROM c.as_of
                THEN jsonb_build_array(o.as_of, c.as_of) END))
FROM changed c JOIN old o ON o.id = c.id
RETURNING zone_id
""")


LOCK_ZONES = text("SELECT id FROM zones WHERE id = ANY(:zone_ids) ORDER BY id FOR UPDATE")


def refresh_zones(
    session: Session,
    zone_ids: Iterable[int | None],
    *,
    today: dt.date,
    user_id: int | None = None,
    source: str = "parcels",
    note: str = "",
) -> list[int]:
    """Derive the figures of these zones from their parcels (see the module's rule); the ids of the zones that
    changed. In the caller's transaction; zones loaded in the session are expired (their version moved)."""
    ids = sorted({zone_id for zone_id in zone_ids if zone_id is not None})
    if not ids:
        return []
    session.flush()
    # the zones first, in their own statement: a concurrent batch on the same zone waits here until it can see
    # the other's committed parcels (the figures' statement then takes its snapshot), so no derived figure is lost.
    # (The parcels' version token moves only at commit, as the zones' does since 0018: writers do not queue on it.)
    session.execute(LOCK_ZONES, {"zone_ids": ids})
    changed = list(
        session.execute(
            DERIVE_SQL,
            {
                "zone_ids": ids,
                "today": today,
                "user_id": user_id,
                "source": source[:200],
                "note": note,
                "cleared_stage": CLEARED_STAGE,
                "agreed_stages": list(AGREED_STAGES),
            },
        ).scalars()
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Zone) and obj.id in changed:
            session.expire(obj)
    return changed
