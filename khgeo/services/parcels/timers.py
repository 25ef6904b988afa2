"""Legal timers as data (table parcel_timers): which timer runs for a parcel, its due date, and whether it is
overdue on the province's today. ONE definition, in Python for a parcel and in SQL for lists and tiles.

A timer runs while the parcel is in its ``stage``, from the date the parcel reached that stage (``stage_date``);
its end is that date plus ``months`` then ``days``, months clamped to the month's end (31/01 + 1 month = 28/02, or
29/02 in a leap year) exactly as PostgreSQL's ``date + interval`` clamps. Two kinds:

- ``deadline``: the next step is due by the end; the parcel is *overdue* when today is after it (the end day
  itself is still in time);
- ``earliest``: the next step may not come before the end (notice at least 90/180 days ahead of the recovery
  decision): never overdue, shown as "not before …".

``applies_when`` narrows a timer to some parcels: ``no_resettlement``, ``resettlement``, ``compulsory_inventory``
(the parcel is flagged for compulsory inventory), ``agricultural`` / ``non_agricultural`` (by the land-type code's
group, AGRICULTURAL_LAND_TYPES). The rows' citations are secondary sources: the board corrects them (admin page
/admin/parcel-timers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from khgeo.errors import ValidationFailed
from khgeo.models import PARCEL_STAGES, PARCEL_TIMER_CONDITIONS, PARCEL_TIMER_KINDS, Parcel, ParcelTimer

# Land-type codes of the agricultural group (Land Law 2024 Art. 9(2); codes as the cadastral offices write them:
# rice, other annual, perennial, forests, aquaculture, salt, other agricultural). Anything else is non-agricultural.
AGRICULTURAL_LAND_TYPES = (
    "LUA",
    "LUC",
    "LUK",
    "LUN",
    "HNK",
    "BHK",
    "NHK",
    "CHN",
    "CLN",
    "RSX",
    "RPH",
    "RDD",
    "NTS",
    "LMU",
    "NKH",
)
MAX_MONTHS = 120
MAX_DAYS = 3650


def add_period(start: dt.date, months: int = 0, days: int = 0) -> dt.date:
    """``start`` plus ``months`` (clamped to the month's end) then ``days``: PostgreSQL's date + interval."""
    return start + relativedelta(months=months) + relativedelta(days=days)


def is_agricultural(land_type: str | None) -> bool:
    return (land_type or "").strip().upper() in AGRICULTURAL_LAND_TYPES


def applies(timer: ParcelTimer, parcel: Parcel) -> bool:
    """Whether the timer concerns this parcel (its stage and its condition)."""
    if not timer.active or timer.stage != parcel.stage:
        return False
    return {
        None: True,
        "no_resettlement": not parcel.resettlement_needed,
        "resettlement": bool(parcel.resettlement_needed),
        "compulsory_inventory": bool(parcel.compulsory_inventory),
        "agricultural": is_agricultural(parcel.land_type),
        "non_agricultural": not is_agricultural(parcel.land_type),
    }[timer.applies_when]


@dataclass(frozen=True)
class RunningTimer:
    timer: ParcelTimer
    start: dt.date
    end: dt.date
    overdue: bool
    days_left: int  # negative: days overdue


def running(timers: Iterable[ParcelTimer], parcel: Parcel, today: dt.date) -> list[RunningTimer]:
    """The timers running for the parcel now, deadlines first by their end."""
    if parcel.stage_date is None:
        return []
    found = []
    for timer in timers:
        if applies(timer, parcel):
            end = add_period(parcel.stage_date, timer.months, timer.days)
            overdue = timer.kind == "deadline" and today > end
            found.append(RunningTimer(timer, parcel.stage_date, end, overdue, (end - today).days))
    return sorted(found, key=lambda r: (r.timer.kind != "deadline", r.end, r.timer.code))


def all_timers(session: Session) -> list[ParcelTimer]:
    """Every timer row, by stage (the board's page)."""
    return list(session.scalars(select(ParcelTimer).order_by(ParcelTimer.stage, ParcelTimer.id)))


def get_timer(session: Session, timer_id: int) -> ParcelTimer | None:
    return session.get(ParcelTimer, timer_id)


def active_timers(session: Session) -> list[ParcelTimer]:
    return list(session.scalars(select(ParcelTimer).where(ParcelTimer.active).order_by(ParcelTimer.id)))


# -- SQL: the same rule ------------------------------------------------------------------------------------------
def condition_clause(parcels: Any = Parcel) -> ColumnElement[bool]:
    """The timer row's ``applies_when`` holds for the parcel row."""
    agricultural = func.upper(func.trim(parcels.land_type)).in_(AGRICULTURAL_LAND_TYPES)
    return or_(
        ParcelTimer.applies_when.is_(None),
        and_(ParcelTimer.applies_when == "no_resettlement", not_(parcels.resettlement_needed)),
        and_(ParcelTimer.applies_when == "resettlement", parcels.resettlement_needed),
        and_(ParcelTimer.applies_when == "compulsory_inventory", parcels.compulsory_inventory),
        and_(ParcelTimer.applies_when == "agricultural", agricultural),
        and_(ParcelTimer.applies_when == "non_agricultural", not_(agricultural)),
    )


def timer_due_date(parcels: Any = Parcel) -> ColumnElement:
    """The end of a timer row (ParcelTimer) for a parcel row: stage_date + months, then days (a timestamp)."""
    return parcels.stage_date + func.make_interval(0, ParcelTimer.months, 0, ParcelTimer.days)


def overdue_clause(today: dt.date, parcels: Any = Parcel) -> ColumnElement[bool]:
    """True for a parcel one of whose deadline timers ended before ``today`` (the province's date)."""
    return exists(
        select(literal(1))
        .where(
            ParcelTimer.active,
            ParcelTimer.kind == "deadline",
            ParcelTimer.stage == parcels.stage,
            parcels.stage_date.is_not(None),
            condition_clause(parcels),
            timer_due_date(parcels) < today,
        )
        .correlate(parcels)
    )


# -- editing the rows (the board corrects them against the official text) ----------------------------------------
TIMER_FIELDS = ("stage", "kind", "days", "months", "applies_when", "label", "label_en", "citation", "active")


def validate_timer(data: Mapping[str, Any]) -> dict[str, Any]:
    """A timer row's values checked; ValidationFailed (a message per field) otherwise. A citation is required."""
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    stage = str(data.get("stage") or "").strip()
    if stage not in PARCEL_STAGES:
        errors["stage"] = _l("Choose one of the listed stages.")
    values["stage"] = stage
    kind = str(data.get("kind") or "deadline").strip()
    if kind not in PARCEL_TIMER_KINDS:
        errors["kind"] = _l("Choose one of the listed kinds.")
    values["kind"] = kind
    condition = str(data.get("applies_when") or "").strip() or None
    if condition is not None and condition not in PARCEL_TIMER_CONDITIONS:
        errors["applies_when"] = _l("Choose one of the listed conditions.")
    values["applies_when"] = condition
    for name, most in (("days", MAX_DAYS), ("months", MAX_MONTHS)):
        raw = str(data.get(name) if data.get(name) is not None else "0").strip() or "0"
        if not raw.isdigit() or int(raw) > most:
            errors[name] = _l("Enter a whole number from 0 to %(n)d.", n=most)
            values[name] = 0
        else:
            values[name] = int(raw)
    if not errors.get("days") and not errors.get("months") and values["days"] == 0 and values["months"] == 0:
        errors["days"] = _l("A timer lasts at least one day or one month.")
    for name in ("label", "label_en", "citation"):
        values[name] = str(data.get(name) or "").strip()
        if len(values[name]) > 1000:
            errors[name] = _l("The text is too long (%(n)d characters at most).", n=1000)
    if not values["label"]:
        errors["label"] = _l("Enter a label.")
    if not values["citation"]:
        errors["citation"] = _l("Enter the legal text this timer comes from (article and source).")
    active = data.get("active", True)
    values["active"] = (
        active if isinstance(active, bool) else str(active).lower() in ("1", "true", "on", "yes")
    )
    if errors:
        raise ValidationFailed(errors)
    return values


def save_timer(session: Session, timer: ParcelTimer, data: Mapping[str, Any], user=None) -> ParcelTimer:
    """Change a timer row (validated; audited). The caller commits."""
    from khgeo.services.audit import record

    values = validate_timer(data)
    changes = {}
    for name, new in values.items():
        old = getattr(timer, name)
        if old != new:
            changes[name] = [old, new]
            setattr(timer, name, new)
    if changes:
        record(session, user, "parcel_timer.update", "parcel_timer", timer.code, changes, {})
    session.flush()
    return timer
