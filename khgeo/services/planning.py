"""Planners' views: clusters lacking wastewater treatment, infrastructure ranking, stalled site clearance,
clearance over time for the zones the plan names. Each view is a list of rows a page and an XLSX both render."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from khgeo.models import Task, Zone, ZoneUpdate
from khgeo.services.spreadsheet import append_row
from khgeo.services.zones import monitored

# II.3.1 (BQL, monthly): the zones whose site clearance the plan chases
CLEARANCE_TASK = "II.3.1.2"
# the plan (II.3.7) says nine district-managed clusters have no central wastewater system (Báo cáo 95/BC-HĐND)
PLAN_CLUSTERS_WITHOUT_WWTP = 9
DEFAULT_STALLED_DAYS = 90


@dataclass(frozen=True)
class AreaTotal:
    """A sum of stated areas that never counts an unknown area as 0 ha: "1.234,5 ha (3 khu chưa rõ)"."""

    known_ha: Decimal | None  # the sum of the areas that are known; None when none is
    unknown: int  # how many zones' area is unknown


def area_total(zones: list[Zone]) -> AreaTotal:
    known = [zone.stated_area_ha for zone in zones if zone.stated_area_ha is not None]
    return AreaTotal(sum(known, Decimal(0)) if known else None, len(zones) - len(known))


@dataclass
class WwtpView:
    clusters: list[Zone]  # CCN with no central plant recorded
    by_district: list[tuple[str, int, AreaTotal]]  # (district, count, stated area)
    total_area: AreaTotal
    unknown: int  # CCN whose wastewater status nobody has recorded yet
    plan_count: int = PLAN_CLUSTERS_WITHOUT_WWTP


def clusters_without_wwtp(session: Session) -> WwtpView:
    clusters = list(
        session.scalars(
            select(Zone)
            .where(Zone.kind == "CCN", monitored())
            .options(selectinload(Zone.district))
            .order_by(Zone.search_text)
        )
    )
    lacking = [zone for zone in clusters if zone.wwtp_status == "none"]
    groups: dict[str, list[Zone]] = defaultdict(list)
    for zone in lacking:
        groups[zone.district.name if zone.district else "—"].append(zone)
    by_district = sorted(
        ((name, len(zones), area_total(zones)) for name, zones in groups.items()),
        key=lambda row: (-row[1], row[0]),
    )
    return WwtpView(
        clusters=lacking,
        by_district=by_district,
        total_area=area_total(lacking),
        unknown=sum(zone.wwtp_status is None for zone in clusters),
    )


def infrastructure_ranking(session: Session) -> list[Zone]:
    """Zones by infrastructure completion, lowest first (the ones to chase); unknown last."""
    zones = session.scalars(
        select(Zone)
        .where(monitored())
        .options(selectinload(Zone.district))
        .order_by(Zone.infrastructure_pct.asc().nulls_last(), Zone.search_text)
    )
    return list(zones)


@dataclass
class StalledZone:
    zone: Zone
    last_change: dt.date | None  # when site clearance last moved (None: never recorded)
    days: int | None


def stalled_clearance(session: Session, days: int, today: dt.date) -> list[StalledZone]:
    """Zones with unfinished site clearance whose cleared area has not moved for ``days`` days or more."""
    last_move: dict[int, dt.date] = {}
    for update in session.scalars(select(ZoneUpdate).where(ZoneUpdate.kind != "geometry")):
        moved = update.kind == "seed" or "cleared_area_ha" in (update.changes or {})
        day = update.as_of or update.created_at.date()
        if moved and (update.zone_id not in last_move or day > last_move[update.zone_id]):
            last_move[update.zone_id] = day
    result = []
    zones = select(Zone).where(monitored()).options(selectinload(Zone.district)).order_by(Zone.search_text)
    for zone in session.scalars(zones):
        unfinished = zone.clearance_incomplete or (
            zone.clearance_pct is not None and zone.clearance_pct < 100
        )
        if not unfinished:
            continue
        last = last_move.get(zone.id)
        age = (today - last).days if last else None
        if age is None or age >= days:
            result.append(StalledZone(zone=zone, last_change=last, days=age))
    result.sort(key=lambda row: (row.days is not None, -(row.days or 0)))
    return result


def clearance_series(session: Session) -> dict:
    """Site clearance % over time for the zones the plan's clearance task names, for a chart."""
    task = session.get(Task, CLEARANCE_TASK)
    zones = [zone for zone in task.zones if zone.retired_at is None] if task else []  # as monitored()
    series = []
    for zone in zones:
        points = session.scalars(
            select(ZoneUpdate)
            .where(ZoneUpdate.zone_id == zone.id, ZoneUpdate.as_of.is_not(None))
            .order_by(ZoneUpdate.as_of, ZoneUpdate.id)
        )
        series.append(
            {
                "code": zone.code,
                "name": f"{zone.kind} {zone.name}",
                "points": [
                    [p.as_of.isoformat(), float(p.clearance_pct)]
                    for p in points
                    if p.clearance_pct is not None and p.as_of is not None
                ],
            }
        )
    return {"series": series}


def to_xlsx(title: str, headers: list[str], rows: list[list]) -> bytes:
    """One view as a worksheet: bold frozen header, autofilter, widths that fit, numbers as numbers."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    append_row(sheet, headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, [float(v) if isinstance(v, Decimal) else v for v in row])
    for column, header in enumerate(headers, start=1):
        values = [
            str(header),
            *(str(sheet.cell(row=r, column=column).value or "") for r in range(2, sheet.max_row + 1)),
        ]
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = min(
            60, max(10, *map(len, values)) + 2
        )
        for r in range(2, sheet.max_row + 1):
            cell = sheet.cell(row=r, column=column)
            if isinstance(cell.value, float):
                cell.number_format = "0.0"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "dd/mm/yyyy"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    workbook.properties.title = title
    workbook.properties.creator = "khgeo"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
