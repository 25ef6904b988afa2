"""The map, the zone page and the zone popup."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from khgeo.clock import today, tracking_start
from khgeo.db import get_session
from khgeo.jinja import FIELD_LABELS
from khgeo.models import WWTP_STATUSES, ZONE_KINDS
from khgeo.services import authz, updates
from khgeo.services import tasks as task_service
from khgeo.services.admin_units import list_districts
from khgeo.services.indicators import INDICATORS, get_indicator
from khgeo.services.interop.import_types import parse_import_note
from khgeo.services.sources import describe
from khgeo.services.zones import ZoneFilter, count_zones, get_zone, list_zones, parse_filter, zone_bounds
from khgeo.web import bp
from khgeo.web.maps import zone_map, zones_overview_map
from khgeo.web.parcels import zone_section as parcels_section

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
    parts = zones_overview_map(session, [zone.code], indicator, bounds, retired=None, with_parcels=True)
    timeline = updates.history(session, zone)
    notes = {entry.id: _history_note(entry) for entry in timeline}
    return render_template(
        "zones/zone.html",
        zone=zone,
        parts=parts,
        tasks=_task_rows(zone.tasks),
        sources=_sources(zone),
        timeline=timeline,
        notes=notes,
        series=updates.chart_series(timeline),
        can_update=authz.can_update_status(current_user, zone),
        can_edit_geometry=authz.can_edit_geometry(current_user),
        show_people=authz.sees_people(current_user),
        show_gps=authz.sees_photo_gps(current_user),
        author=lambda user: authz.author_label(current_user, user),
        can_edit_info=authz.is_admin(current_user),
        parcels=parcels_section(zone),
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


def _history_note(entry) -> str:
    """A history entry's note in the reader's language: an import's note is written by khgeo, not by a person."""
    imported = parse_import_note(entry.note) if entry.kind == "import" else None
    if imported:
        return _("Imported from the file %(file)s (feature %(number)d)", file=imported[0], number=imported[1])
    return entry.note


def _task_rows(tasks) -> list[task_service.TaskRow]:
    return task_service.rows(get_session(), list(tasks), today(), tracking_start())


# the facts a source supports, named as on the page (the catalogue's keys are internal names)
SOURCE_FIELDS = {
    **FIELD_LABELS,
    "district_code": FIELD_LABELS["district"],
    "clearance_incomplete": _l("Site clearance"),
}
SOURCE_FIELDS.update(anchor_gid3=FIELD_LABELS["geometry"], osm_ref=FIELD_LABELS["geometry"])


def _sources(zone) -> list[dict]:
    rows = describe(zone.sources)
    for row in rows:
        labels = [str(SOURCE_FIELDS[field]) for field in row["fields"] if field in SOURCE_FIELDS]
        row["facts"] = list(dict.fromkeys(labels))
    return rows
