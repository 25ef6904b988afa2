"""The report's static map figure: districts, and every zone coloured by its wastewater status at year end.

Drawn offline with matplotlib's Agg canvas (no tiles, no network, no pyplot state: each call builds its own
Figure, which is released when the call returns). Geometries are projected to UTM zone 48N (EPSG:32648) so that
distances are equal in both directions. Zones are tiny at province scale, so each also gets a marker at its
representative point, numbered with its row (STT) in the report's zone table.
"""

from __future__ import annotations

import io
import textwrap

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from shapely.geometry.base import BaseGeometry

from khgeo.codes import HATCH, HATCH_INK, WWTP_STATUS, ZONE_KIND
from khgeo.geo.crs import METRIC_SRID
from khgeo.services.reports.data import ReportData, ZoneLine

METRIC_CRS = f"EPSG:{METRIC_SRID}"
FONT = "DejaVu Sans"  # ships with matplotlib and covers Vietnamese
WIDTH_IN = (
    8.0  # the figure's size in inches is fixed (it is printed 165 mm wide); width_px sets the resolution
)
# the wastewater classes of the codes table; "unknown" (NULL) is drawn hatched, as on the web map
WWTP_COLOURS = {code.key or "unknown": code.colour for code in WWTP_STATUS}
WWTP_LEGEND = {code.key or "unknown": code.label.vi for code in WWTP_STATUS}
WWTP_HATCHED = {code.key or "unknown" for code in WWTP_STATUS if code.pattern == HATCH}
ILLUSTRATIVE_NOTE = "Ranh giới khu, cụm là minh họa nếu chưa có số liệu đo đạc"
DISTRICT_FACE, DISTRICT_EDGE, DISTRICT_TEXT = "#f4f4f1", "#8a8a8a", "#5f5f5f"
ZONE_EDGE = "#262626"
EDGE_WIDTH = {"KCN": 1.3, "CCN": 0.5}
MARKER = {"KCN": "s", "CCN": "o"}
LEGEND_IN, NOTE_LINE_IN = 0.72, 0.15  # room under the map: the legend, then the notes line by line
NOTE_CHARS_PER_LINE = 135  # 7.5 pt DejaVu Sans across 8 inches
MAX_LISTED_MISSING = 12


def wwtp_class(zone: ZoneLine) -> str:
    status = zone.end.wwtp_status
    return status if status in WWTP_COLOURS else "unknown"


def _project(geometries: list[BaseGeometry]) -> list[BaseGeometry]:
    if not geometries:
        return []
    return list(gpd.GeoSeries(geometries, crs="EPSG:4326").to_crs(METRIC_CRS))


def _path(geometry: BaseGeometry) -> Path:
    """A (multi)polygon as one compound path: exteriors and holes (even-odd fill leaves the holes empty)."""
    polygons = getattr(geometry, "geoms", [geometry])
    rings = [ring for polygon in polygons for ring in (polygon.exterior, *polygon.interiors)]
    return Path.make_compound_path(*(Path(np.asarray(ring.coords)[:, :2], closed=True) for ring in rings))


def _extent(shapes: list[BaseGeometry]) -> tuple[float, float, float, float]:
    bounds = np.array([shape.bounds for shape in shapes if not shape.is_empty])
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    pad = 0.03 * max(maxx - minx, maxy - miny, 1000.0)
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def _draw_districts(ax, districts: list[tuple[str, BaseGeometry]]) -> None:
    patches = [PathPatch(_path(shape)) for _name, shape in districts if not shape.is_empty]
    ax.add_collection(
        PatchCollection(patches, facecolor=DISTRICT_FACE, edgecolor=DISTRICT_EDGE, linewidth=0.7, zorder=1)
    )
    for name, shape in districts:
        if shape.is_empty:
            continue
        point = shape.representative_point()
        ax.text(
            point.x,
            point.y,
            name,
            fontsize=8.5,
            color=DISTRICT_TEXT,
            ha="center",
            va="center",
            style="italic",
            zorder=2,
        )


def _draw_zones(ax, zones: list[tuple[int, ZoneLine, BaseGeometry]]) -> None:
    for kind in ("CCN", "KCN"):  # KCN drawn last, on top
        chosen = [
            (number, zone, shape) for number, zone, shape in zones if (zone.kind == "KCN") == (kind == "KCN")
        ]
        if not chosen:
            continue
        patches = [PathPatch(_path(shape)) for _number, _zone, shape in chosen]
        colours = [WWTP_COLOURS[wwtp_class(zone)] for _number, zone, _shape in chosen]
        ax.add_collection(
            PatchCollection(
                patches,
                facecolor=colours,
                edgecolor=ZONE_EDGE,
                linewidth=EDGE_WIDTH[kind],
                alpha=0.9,
                zorder=3,
            )
        )
        hatched = [
            patch
            for patch, (_n, zone, _s) in zip(patches, chosen, strict=True)
            if wwtp_class(zone) in WWTP_HATCHED
        ]
        if hatched:
            ax.add_collection(
                PatchCollection(
                    [PathPatch(patch.get_path()) for patch in hatched],
                    facecolor="none",
                    edgecolor=HATCH_INK,
                    hatch="////",
                    linewidth=0,
                    zorder=3,
                )
            )
        points = [shape.representative_point() for _number, _zone, shape in chosen]
        ax.scatter(
            [p.x for p in points],
            [p.y for p in points],
            s=22 if kind == "KCN" else 14,
            c=colours,
            marker=MARKER[kind],
            edgecolors=ZONE_EDGE,
            linewidths=0.6,
            zorder=4,
        )
        for (number, _zone, _shape), point in zip(chosen, points, strict=True):
            ax.annotate(
                str(number),
                (point.x, point.y),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=6.5,
                color="#1f1f1f",
                zorder=5,
            )


