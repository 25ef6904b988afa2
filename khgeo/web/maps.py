"""Turn service results into a ZoneMapSpec for the map builder (translated labels, URLs, embed or fetch)."""

from __future__ import annotations

from dataclasses import replace

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from khgeo import codes
from khgeo.clock import today
from khgeo.geo.mapbuilder import MapParts, ZoneMapSpec, build_outline_editor, build_zone_map
from khgeo.models import ZONE_KINDS
from khgeo.services import authz
from khgeo.services.admin_units import districts_overlay_json
from khgeo.services.indicators import Indicator
from khgeo.services.units.catalogue import units_overlay_json
from khgeo.services.zones import ZoneFilter, feature_collection_json


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _labels() -> dict[str, str]:
    return {
        "locale": str(get_locale()).replace("_", "-"),
        "loading": _("Loading…"),
        "popup_failed": _("Could not load the details. Check the connection and click again."),
        "load_failed": _("Could not load the zones"),
        "illustrative": str(codes.GEOMETRY_SOURCE.label("illustrative")),
        "no_figure_one": _("{n} zone without a figure"),
        "no_figure_many": _("{n} zones without a figure"),
    }


def _l10n() -> dict[str, str]:
    """Leaflet's and its plugins' own texts (controls, drawing toolbar), set by khgeo.localize in the browser."""
    return {
        "locale": str(get_locale()).replace("_", "-"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "layers": _("Layers"),
        "locate": _("My location"),
        "locate_popup": _("You are within {distance} {unit} of this point"),
        "locate_outside": _("You seem to be outside the area of the map"),
        "locate_failed": _("Your location is not available (the browser did not give it)."),
        "metres": _("metres"),
        "minimap_show": _("Show the mini map"),
        "minimap_hide": _("Hide the mini map"),
        "fullscreen": _("Full screen"),
        "exit_fullscreen": _("Exit full screen"),
        "no_location": _("no location"),
        "cancel": _("Cancel"),
        "draw_cancel_title": _("Cancel drawing"),
        "draw_finish": _("Finish"),
        "draw_finish_title": _("Finish drawing"),
        "draw_undo": _("Delete last point"),
        "draw_undo_title": _("Delete the last point drawn"),
        "draw_polyline": _("Measure a distance"),
        "draw_polygon": _("Measure an area"),
        "draw_rectangle": _("Measure a rectangle"),
        "draw_crossing": _("Error: the edges of the shape cannot cross!"),
        "line_start": _("Click to start the line."),
        "line_cont": _("Click to continue the line."),
        "line_end": _("Click the last point to finish the line."),
        "shape_start": _("Click to start drawing the shape."),
        "shape_cont": _("Click to continue drawing the shape."),
        "shape_end": _("Click the first point to close the shape."),
        "rectangle_start": _("Click and drag to draw a rectangle."),
        "release_to_finish": _("Release the mouse to finish drawing."),
        "edit_save": _("Save"),
        "edit_save_title": _("Save the changes"),
        "edit_cancel_title": _("Cancel editing, discarding all changes"),
        "edit_clear": _("Clear all"),
        "edit_clear_title": _("Clear all shapes"),
        "edit_layers": _("Edit shapes"),
        "edit_none": _("No shape to edit"),
        "remove_layers": _("Delete shapes"),
        "remove_none": _("No shape to delete"),
        "edit_tip": _("Drag the handles to edit the shape."),
        "edit_subtip": _("Click Cancel to undo the changes."),
        "remove_tip": _("Click a shape to delete it."),
    }


def _texts() -> dict[str, str]:
    return {
        "placeholder": _("Find a zone…"),
        "not_found": _("No zone with that name"),
        "cancel": _("Cancel"),
        "fullscreen": _("Full screen"),
        "exit_fullscreen": _("Exit full screen"),
        "locate": _("Show my location"),
    }


def _layer_names() -> dict[str, str]:
    return {
        "basemap": _("OpenStreetMap basemap"),
        "no_basemap": _("No basemap"),
        "districts": _("Districts (2022)"),
        "units": _("Communes and wards (since 01/07/2025)"),
    }


PARCELS_MIN_ZOOM = 14  # where a zone (1–3 km across) fills a phone's screen: parcels are a few pixels wide


def parcels_options() -> dict:
    """The parcels layer (static/js/parcels-map.js): tile URL, stage colours and labels, links, UI texts."""
    stages = [
        {"key": code.key, "label": str(code.label), "short": str(code.short_label), "colour": code.colour}
        for code in codes.PARCEL_STAGE
    ]
    return {
        "url": url_for("tiles.parcel_tile", z=0, x=0, y=0).replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt"),
        "minZoom": PARCELS_MIN_ZOOM,
        "maxNativeZoom": 20,
        "stages": stages,
        "parcelUrl": "/parcels/__uid__",  # the parcel's page, which holds its update form (khgeo/web/parcels.py)
        "zoneUrl": url_for("web.zone_page", code="__code__"),
        "batchUrl": "/api/parcels/stage",
        "today": today().isoformat(),  # the province's date: the batch form's default and latest date
        "canUpdate": authz.may_update_parcels(current_user),  # each parcel is still checked when saved
        "labels": {
            "locale": str(get_locale()).replace("_", "-"),
            "title": _("Parcels by stage"),
            "zoom_in": _("Zoom in to see the parcels."),
            "tooltip": _("Sheet {sheet}, parcel {number}"),
            "days": _("{days} days in this stage"),
            "overdue": _("Overdue"),
            "area": _("Area"),
            "stage": _("Stage"),
            "zone": _("Zone"),
            "uid": _("Parcel ID"),
            "open": _("Parcel page"),
            "update": _("Update this parcel"),
            "all_stages": _("All stages"),
            "only_overdue": _("Overdue only"),
            "select": _("Select parcels"),
            "select_hint": _("Drag a box over the parcels to select."),
            "selected": _("{n} parcels selected"),
            "none_selected": _("No parcel in the box: zoom in and draw again."),
            "set_stage": _("New stage"),
            "date": _("Date"),
            "doc_number": _("Document number"),
            "doc_date": _("Document date"),
            "doc_signer": _("Signed by"),
            "note": _("Note"),
            "save": _("Save"),
            "cancel": _("Cancel"),
            "saving": _("Saving…"),
            "saved": _("{n} parcels saved."),
            "conflicts": _("{n} parcels not saved:"),
            "failed": _("Could not save: {message}"),
            "unavailable": _("Saving several parcels at once is not available on this server yet."),
        },
    }


def _kind_title(kind: str) -> str:
    code = codes.ZONE_KIND.get(kind)
    return f"{code.short_label} — {code.label}" if code else kind


def zone_map(
    session: Session,
    zone_filter: ZoneFilter,
    indicator: Indicator,
    count: int,
    bounds: list[list[float]] | None,
) -> MapParts:
    """The main map: embedded GeoJSON while small, fetched from /api/zones (canvas renderer) when large."""
    embed = count <= current_app.config["KHGEO_EMBED_MAX_FEATURES"]
    layers = []
    for kind in [zone_filter.kind] if zone_filter.kind else ZONE_KINDS:
        kind_filter = replace(zone_filter, kind=kind)
        if embed:
            source = {"data": feature_collection_json(session, kind_filter, for_display=True)}
        else:
            source = {"url": url_for("api.zones", **kind_filter.as_args())}
        layers.append((_kind_title(kind), source))
    spec = ZoneMapSpec(
        indicator=indicator.to_json(),
        labels=_labels(),
        popup_url=url_for("web.zone_popup", code="__code__"),
        layers=layers,
        districts_json=districts_overlay_json(session),
        units_json=units_overlay_json(session),
        bounds=bounds,
        tiles_url=current_app.config["KHGEO_TILES_URL"],
        tiles_attribution=current_app.config["KHGEO_TILES_ATTRIBUTION"],
        canvas=not embed,
        search_texts=_texts(),
        layer_names=_layer_names(),
        l10n=_l10n(),
        parcels=parcels_options() if authz.can_read_parcels(current_user) else None,
    )
    return build_zone_map(spec, _static)


def zones_overview_map(
    session: Session,
    codes: list[str],
    indicator: Indicator,
    bounds,
    *,
    retired: bool | None = False,
    with_parcels: bool = False,
) -> MapParts:
    """A small map of some zones (a zone's page, a task's page): embedded, no plugins.

    ``retired`` as in ZoneFilter: a retired zone's own page still shows its outline (None)."""
    data = feature_collection_json(session, ZoneFilter(codes=tuple(codes), retired=retired), for_display=True)
    spec = ZoneMapSpec(
        indicator=indicator.to_json(),
        labels=_labels(),
        popup_url=url_for("web.zone_popup", code="__code__"),
        layers=[(", ".join(codes), {"data": data})],
        districts_json=districts_overlay_json(session),
        bounds=bounds,
        tiles_url=current_app.config["KHGEO_TILES_URL"],
        tiles_attribution=current_app.config["KHGEO_TILES_ATTRIBUTION"],
        canvas=False,
        search_texts=_texts(),
        layer_names=_layer_names(),
        plugins=False,
        l10n=_l10n(),
        parcels=(
            {**parcels_options(), "outside": True}  # the legend under the small map, as the zones'
            if with_parcels and authz.can_read_parcels(current_user)
            else None
        ),
    )
    return build_zone_map(spec, _static)


def outline_editor_map(session: Session, code: str, geometry_json: str | None, bounds) -> MapParts:
    """The admin's outline editor: the zone's outline editable with Leaflet.draw, districts for reference."""
    return build_outline_editor(
        geometry_json=geometry_json,
        districts_json=districts_overlay_json(session),
        bounds=bounds,
        tiles_url=current_app.config["KHGEO_TILES_URL"],
        tiles_attribution=current_app.config["KHGEO_TILES_ATTRIBUTION"],
        layer_names=_layer_names(),
        static_url=_static,
        l10n=_l10n(),
    )
