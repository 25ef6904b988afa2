"""Planners' views: clusters lacking wastewater treatment, infrastructure ranking, stalled site clearance,
clearance over time for the zones the plan names. Each view is a list of rows a page and an XLSX both render."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer, load_only, selectinload

from khgeo.models import Zone, ZoneUpdate, task_zones
from khgeo.services.indicators import WWTP_LABELS
from khgeo.services.interop.spreadsheet import TableColumn, table_workbook
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
            .options(defer(Zone.geom), selectinload(Zone.district))
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
        .options(defer(Zone.geom), selectinload(Zone.district))
        .order_by(Zone.infrastructure_pct.asc().nulls_last(), Zone.search_text)
    )
    return list(zones)


@dataclass
class StalledZone:
    zone: Zone
    last_change: dt.date | None  # when site clearance last moved (None: never recorded)
    days: int | None


def stalled_clearance(session: Session, days: int, today: dt.date) -> list[StalledZone]:
    """Zones with unfinished site clearance whose cleared area has not moved for ``days`` days or more.

    Two queries whatever the length of the history: the day clearance last moved is a SQL aggregate."""
    moved = or_(ZoneUpdate.kind == "seed", ZoneUpdate.changes.has_key("cleared_area_ha"))
    last_move = (
        select(
            ZoneUpdate.zone_id,
            func.max(func.coalesce(ZoneUpdate.as_of, func.date(ZoneUpdate.created_at))).label("day"),
        )
        .where(ZoneUpdate.kind != "geometry", moved)
        .group_by(ZoneUpdate.zone_id)
        .subquery()
    )
    unfinished = or_(Zone.clearance_incomplete.is_(True), Zone.clearance_pct < 100)
    rows = session.execute(
        select(Zone, last_move.c.day)
        .outerjoin(last_move, last_move.c.zone_id == Zone.id)
        .where(monitored(), unfinished)
        .options(defer(Zone.geom), selectinload(Zone.district))
        .order_by(Zone.search_text)
    )
    result = []
    for zone, last in rows:
        age = (today - last).days if last else None
        if age is None or age >= days:
            result.append(StalledZone(zone=zone, last_change=last, days=age))
    result.sort(key=lambda row: (row.days is not None, -(row.days or 0)))
    return result


def clearance_series(session: Session) -> dict:
    """Site clearance % over time for the zones the plan's clearance task names, for a chart (two queries)."""
    # the zones the task names that are still monitored
    named = and_(task_zones.c.zone_id == Zone.id, task_zones.c.task_id == CLEARANCE_TASK, monitored())
    zones = session.scalars(
        select(Zone)
        .join(task_zones, named)
        .options(load_only(Zone.code, Zone.kind, Zone.name))
        .order_by(Zone.code)
    ).all()
    points: dict[int, list] = defaultdict(list)
    for zone_id, as_of, pct in session.execute(
        select(ZoneUpdate.zone_id, ZoneUpdate.as_of, ZoneUpdate.clearance_pct)
        .join(Zone, ZoneUpdate.zone_id == Zone.id)
        .join(task_zones, named)
        .where(ZoneUpdate.as_of.is_not(None), ZoneUpdate.clearance_pct.is_not(None))
        .order_by(ZoneUpdate.zone_id, ZoneUpdate.as_of, ZoneUpdate.id)
    ):
        assert as_of is not None and pct is not None  # the query's WHERE
        points[zone_id].append([as_of.isoformat(), float(pct)])
    series = [
        {"code": zone.code, "name": f"{zone.kind} {zone.name}", "points": points.get(zone.id, [])}
        for zone in zones
    ]
    return {"series": series}


def to_xlsx(title: str, headers: list[str], rows: list[list]) -> bytes:
    """One view as a worksheet (``spreadsheet.write_table``): numbers and dates typed by their values."""
    return table_workbook(title, [TableColumn(str(header)) for header in headers], rows, title=title)


def _label(msgid) -> str:
    """A python-format message without variables: "%%" is a literal "%", as in templates ("Hạ tầng (%)")."""
    return str(msgid) % {}


def _district(zone: Zone) -> str:
    return zone.district.name if zone.district else ""


def wwtp_xlsx(view: WwtpView) -> bytes:
    """The clusters without wastewater treatment as a worksheet, in the request's language."""
    return to_xlsx(
        str(_l("Clusters without WWTP")),
        [
            _l("Code"),
            _l("Cluster"),
            _l("District"),
            _l("Stated area (ha)"),
            _label(_l("Infrastructure (%%)")),
            _l("Wastewater treatment"),
        ],
        [
            [
                z.code,
                z.name,
                _district(z),
                z.stated_area_ha,
                z.infrastructure_pct,
                str(WWTP_LABELS.get(z.wwtp_status)),
            ]
            for z in view.clusters
        ],
    )


def infrastructure_xlsx(ranking: list[Zone]) -> bytes:
    """The infrastructure ranking as a worksheet."""
    return to_xlsx(
        str(_l("Infrastructure")),
        [_l("Code"), _l("Kind"), _l("Zone"), _l("District"), _label(_l("Infrastructure (%%)"))],
        [[z.code, z.kind, z.name, _district(z), z.infrastructure_pct] for z in ranking],
    )


def stalled_xlsx(rows: list[StalledZone]) -> bytes:
    """The zones whose site clearance stalled, as a worksheet."""
    return to_xlsx(
        str(_l("Stalled clearance")),
        [
            _l("Code"),
            _l("Kind"),
            _l("Zone"),
            _l("District"),
            _label(_l("Site clearance (%%)")),
            _l("Last change"),
            _l("Days"),
        ],
        [
            [
                r.zone.code,
                r.zone.kind,
                r.zone.name,
                _district(r.zone),
                r.zone.clearance_pct,
                r.last_change,
                r.days,
            ]
            for r in rows
        ],
    )
