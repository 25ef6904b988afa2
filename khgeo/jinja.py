"""Template filters: Vietnamese formats (dd/mm/yyyy, decimal comma) and labels for stored codes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from flask import Flask
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from khgeo import clock, codes

# labels of stored codes: one table, khgeo/codes.py (these names stay for callers)
OPERATING_LABELS = codes.OPERATING_STATUS.labels()
GEOMETRY_SOURCE_LABELS = codes.GEOMETRY_SOURCE.labels()
FIELD_LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "aliases": _l("Other names"),
    "kind": _l("Kind"),
    "district": _l("District"),
    "communes": _l("Communes"),
    "stated_area_ha": _l("Stated area (ha)"),
    "developer": _l("Developer"),
    "operating_status": _l("Operating status"),
    "clearance_area_ha": _l("Area to clear (ha)"),
    "cleared_area_ha": _l("Area cleared (ha)"),
    "households_total": _l("Households affected"),
    "households_agreed": _l("Households agreed"),
    "wwtp_status": _l("Wastewater treatment"),
    "wwtp_capacity_m3_day": _l("Wastewater capacity (m³/day)"),
    "infrastructure_pct": _l("Infrastructure completion (%)"),
    "occupancy_pct": _l("Occupancy (%)"),
    "as_of": _l("Situation as of"),
    "geometry": _l("Outline"),
    "geometry_source": _l("Outline source"),
    "managing_agency": _l("Managing body"),
    "notes": _l("Notes"),
    "sources": _l("Sources"),
    "retired": _l("Monitoring status"),
    "parcel_count": _l("Parcels"),  # site clearance by parcel (khgeo.services.parcels.derive)
    "stage": _l("Stage"),
}
TASK_STATUS_LABELS = codes.TASK_STATUS.labels()
RECURRENCE_LABELS = codes.RECURRENCE.labels()


CHANGE_CODES = {
    "wwtp_status": codes.WWTP_STATUS,
    "operating_status": codes.OPERATING_STATUS,
    "geometry_source": codes.GEOMETRY_SOURCE,
    "status": codes.TASK_STATUS,
    "recurrence": codes.RECURRENCE,
    "stage": codes.PARCEL_STAGE,
}


def date_vn(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return clock.local(value).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def number(value: float | Decimal | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern)


def change_value(value, field: str) -> str:
    """One side of an "old → new" in the history and audit log, written as people read it."""
    if value is None or value == "":
        return "—"
    if field == "as_of" and isinstance(value, str):
        try:
            return date_vn(dt.date.fromisoformat(value))
        except ValueError:
            return value
    coded = CHANGE_CODES.get(field)
    if coded is not None:
        return str(coded.label(value, value))
    if field == "retired" and isinstance(value, bool):
        return str(_l("no longer monitored") if value else _l("monitored"))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return "; ".join(str(item) for item in value) or "—"
    if isinstance(value, dict):  # sources: {fact: [keys]}
        return "; ".join(f"{FIELD_LABELS.get(k, k)}: {', '.join(v)}" for k, v in value.items()) or "—"
    if isinstance(value, int | float | Decimal):
        text = number(value)
        return f"{text} ha" if field == "geometry" else text
    return str(value)


def langargs(args, lang: str) -> str:
    """The current query string with the language switched."""
    return urlencode([(k, v) for k, v in args.items(multi=True) if k != "lang"] + [("lang", lang)])


def init_app(app: Flask) -> None:
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters.update(
        date_vn=date_vn,
        langargs=langargs,
        number=number,
        wwtp_label=codes.WWTP_STATUS.label,
        operating_label=lambda v: codes.OPERATING_STATUS.label(v) if v else "—",
        geometry_source_label=lambda v: codes.GEOMETRY_SOURCE.label(v, v),
        field_label=lambda v: FIELD_LABELS.get(v, v),
        change_value=change_value,
        task_status_label=lambda v: codes.TASK_STATUS.label(v, v),
        recurrence_label=lambda v: codes.RECURRENCE.label(v, v),
        parcel_stage_label=lambda v: codes.PARCEL_STAGE.label(v, v),
        land_user_kind_label=lambda v: codes.LAND_USER_KIND.label(v, v),
    )
