"""Planners' views, each downloadable as XLSX."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from khgeo.clock import today
from khgeo.db import get_session
from khgeo.errors import BadRequest
from khgeo.numbers import NumberError, parse_int
from khgeo.services import authz, missing, planning
from khgeo.services.indicators import INDICATORS
from khgeo.services.interop.export import download_name
from khgeo.services.zones import ZoneFilter, zone_bounds
from khgeo.web import bp
from khgeo.web.documents import heavy_document
from khgeo.web.download import attachment
from khgeo.web.maps import zones_overview_map

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _days(default: int = planning.DEFAULT_STALLED_DAYS) -> int:
    raw = request.args.get("days", str(default))
    try:
        return parse_int(raw, minimum=1, maximum=3650)
    except NumberError:
        raise BadRequest(_("Days must be a whole number from 1 to 3650."), field="days") from None


@bp.get("/planning")
def planning_page():
    session = get_session()
    wwtp = planning.clusters_without_wwtp(session)
    codes = [zone.code for zone in wwtp.clusters if zone.has_outline]
    parts = (
        zones_overview_map(
            session, codes, INDICATORS["wwtp"], zone_bounds(session, ZoneFilter(codes=tuple(codes)))
        )
        if codes
        else None
    )
    days = _days()
    return render_template(
        "planning.html",
        wwtp=wwtp,
        parts=parts,
        ranking=planning.infrastructure_ranking(session),
        stalled=planning.stalled_clearance(session, days, today()),
        days=days,
        series=planning.clearance_series(session),
        infrastructure=INDICATORS["infrastructure"],
    )


@bp.get("/planning/<view>.xlsx")
@heavy_document("planning", authz.can_read_documents)
def planning_xlsx(view: str):
    session = get_session()
    if view == "wwtp":
        name = download_name(session, ZoneFilter(kind="CCN", wwtp="none"), "xlsx")
        body = planning.wwtp_xlsx(planning.clusters_without_wwtp(session))
    elif view == "infrastructure":
        name = download_name(session, ZoneFilter(), "xlsx", words="xếp hạng hạ tầng")
        body = planning.infrastructure_xlsx(planning.infrastructure_ranking(session))
    elif view == "stalled":
        days = _days()
        name = download_name(session, ZoneFilter(), "xlsx", words=f"GPMB chậm {days} ngày")
        body = planning.stalled_xlsx(planning.stalled_clearance(session, days, today()))
    else:
        abort(404)
    return attachment(body, content_type=XLSX, name=name)


MISSING_LABELS = {
    "area": _l("Stated area"),
    "district": _l("District"),
    "location": _l("Outline"),
    "clearance": _l("Site clearance"),
    "households": _l("Households affected"),
    "wwtp": _l("Wastewater treatment"),
    "infrastructure": _l("Infrastructure"),
    "occupancy": _l("Occupancy"),
    "operating": _l("Operating status"),
    "developer": _l("Developer"),
}


@bp.get("/planning/missing")
def missing_page():
    """Số liệu còn thiếu: per zone, the figures nobody recorded and how old the latest is, with where to fill them."""
    session = get_session()
    days = _days(missing.DEFAULT_STALE_DAYS)
    rows = missing.missing_data(session, today(), days)
    return render_template(
        "planning_missing.html",
        rows=rows,
        days=days,
        labels=MISSING_LABELS,
        today=today(),
        can_update={row.zone.code: authz.can_update_status(current_user, row.zone) for row in rows},
        can_edit_geometry=authz.can_edit_geometry(current_user),
    )
