"""The map, the zone page and the zone popup."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from khgeo.app import get_session, today
from khgeo.models import WWTP_STATUSES, ZONE_KINDS
from khgeo.services import authz, updates
from khgeo.services import tasks as task_service
from khgeo.services.admin_units import list_districts
from khgeo.services.indicators import INDICATORS, get_indicator
from khgeo.services.sources import describe
from khgeo.services.zones import ZoneFilter, count_zones, get_zone, list_zones, parse_filter, zone_bounds
from khgeo.web import bp
from khgeo.web.maps import zone_map, zones_overview_map

# Above this many matches the side list says "narrow the filter" instead of listing every zone.
LIST_LIMIT = 300


@bp.get("/")
def map_page():
    session = get_session()
    zone_filter = parse_filter(session, request.args)
    indicator = get_indicator(request.args.get("color"))
    count = count_zones(session, zone_filter)
    zones = list_zones(session, zone_filter) if count <= LIST_LIMIT else []
    parts = zone_map(session, zone_filter, indicator, count, zone_bounds(session, zone_filter))
    return render_template(
        "map.html",
        parts=parts,
        zones=zones,
        count=count,
        list_limit=LIST_LIMIT,
        zone_filter=zone_filter,
        indicator=indicator,
        indicators=INDICATORS,
        districts=list_districts(session),
        kinds=ZONE_KINDS,
        wwtp_values=(*WWTP_STATUSES, "unknown"),
        args=request.args,
    )


@bp.get("/zones/<code>")
def zone_page(code: str):
    session = get_session()
    zone = get_zone(session, code)
    indicator = get_indicator(request.args.get("color"))
    # a retired zone keeps its page, outline included
    bounds = zone_bounds(session, ZoneFilter(codes=(zone.code,), retired=None))
    parts = zones_overview_map(session, [zone.code], indicator, bounds, retired=None)
    timeline = updates.history(session, zone)
    return render_template(
        "zones/zone.html",
        zone=zone,
        parts=parts,
        tasks=_task_rows(zone.tasks),
        sources=_sources(zone),
        timeline=timeline,
        series=updates.chart_series(timeline),
        can_update=authz.can_update_status(current_user, zone),
        can_edit_geometry=authz.can_edit_geometry(current_user),
        can_edit_info=authz.is_admin(current_user),
    )


@bp.get("/zones/<code>/popup")
def zone_popup(code: str):
    zone = get_zone(get_session(), code)
    return render_template(
        "zones/_popup.html",
        zone=zone,
        tasks=_task_rows(zone.tasks),
        can_update=authz.can_update_status(current_user, zone),
    )


def _task_rows(tasks) -> list[task_service.TaskRow]:
    return task_service.rows(get_session(), list(tasks), today())


def _sources(zone) -> list[dict]:
    return describe(zone.sources)
