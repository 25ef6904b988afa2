"""Missing data ("Số liệu còn thiếu"): per zone, which figures nobody has recorded, and how old the latest is.

Nothing is invented: a figure is missing when the zone's column is empty (NULL, or an empty text); the age is
counted from the latest date the zone's figures describe (its own ``as_of`` or the newest entry of its history
other than an outline change), and a zone with no dated figure at all is stale "since always".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from khgeo.models import Zone, ZoneUpdate

DEFAULT_STALE_DAYS = 180
# (key, fields that must all be known, the form that fills it: "update" = the site status form, "geometry" =
# the outline editor, "zone" = the zone's own record)
FIGURES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("area", ("stated_area_ha",), "zone"),
    ("district", ("district_id",), "zone"),
    ("location", ("geom",), "geometry"),
    ("clearance", ("clearance_area_ha", "cleared_area_ha"), "update"),
    ("households", ("households_total", "households_agreed"), "update"),
    ("wwtp", ("wwtp_status",), "update"),
    ("infrastructure", ("infrastructure_pct",), "update"),
    ("occupancy", ("occupancy_pct",), "update"),
    ("operating", ("operating_status",), "zone"),
    ("developer", ("developer",), "zone"),
)


@dataclass
class MissingRow:
    zone: Zone
    missing: list[tuple[str, str]]  # (figure key, the form that fills it)
    last_update: dt.date | None  # the latest date the zone's figures describe
    days: int | None  # its age today; None: no dated figure at all
    stale: bool


def _unknown(zone: Zone, fields: tuple[str, ...]) -> bool:
    return any(getattr(zone, name) in (None, "") for name in fields)


def missing_data(session: Session, today: dt.date, stale_days: int = DEFAULT_STALE_DAYS) -> list[MissingRow]:
    """Zones with a figure missing or older than ``stale_days``, the most incomplete first (two queries)."""
    latest = dict(
        session.execute(
            select(
                ZoneUpdate.zone_id,
                func.max(func.coalesce(ZoneUpdate.as_of, func.date(ZoneUpdate.created_at))),
            )
            .where(ZoneUpdate.kind != "geometry")
            .group_by(ZoneUpdate.zone_id)
        ).all()
    )
    zones = session.scalars(
        select(Zone).options(selectinload(Zone.district)).order_by(Zone.kind.desc(), Zone.search_text)
    )
    result = []
    for zone in zones:
        missing = [(key, form) for key, fields, form in FIGURES if _unknown(zone, fields)]
        dates = [day for day in (zone.as_of, latest.get(zone.id)) if day is not None]
        last = max(dates) if dates else None
        days = (today - last).days if last else None
        stale = days is None or days > stale_days
        if missing or stale:
            result.append(MissingRow(zone=zone, missing=missing, last_update=last, days=days, stale=stale))
    result.sort(key=lambda row: (-len(row.missing), -(row.days if row.days is not None else 10**6)))
    return result
