"""Turn service results into a ZoneMapSpec for the map builder (translated labels, URLs, embed or fetch)."""

from __future__ import annotations

from dataclasses import replace

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from khgeo.geo.mapbuilder import MapParts, ZoneMapSpec, build_outline_editor, build_zone_map
from khgeo.models import ZONE_KINDS
from khgeo.services.admin_units import districts_overlay_json
from khgeo.services.indicators import Indicator
from khgeo.services.zones import ZoneFilter, feature_collection_json


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _labels() -> dict[str, str]:
    return {
        "locale": str(get_locale()).replace("_", "-"),
        "loading": _("Loading…"),
        "popup_failed": _("Could not load the details. Check the connection and click again."),
        "load_failed": _("Could not load the zones"),
        "illustrative": _("Illustrative outline (not surveyed)"),
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
    }


KIND_TITLES = {"KCN": "KCN — khu công nghiệp", "CCN": "CCN — cụm công nghiệp"}


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
            source = {"data": feature_collection_json(session, kind_filter)}
        else:
            source = {"url": url_for("api.zones", **kind_filter.as_args())}
        layers.append((KIND_TITLES[kind], source))
    spec = ZoneMapSpec(
        indicator=indicator.to_json(),
        labels=_labels(),
        popup_url=url_for("web.zone_popup", code="__code__"),
        layers=layers,
        districts_json=districts_overlay_json(session),
        bounds=bounds,
        tiles_url=current_app.config["KHGEO_TILES_URL"],
        tiles_attribution=current_app.config["KHGEO_TILES_ATTRIBUTION"],
        canvas=not embed,
        search_texts=_texts(),
        layer_names=_layer_names(),
    )
    return build_zone_map(spec, _static)


def zones_overview_map(
    session: Session, codes: list[str], indicator: Indicator, bounds, *, retired: bool | None = False
) -> MapParts:
    """A small map of some zones (a zone's page, a task's page): embedded, no plugins.

    ``retired`` as in ZoneFilter: a retired zone's own page still shows its outline (None)."""
    data = feature_collection_json(session, ZoneFilter(codes=tuple(codes), retired=retired))
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
    )
