"""The one place that builds folium maps.

Zones are drawn by a small layer of our own (``ZonesLayer``, JS in static/js/khgeo-map.js) rather than
folium.GeoJson: it embeds the GeoJSON while it is small and otherwise fetches it from /api/zones in the browser
with the canvas renderer (folium's ``embed=False`` downloads in Python instead), styles features from the
indicator spec, and builds tooltips from text nodes so nothing a user typed is ever parsed as HTML.
Popups are server-rendered fragments (autoescaped by Jinja) fetched on click.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import folium
from branca.element import Figure, MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from folium.template import Template

from khgeo.geo import branca_text
from khgeo.geo.assets import localize

branca_text.install()  # what users typed is never evaluated as a template (see branca_text)

# Bắc Giang (2022 units): used when there is nothing to fit the map to
PROVINCE_BOUNDS = [[21.11, 105.88], [21.62, 107.03]]


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside <script>."""
    return escape_json_for_script(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def escape_json_for_script(text: str) -> str:
    """JSON text made safe inside <script>: no '</script>', no HTML comment openers, no U+2028."""
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class ZonesLayer(folium.map.Layer):
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = khgeo.zonesLayer({{ this.options_json }}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, name: str, options: dict[str, Any]):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "ZonesLayer"
        self.options_json = script_json(options)


class DistrictsLayer(folium.map.Layer):
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = khgeo.districtsLayer({{ this.data_json }}, {{ this.style_json }}){% if this.show %}.addTo({{ this._parent.get_name() }}){% endif %};
{% endmacro %}
""")

    def __init__(self, name: str, data_json: str, show: bool = True, style: dict | None = None):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DistrictsLayer"
        self.data_json = escape_json_for_script(data_json)
        self.style_json = script_json(style or {})


# the 2025 communes and wards: thin and solid, so they read apart from the 2022 districts' dashed lines
UNITS_STYLE = {"color": "#455a64", "weight": 1, "dashArray": None, "fill": False}


class BlankBasemap(folium.map.Layer):
    """A base layer with no tiles: choosing it (or having no network) still leaves the zones on the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.layerGroup();
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
""")

    def __init__(self, name: str, show: bool):
        super().__init__(name=name, overlay=False, control=True, show=show)


class ZoneSearch(JSCSSMixin, MacroElement):
    """folium's Search plugin (leaflet-search) over both zone layers, matching without diacritics or case."""

    default_js = plugins.Search.default_js
    default_css = plugins.Search.default_css

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = new L.Control.Search({
    layer: L.layerGroup([{% for layer in this.layers %}{{ layer.get_name() }}{{ "," if not loop.last }}{% endfor %}]),
    propertyName: "search_label",
    filterData: khgeo.searchFilter,
    moveToLocation: khgeo.searchMoveTo,
    buildTip: khgeo.searchTip,
    initial: false,
    marker: false,
    collapsed: true,
    textPlaceholder: {{ this.texts.placeholder }},
    textErr: {{ this.texts.not_found }},
    textCancel: {{ this.texts.cancel }},
    position: "topleft"
});
{{ this._parent.get_name() }}.addControl({{ this.get_name() }});
{% endmacro %}
""")

    def __init__(self, layers: list[ZonesLayer], texts: dict[str, str]):
        super().__init__()
        self._name = "ZoneSearch"
        self.layers = layers
        self.texts = {k: script_json(v) for k, v in texts.items()}


class ParcelsLayer(JSCSSMixin, MacroElement):
    """Parcels from the vector tiles (/tiles/parcels/…), drawn by Leaflet.VectorGrid (the asset of folium's
    VectorGridProtobuf plugin, vendored) through static/js/parcels-map.js: styles by stage, tooltip, popup,
    filters, the parcels' legend and the "select parcels" tool."""

    default_js = list(plugins.VectorGridProtobuf.default_js)
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = khgeo.parcelsLayer({{ this._parent.get_name() }}, {{ this.options_json }});
{% endmacro %}
""")

    def __init__(self, options: dict[str, Any]):
        super().__init__()
        self._name = "ParcelsLayer"
        self.options_json = script_json(options)


class Legend(MacroElement):
    _template = Template("""
{% macro script(this, kwargs) %}
khgeo.legend({{ this._parent.get_name() }}, {{ this.spec_json }});
{% endmacro %}
""")

    def __init__(self, spec: dict):
        super().__init__()
        self._name = "Legend"
        self.spec_json = script_json(spec)


@dataclass
class MapParts:
    """A rendered map split for our own page templates."""

    header: str
    html: str
    script: str


@dataclass
class ZoneMapSpec:
    """Everything the map needs, computed by the view from services."""

    indicator: dict  # Indicator.to_json()
    labels: dict[str, str]  # translated UI strings for the JS (tooltip/popup chrome)
    popup_url: str  # with "__code__" standing for the zone code
    layers: list[tuple[str, dict]]  # (layer title, {"data": FeatureCollection json text} or {"url": ...})
    districts_json: str | None
    bounds: list[list[float]] | None
    tiles_url: str
    tiles_attribution: str
    canvas: bool
    search_texts: dict[str, str]
    layer_names: dict[str, str]  # basemap / no basemap / districts titles
    plugins: bool = True
    height: str = "100%"
    l10n: dict[str, str] = field(default_factory=dict)  # Leaflet's and the plugins' texts (khgeo.localize)
    # the 2025 communes and wards (issue 13): shown by default, the 2022 districts then a choice in the layers
    units_json: str | None = None
    parcels: dict | None = (
        None  # the parcels layer's options (parcels-map.js), for those who may read parcels
    )


def build_zone_map(spec: ZoneMapSpec, static_url: Callable[[str], str]) -> MapParts:
    fmap = folium.Map(
        location=None,
        tiles=None,
        zoom_start=10,
        min_zoom=7,
        max_zoom=19,
        control_scale=True,
        prefer_canvas=spec.canvas,
        height=spec.height,
        width="100%",
    )
    if spec.tiles_url:
        folium.TileLayer(
            spec.tiles_url, attr=spec.tiles_attribution, name=spec.layer_names["basemap"], max_zoom=19
        ).add_to(fmap)
    BlankBasemap(spec.layer_names["no_basemap"], show=not spec.tiles_url).add_to(fmap)
    if spec.units_json:
        DistrictsLayer(spec.layer_names["units"], spec.units_json, style=UNITS_STYLE).add_to(fmap)
    if spec.districts_json:
        DistrictsLayer(spec.layer_names["districts"], spec.districts_json, show=not spec.units_json).add_to(
            fmap
        )

    zone_layers: list[ZonesLayer] = []
    for title, source in spec.layers:
        options = {
            "indicator": spec.indicator,
            "labels": spec.labels,
            "popupUrl": spec.popup_url,
            "canvas": spec.canvas,
            **source,
        }
        if "data" in source:
            options["data"] = json.loads(source["data"])
        layer = ZonesLayer(title, options)
        layer.add_to(fmap)
        zone_layers.append(layer)

    if spec.parcels:
        ParcelsLayer(spec.parcels).add_to(fmap)
    # small maps (no plugins) get the legend under the map, where it cannot hide a zone
    Legend({"indicator": spec.indicator, "labels": spec.labels, "outside": not spec.plugins}).add_to(fmap)
    if spec.plugins:
        folium.LayerControl(collapsed=True).add_to(fmap)
        plugins.Fullscreen(
            title=spec.search_texts["fullscreen"],
            title_cancel=spec.search_texts["exit_fullscreen"],
            force_separate_button=True,
        ).add_to(fmap)
        if zone_layers:
            ZoneSearch(
                zone_layers, {k: spec.search_texts[k] for k in ("placeholder", "not_found", "cancel")}
            ).add_to(fmap)
        # texts come from khgeo.localize; the view is set by khgeo-map.js (the user and the nearest zones)
        plugins.LocateControl(
            icon="khgeo-icon-locate",
            iconLoading="khgeo-icon-locate khgeo-spin",
            setView=False,
            showPopup=False,
        ).add_to(fmap)
        # Measuring distances and areas with folium's Draw plugin (Leaflet.draw shows length and area while
        # drawing). folium's MeasureControl (leaflet-measure) compiles templates with eval, which the
        # Content-Security-Policy forbids; the shapes drawn here are not saved anywhere.
        plugins.Draw(
            export=False,
            position="bottomleft",
            show_geometry_on_click=False,
            draw_options={
                "polyline": {"metric": True, "feet": False, "showLength": True},
                "polygon": {"showArea": True, "metric": ["ha", "m"], "allowIntersection": False},
                "rectangle": {"showArea": True, "metric": ["ha", "m"]},
                "circle": False,
                "marker": False,
                "circlemarker": False,
            },
            edit_options={"edit": False},
        ).add_to(fmap)
        minimap_tiles = spec.tiles_url or None
        if minimap_tiles:
            plugins.MiniMap(
                tile_layer=folium.TileLayer(spec.tiles_url, attr=spec.tiles_attribution),
                toggle_display=True,
                minimized=True,  # a phone's screen is for the zones; one tap opens it
                position="bottomright",
                zoom_level_offset=-5,
            ).add_to(fmap)
    fmap.fit_bounds(spec.bounds or PROVINCE_BOUNDS)
    return render_parts(fmap, static_url, spec.l10n)


class OutlineEditor(JSCSSMixin, MacroElement):
    """Leaflet.draw (folium's Draw plugin assets) on a feature group holding the zone's outline parts."""

    default_js = plugins.Draw.default_js
    default_css = plugins.Draw.default_css
    _template = Template("""
{% macro script(this, kwargs) %}
khgeo.outlineEditor({{ this._parent.get_name() }}, {{ this.options_json }});
{% endmacro %}
""")

    def __init__(self, geometry_json: str | None, field_id: str):
        super().__init__()
        self._name = "OutlineEditor"
        geometry = json.loads(geometry_json) if geometry_json else None
        self.options_json = script_json({"geometry": geometry, "field": field_id})


def build_outline_editor(
    *,
    geometry_json: str | None,
    districts_json: str,
    bounds,
    tiles_url: str,
    tiles_attribution: str,
    layer_names: dict[str, str],
    static_url: Callable[[str], str],
    l10n: dict[str, str] | None = None,
) -> MapParts:
    fmap = folium.Map(
        location=None, tiles=None, zoom_start=14, max_zoom=20, control_scale=True, height="100%"
    )
    if tiles_url:
        folium.TileLayer(tiles_url, attr=tiles_attribution, name=layer_names["basemap"], max_zoom=20).add_to(
            fmap
        )
    BlankBasemap(layer_names["no_basemap"], show=not tiles_url).add_to(fmap)
    DistrictsLayer(layer_names["districts"], districts_json).add_to(fmap)
    OutlineEditor(geometry_json, "geojson").add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds(bounds or PROVINCE_BOUNDS)
    return render_parts(fmap, static_url, l10n)


def render_parts(fmap: folium.Map, static_url: Callable[[str], str], l10n: dict | None = None) -> MapParts:
    localize(fmap, static_url)
    root = cast(Figure, fmap.get_root())  # a map's root is always the figure holding the page
    root.render()
    script = root.script.render()
    if l10n:  # before the map is made, so that its controls are built with the user's language
        script = f"khgeo.localize({script_json(l10n)});\n{script}"
    return MapParts(header=root.header.render(), html=root.html.render(), script=script)
