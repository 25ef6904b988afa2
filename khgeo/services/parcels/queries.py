"""Reading parcels: one parcel, a zone's parcels as GeoJSON (filters), search by sheet/parcel number, and the zone
page's parcels section (pipeline by stage, overdue, stalled, progress over time) — each a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, Integer, Numeric, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session, joinedload, selectinload

from khgeo.codes import PARCEL_STAGE
from khgeo.errors import BadRequest, NotFound
from khgeo.models import PARCEL_STAGES, Parcel, ParcelEvent, ParcelStep, ParcelTimer, Photo, Zone
from khgeo.services.parcels import timers
from khgeo.services.parcels.privacy import mask_land_user
from khgeo.text import fold

SEARCH_LIMIT = 50
LIST_LIMIT = 20  # rows of the zone page's overdue and stalled lists (their headings give the counts)


def parcel_area(parcels: Any = Parcel):
    """The area a parcel counts for (m²): its legal area when known, else its outline's (derive.py's rule)."""
    return func.coalesce(cast(parcels.legal_area_m2, Float), parcels.area_m2)


def has_illustrative(session: Session, zone: Zone) -> bool:
    """Whether some of the zone's parcels are generated demo data (the page says so)."""
    return (
        session.scalar(select(Parcel.id).where(Parcel.zone_id == zone.id, Parcel.illustrative).limit(1))
        is not None
    )


def get_parcel(session: Session, uid: str) -> Parcel:
    parcel = session.scalars(
        select(Parcel)
        .where(Parcel.uid == (uid or "").strip().lower())
        .options(joinedload(Parcel.zone), selectinload(Parcel.steps))
    ).one_or_none()
    if parcel is None:
        raise NotFound(_l("No parcel with the identifier %(uid)s", uid=uid))
    return parcel


SEARCH_WORDS = {
    "to",
    "thua",
    "so",
    "sheet",
    "parcel",
    "no",
}  # folded: "tờ 12 thửa 345", "sheet 12 parcel 345"


def _sheet_and_number(text: str) -> tuple[str, str] | None:
    """("12", "345") from "12/345", "12 345", "tờ 12 thửa 345"; None when the text is not two parts."""
    tokens = [t for t in re.split(r"[\s/,;]+", text.strip()) if t and fold(t) not in SEARCH_WORDS]
    return (tokens[0], tokens[1]) if len(tokens) == 2 else None


def search(session: Session, raw: str, zone: Zone | None = None) -> list[Parcel]:
    """Parcels by "sheet/parcel" ("12/345", "tờ 12 thửa 345", "12 345") or by identifier (geohash-12)."""
    text = (raw or "").strip()
    if not text:
        return []
    if len(text) > 100:
        raise BadRequest(_l("The search text is too long (at most %(n)d characters)", n=100), field="q")
    query = (
        select(Parcel)
        .options(joinedload(Parcel.zone))
        .order_by(Parcel.sheet, Parcel.number)
        .limit(SEARCH_LIMIT)
    )
    if zone is not None:
        query = query.where(Parcel.zone_id == zone.id)
    if pair := _sheet_and_number(text):
        sheet, number = pair
        query = query.where(
            or_(Parcel.sheet == sheet, Parcel.old_sheet == sheet),
            or_(Parcel.number == number, Parcel.old_number == number),
        )
    elif re.fullmatch(r"[0-9b-hjkmnp-z]{12}", text.lower()):
        query = query.where(Parcel.uid == text.lower())
    elif text.isdigit():
        query = query.where(Parcel.number == text)
    else:
        return []
    return list(session.scalars(query))


# -- the zone's parcels as GeoJSON ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParcelFilter:
    stage: str | None = None
    overdue: bool | None = None
    commune: str | None = None


def parse_parcel_filter(args: Mapping[str, str]) -> ParcelFilter:
    stage = (args.get("stage") or "").strip() or None
    if stage is not None:
        ok, key = PARCEL_STAGE.lookup(stage)
        if not ok:
            raise BadRequest(
                _l(
                    "Unknown stage %(value)s: use one of %(allowed)s",
                    value=stage,
                    allowed=", ".join(PARCEL_STAGES),
                ),
                field="stage",
            )
        stage = key
    overdue_raw = (args.get("overdue") or "").strip().lower()
    if overdue_raw not in ("", "true", "false", "1", "0"):
        raise BadRequest(_l("overdue must be true or false"), field="overdue")
    overdue = None if not overdue_raw else overdue_raw in ("true", "1")
    commune = (args.get("commune") or "").strip() or None
    if commune is not None and not re.fullmatch(r"[0-9]{5}", commune):
        raise BadRequest(_l("commune must be the 5-digit code of a commune or ward"), field="commune")
    return ParcelFilter(stage, overdue, commune)