def _draw_scale_bar(ax, extent: tuple[float, float, float, float]) -> None:
    minx, miny, maxx, maxy = extent
    length = 10_000 if maxx - minx > 40_000 else 1_000
    x0, y0 = minx + 0.03 * (maxx - minx), miny + 0.04 * (maxy - miny)
    tick = 0.008 * (maxy - miny)
    ax.plot([x0, x0 + length], [y0, y0], color="#222222", linewidth=1.5, zorder=6)
    for x in (x0, x0 + length):
        ax.plot([x, x], [y0 - tick, y0 + tick], color="#222222", linewidth=1.0, zorder=6)
    ax.text(
        x0 + length / 2, y0 + 2 * tick, f"{length // 1000} km", ha="center", va="bottom", fontsize=8, zorder=6
    )
    north_x, north_y = minx + 0.04 * (maxx - minx), maxy - 0.06 * (maxy - miny)
    ax.annotate(
        "B",
        xy=(north_x, north_y),
        xytext=(north_x, north_y - 0.09 * (maxy - miny)),
        ha="center",
        va="top",
        fontsize=9,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "#222222"},
        zorder=6,
    )


def _legend(figure: Figure, year: int, top: float) -> None:
    """Under the map (never over a zone): the wastewater classes, then the two marker shapes in a column."""
    handles: list[Artist] = [
        Patch(
            facecolor=colour,
            edgecolor=ZONE_EDGE,
            linewidth=0.5,
            label=WWTP_LEGEND[status],
            hatch="////" if status in WWTP_HATCHED else None,
        )
        for status, colour in WWTP_COLOURS.items()
    ]
    handles.append(Patch(facecolor="none", edgecolor="none", label=" "))  # so the shapes fill the last column
    handles += [
        Line2D(
            [],
            [],
            marker=MARKER[code.key],
            linestyle="none",
            markerfacecolor="white",
            markeredgecolor=ZONE_EDGE,
            markeredgewidth=EDGE_WIDTH[code.key],
            label=f"{code.label.vi.capitalize()} ({code.key})",
        )
        for code in ZONE_KIND
        if code.key is not None  # always: a zone's kind is never unknown
    ]
    legend = figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, top),
        ncol=4,
        fontsize=8,
        title=f"Xử lý nước thải (cuối năm {year})",
        title_fontsize=8.5,
        frameon=False,
        columnspacing=1.4,
        handlelength=1.6,
    )
    legend.set_zorder(7)


def _notes(data: ReportData, missing: list[tuple[int, ZoneLine]]) -> list[str]:
    """The notes under the legend, wrapped to the figure's width."""
    notes = ["Số bên cạnh mỗi khu, cụm là số thứ tự (STT) trong bảng tại mục II."]
    if any(zone.geometry_source == "illustrative" for zone in data.zones):
        notes.append(ILLUSTRATIVE_NOTE + ".")
    if missing:
        names = [f"{number}. {zone.kind} {zone.name}" for number, zone in missing[:MAX_LISTED_MISSING]]
        if len(missing) > MAX_LISTED_MISSING:
            names.append(f"và {len(missing) - MAX_LISTED_MISSING} khu, cụm khác")
        notes.append(f"Chưa có ranh giới, không thể hiện trên bản đồ ({len(missing)}): {', '.join(names)}.")
    return [line for note in notes for line in textwrap.wrap(note, NOTE_CHARS_PER_LINE)]


def render_map_png(data: ReportData, *, width_px: int = 1600) -> bytes:
    """The map figure as PNG bytes, ``width_px`` pixels wide (the layout is the same at any width)."""
    numbered = list(enumerate(data.zones, start=1))
    placed = [
        (number, zone)
        for number, zone in numbered
        if zone.geometry is not None and not zone.geometry.is_empty
    ]
    missing = [(number, zone) for number, zone in numbered if zone.geometry is None or zone.geometry.is_empty]
    district_shapes = _project([shape for _name, shape in data.districts])
    zone_shapes = _project([zone.geometry for _number, zone in placed])
    districts = [(name, shape) for (name, _), shape in zip(data.districts, district_shapes, strict=True)]
    zones = [(number, zone, shape) for (number, zone), shape in zip(placed, zone_shapes, strict=True)]
    extent = (
        _extent(district_shapes or zone_shapes) if (district_shapes or zone_shapes) else (0, 0, 1000, 1000)
    )
    minx, miny, maxx, maxy = extent
    map_height_in = WIDTH_IN * (maxy - miny) / (maxx - minx)
    notes = _notes(data, missing)
    band_in = LEGEND_IN + NOTE_LINE_IN * len(notes) + 0.1
    height_in = map_height_in + band_in

    with matplotlib.rc_context({"font.family": FONT, "font.sans-serif": [FONT]}):
        figure = Figure(figsize=(WIDTH_IN, height_in), facecolor="white")
        FigureCanvasAgg(figure)
        ax = figure.add_axes((0, band_in / height_in, 1, map_height_in / height_in))
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        _draw_districts(ax, districts)
        _draw_zones(ax, zones)
        _draw_scale_bar(ax, extent)
        _legend(figure, data.year, top=band_in / height_in)
        notes_top = (band_in - LEGEND_IN) / height_in
        figure.text(0.02, notes_top, "\n".join(notes), fontsize=7.5, color="#333333", va="top", ha="left")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=width_px / WIDTH_IN, facecolor="white")
        figure.clear()
    return buffer.getvalue()
