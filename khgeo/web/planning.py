"""Planners' views, each downloadable as XLSX."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from khgeo.app import get_session, today
from khgeo.errors import BadRequest
from khgeo.numbers import NumberError, parse_int
from khgeo.services import planning
from khgeo.services.indicators import INDICATORS, WWTP_LABELS
from khgeo.services.zones import ZoneFilter, zone_bounds
from khgeo.web import bp
from khgeo.web.maps import zones_overview_map

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _days() -> int:
    raw = request.args.get("days", str(planning.DEFAULT_STALLED_DAYS))
    try:
        return parse_int(raw, minimum=1, maximum=3650)
    except NumberError:
        raise BadRequest(_("Days must be a whole number from 1 to 3650."), field="days") from None


@bp.get("/planning")
def planning_page():
    session = get_session()
    wwtp = planning.clusters_without_wwtp(session)
    codes = [zone.code for zone in wwtp.clusters if zone.geom is not None]
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
def planning_xlsx(view: str):
    session = get_session()
    if view == "wwtp":
        data = planning.clusters_without_wwtp(session)
        body = planning.to_xlsx(
            _("Clusters without WWTP"),
            [
                _("Code"),
                _("Cluster"),
                _("District"),
                _("Stated area (ha)"),
                _("Infrastructure (%%)"),
                _("Wastewater treatment"),
            ],
            [
                [
                    z.code,
                    z.name,
                    z.district.name if z.district else "",
                    z.stated_area_ha,
                    z.infrastructure_pct,
                    str(WWTP_LABELS.get(z.wwtp_status)),
                ]
                for z in data.clusters
            ],
        )
    elif view == "infrastructure":
        body = planning.to_xlsx(
            _("Infrastructure"),
            [_("Code"), _("Kind"), _("Zone"), _("District"), _("Infrastructure (%%)")],
            [
                [z.code, z.kind, z.name, z.district.name if z.district else "", z.infrastructure_pct]
                for z in planning.infrastructure_ranking(session)
            ],
        )
    elif view == "stalled":
        rows = planning.stalled_clearance(session, _days(), today())
        body = planning.to_xlsx(
            _("Stalled clearance"),
            [
                _("Code"),
                _("Kind"),
                _("Zone"),
                _("District"),
                _("Site clearance (%%)"),
                _("Last change"),
                _("Days"),
            ],
            [
                [
                    r.zone.code,
                    r.zone.kind,
                    r.zone.name,
                    r.zone.district.name if r.zone.district else "",
                    r.zone.clearance_pct,
                    r.last_change,
                    r.days,
                ]
                for r in rows
            ],
        )
    else:
        abort(404)
    response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="khgeo-{view}.xlsx"'
    return response