def zone_parcels_geojson(
    session: Session, zone: Zone, parcel_filter: ParcelFilter, today: dt.date, *, personal: bool
) -> tuple[str, list[str]]:
    """The zone's parcels as a GeoJSON FeatureCollection (text, built by PostgreSQL) and the uids it holds.
    ``personal``: the land users' names and households; otherwise the name masked and the counts left out."""
    overdue = timers.overdue_clause(today)
    name = (
        Parcel.land_user_name
        if personal
        else case(
            (func.length(func.trim(Parcel.land_user_name)) > 0, literal(mask_land_user("x"))),
            else_=literal(""),
        )
    )
    properties = func.json_build_object(
        "uid",
        Parcel.uid,
        "zone",
        literal(zone.code),
        "commune_code",
        Parcel.commune_code,
        "sheet",
        Parcel.sheet,
        "number",
        Parcel.number,
        "land_type",
        Parcel.land_type,
        "legal_area_m2",
        Parcel.legal_area_m2,
        "area_m2",
        func.round(cast(Parcel.area_m2, Numeric()), 1),
        "stage",
        Parcel.stage,
        "stage_date",
        Parcel.stage_date,
        "overdue",
        overdue,
        "enforcement",
        Parcel.enforcement,
        "dispute",
        Parcel.dispute,
        "resettlement_needed",
        Parcel.resettlement_needed,
        "illustrative",
        Parcel.illustrative,
        "land_user_kind",
        Parcel.land_user_kind,
        "land_user_name",
        name,
        "households",
        Parcel.households if personal else cast(literal(None), Integer),
        "people",
        Parcel.people if personal else cast(literal(None), Integer),
        "version",
        Parcel.version,
    )
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        Parcel.uid,
        "geometry",
        cast(func.ST_AsGeoJSON(Parcel.geom, 7), JSON()),
        "properties",
        properties,
    )
    query = select(feature.label("feature"), Parcel.uid).where(Parcel.zone_id == zone.id)
    if parcel_filter.stage:
        query = query.where(Parcel.stage == parcel_filter.stage)
    if parcel_filter.overdue is not None:
        query = query.where(overdue if parcel_filter.overdue else ~overdue)
    if parcel_filter.commune:
        query = query.where(Parcel.commune_code == parcel_filter.commune)
    rows = query.order_by(Parcel.sheet, Parcel.number).subquery()
    body = session.execute(
        select(
            func.concat(
                '{"type":"FeatureCollection","features":',
                func.coalesce(cast(func.json_agg(rows.c.feature), Text()), "[]"),
                "}",
            ),
            func.array_agg(rows.c.uid),
        )
    ).one()
    return body[0], list(body[1] or [])


def parcel_json(parcel: Parcel, running: list[timers.RunningTimer], *, personal: bool) -> dict[str, Any]:
    """One parcel for GET /api/parcels/<uid> (no geometry there: the zone's GeoJSON has the outlines)."""
    return {
        "uid": parcel.uid,
        "zone": parcel.zone.code if parcel.zone else None,
        "commune_code": parcel.commune_code,
        "sheet": parcel.sheet,
        "number": parcel.number,
        "old_sheet": parcel.old_sheet,
        "old_number": parcel.old_number,
        "land_type": parcel.land_type,
        "legal_area_m2": float(parcel.legal_area_m2) if parcel.legal_area_m2 is not None else None,
        "area_m2": round(parcel.area_m2, 1) if parcel.area_m2 is not None else None,
        "address": parcel.address,
        "land_user_kind": parcel.land_user_kind,
        "land_user_name": parcel.land_user_name if personal else mask_land_user(parcel.land_user_name),
        "households": parcel.households if personal else None,
        "people": parcel.people if personal else None,
        "stage": parcel.stage,
        "stage_date": parcel.stage_date.isoformat() if parcel.stage_date else None,
        "steps": [
            {
                "stage": step.stage,
                "date": step.date.isoformat(),
                "document": {
                    "number": step.document_number,
                    "date": step.document_date.isoformat() if step.document_date else None,
                    "signer": step.document_signer,
                },
            }
            for step in sorted(parcel.steps, key=lambda s: PARCEL_STAGES.index(s.stage))
        ],
        "timers": [
            {
                "code": r.timer.code,
                "kind": r.timer.kind,
                "label": r.timer.label,
                "end": r.end.isoformat(),
                "overdue": r.overdue,
                "citation": r.timer.citation,
            }
            for r in running
        ],
        "overdue": any(r.overdue for r in running),
        "flags": {
            "compulsory_inventory": parcel.compulsory_inventory,
            "enforcement": parcel.enforcement,
            "dispute": parcel.dispute,
            "resettlement_needed": parcel.resettlement_needed,
        },
        "amount_approved": int(parcel.amount_approved) if parcel.amount_approved is not None else None,
        "amount_paid": int(parcel.amount_paid) if parcel.amount_paid is not None else None,
        "geometry_source": parcel.geometry_source,
        "illustrative": parcel.illustrative,
        "version": parcel.version,
        "updated_at": parcel.updated_at.isoformat() if parcel.updated_at else None,
    }


