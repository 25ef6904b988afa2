"""Parcels for tests: one at a time, with the figures a test computes by hand (issue 14)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from khgeo.services.parcels.identity import GEOHASH_ALPHABET

_INSERT = text("""
INSERT INTO parcels (uid, commune_code, sheet, number, land_type, legal_area_m2, area_m2, address,
                     land_user_kind, land_user_name, households, people, zone_id, zone_overridden, geom,
                     geometry_source, illustrative, stage, stage_date, compulsory_inventory, enforcement, dispute,
                     resettlement_needed, version)
SELECT :uid, :commune, :sheet, :number, :land_type, :legal_area, :area, '', 'household', :name, :households, 3,
       z.id, false,
       ST_Multi(ST_Expand(ST_Translate(ST_PointOnSurface(z.geom), :dx, 0), 0.0002)),
       'surveyed', false, :stage, :stage_date, false, false, false, :resettlement, 1
FROM zones z WHERE z.code = :zone
RETURNING id
""")


def uid_for(n: int) -> str:
    """A distinct, valid 12-character geohash for parcel ``n`` of a test."""
    digits = []
    for _ in range(12):
        digits.append(GEOHASH_ALPHABET[n % 32])
        n //= 32
    return "w7" + "".join(reversed(digits))[2:]


def make_parcel(
    session,
    zone: str,
    n: int,
    *,
    stage: str = "not_notified",
    stage_date: dt.date | None = None,
    legal_area: float | None = None,
    area: float | None = 1000.0,
    households: int | None = 1,
    land_type: str = "LUC",
    resettlement: bool = False,
    name: str | None = None,
    commune: str = "07456",
) -> str:
    """A parcel of the zone with this code (sheet "1", number n); returns its uid. Figures as given."""
    uid = uid_for(n)
    session.execute(
        _INSERT,
        {
            "uid": uid,
            "commune": commune,
            "sheet": "1",
            "number": str(n),
            "land_type": land_type,
            "legal_area": legal_area,
            "area": area,
            "name": name or f"Nguyễn Văn {n}",
            "households": households,
            "zone": zone,
            "dx": 0.0005 * (n % 20),
            "stage": stage,
            "stage_date": stage_date,
            "resettlement": resettlement,
        },
    ).scalar_one()
    return uid