def events(session: Session, parcel: Parcel) -> list[ParcelEvent]:
    return list(
        session.scalars(
            select(ParcelEvent)
            .where(ParcelEvent.parcel_id == parcel.id)
            .options(
                joinedload(ParcelEvent.user),
                selectinload(ParcelEvent.photos).load_only(
                    Photo.id, Photo.width, Photo.height, Photo.original_name
                ),
            )
            .order_by(ParcelEvent.at.desc(), ParcelEvent.id.desc())
        )
    )


# -- the zone page's parcels section -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StageBar:
    stage: str
    parcels: int
    area_ha: float
    households: int
    share: float  # of the zone's area, 0..1 (the bar's width)


def pipeline(session: Session, zone: Zone) -> list[StageBar]:
    """Parcels, area and households per stage, in the stages' order (one query)."""
    rows = {
        stage: (n, area or 0.0, households or 0)
        for stage, n, area, households in session.execute(
            select(Parcel.stage, func.count(), func.sum(parcel_area()), func.sum(Parcel.households))
            .where(Parcel.zone_id == zone.id)
            .group_by(Parcel.stage)
        )
    }
    total = sum(area for _, area, _ in rows.values()) or 1.0
    return [
        StageBar(stage, rows[stage][0], rows[stage][1] / 10000.0, int(rows[stage][2]), rows[stage][1] / total)
        for stage in PARCEL_STAGES
        if stage in rows
    ]


@dataclass(frozen=True)
class ListedParcel:
    uid: str
    sheet: str
    number: str
    stage: str
    stage_date: dt.date | None
    detail: str  # the overdue timer's label, or the date of the last change
    due: dt.date | None = None


def overdue_parcels(session: Session, zone: Zone, today: dt.date) -> tuple[int, list[ListedParcel]]:
    """The zone's parcels whose deadline timer ran out (how many, and the first LIST_LIMIT, most late first)."""
    due = timers.timer_due_date()
    base = (
        select(
            Parcel.uid,
            Parcel.sheet,
            Parcel.number,
            Parcel.stage,
            Parcel.stage_date,
            ParcelTimer.label,
            due.label("due"),
        )
        .join(
            ParcelTimer,
            and_(
                ParcelTimer.stage == Parcel.stage,
                ParcelTimer.active,
                ParcelTimer.kind == "deadline",
                timers.condition_clause(),
            ),
        )
        .where(Parcel.zone_id == zone.id, Parcel.stage_date.is_not(None), due < today)
    )
    rows = session.execute(
        base.add_columns(func.count().over().label("n"))
        .order_by(due, Parcel.sheet, Parcel.number)
        .limit(LIST_LIMIT)
    ).all()
    count = rows[0].n if rows else 0
    return count, [
        ListedParcel(
            r.uid, r.sheet, r.number, r.stage, r.stage_date, r.label, r.due.date() if r.due else None
        )
        for r in rows
    ]


def stalled_parcels(
    session: Session, zone: Zone, today: dt.date, days: int
) -> tuple[int, list[ListedParcel]]:
    """Parcels not handed over with no change for ``days`` days (their last change: the parcel's updated_at)."""
    since = today - dt.timedelta(days=days)
    last = func.date(Parcel.updated_at)
    rows = session.execute(
        select(
            Parcel.uid,
            Parcel.sheet,
            Parcel.number,
            Parcel.stage,
            Parcel.stage_date,
            last.label("last"),
            func.count().over().label("n"),
        )
        .where(Parcel.zone_id == zone.id, Parcel.stage != "handed_over", last < since)
        .order_by(last, Parcel.sheet, Parcel.number)
        .limit(LIST_LIMIT)
    ).all()
    count = rows[0].n if rows else 0
    return count, [
        ListedParcel(r.uid, r.sheet, r.number, r.stage, r.stage_date, r.last.strftime("%d/%m/%Y"))
        for r in rows
    ]


@dataclass(frozen=True)
class ProgressPoint:
    month: dt.date
    paid: int  # parcels paid (or further) by the end of the month, cumulative
    handed_over: int
    handed_over_ha: float


def progress(session: Session, zone: Zone) -> list[ProgressPoint]:
    """Parcels paid and handed over, month by month (cumulative), from the steps' dates (one query)."""
    month = func.date_trunc("month", ParcelStep.date)
    rows = session.execute(
        select(month.label("month"), ParcelStep.stage, func.count(), func.sum(parcel_area()))
        .join(Parcel, Parcel.id == ParcelStep.parcel_id)
        .where(Parcel.zone_id == zone.id, ParcelStep.stage.in_(("paid", "handed_over")))
        .group_by(month, ParcelStep.stage)
        .order_by(month)
    ).all()
    points: list[ProgressPoint] = []
    paid = handed = 0
    area = 0.0
    by_month: dict[dt.date, dict[str, tuple[int, float]]] = {}
    for m, stage, n, a in rows:
        by_month.setdefault(m.date(), {})[stage] = (n, a or 0.0)
    for m in sorted(by_month):
        paid += by_month[m].get("paid", (0, 0.0))[0]
        handed += by_month[m].get("handed_over", (0, 0.0))[0]
        area += by_month[m].get("handed_over", (0, 0.0))[1] / 10000.0
        points.append(ProgressPoint(m, paid, handed, area))
    return points
