"""Zone outlines: reading GeoJSON, validating an outline, and saving it with history (admin only).

Checks: the geometry must be valid and polygonal and lie inside the province; an area far from the stated
(legal) area is a warning, not an error, because stated areas and surveyed outlines legitimately differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from khgeo.errors import KhgeoError
from khgeo.geo.crs import METRIC_SRID
from khgeo.models import District, User, Zone
from khgeo.services.audit import record
from khgeo.services.updates import VersionConflict, snapshot, write_version

MAX_GEOJSON_BYTES = 5 * 1024 * 1024
# the province edge may be crossed by this much (degrees, ~100 m) before an outline counts as outside
PROVINCE_TOLERANCE_DEG = 0.001
PLAUSIBLE_AREA_RATIO = (0.5, 2.0)


@dataclass(frozen=True)
class VertexLimits:
    """How big an outline may be. A 1,000,000-vertex outline made every map page 22 MB and 9.6 s to serve; real
    surveyed zone outlines have hundreds to a few thousand vertices. Defaults of the KHGEO_MAX_VERTICES_* settings.
    """

    per_outline: int = 20_000
    per_file: int = 200_000

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> VertexLimits:
        return cls(
            per_outline=settings.get("KHGEO_MAX_VERTICES_PER_OUTLINE", cls.per_outline),
            per_file=settings.get("KHGEO_MAX_VERTICES_PER_FILE", cls.per_file),
        )


DEFAULT_VERTEX_LIMITS = VertexLimits()


def vertex_count(geometry: BaseGeometry) -> int:
    return int(shapely.get_num_coordinates(geometry))


def too_many_vertices(geometry: BaseGeometry, limits: VertexLimits):
    """The message refusing an outline with more vertices than ``limits.per_outline``, or None."""
    count = vertex_count(geometry)
    if count <= limits.per_outline:
        return None
    return _l(
        "The outline has %(n)d vertices, more than the %(max)d allowed: simplify it in your GIS (e.g. to 1 m) "
        "and try again.",
        n=count,
        max=limits.per_outline,
    )


class InvalidGeometry(KhgeoError):
    status = 422

    def __init__(self, message):
        super().__init__(message, field="geometry")


@dataclass
class Outline:
    geometry: MultiPolygon
    area_ha: float
    warnings: list[Any] = field(default_factory=list)


def outline_geojson(zone: Zone) -> str:
    """The zone's stored outline as a GeoJSON geometry, for the outline editor ("" when it has none)."""
    return json.dumps(mapping(to_shape(zone.geom))) if zone.geom is not None else ""


def parse_geojson(text: str | bytes) -> BaseGeometry:
    """A geometry from a GeoJSON geometry, Feature, or FeatureCollection of polygonal features."""
    if len(text) > MAX_GEOJSON_BYTES:
        raise InvalidGeometry(_l("The GeoJSON file is too large (5 MB at most)."))
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidGeometry(_l("This is not a GeoJSON file.")) from None
    if not isinstance(data, dict):
        raise InvalidGeometry(_l("This is not a GeoJSON file."))
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if len(features) != 1:
            raise InvalidGeometry(
                _l("The file must hold exactly one feature (it holds %(n)d).", n=len(features))
            )
        data = features[0]
    if data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidGeometry(_l("The file holds no geometry."))
    try:
        return shape(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise InvalidGeometry(_l("The geometry cannot be read.")) from None


def province_outline() -> ScalarSelect:
    """The province as SQL: the union of its districts, with PROVINCE_TOLERANCE_DEG of slack for outlines drawn
    on its border. The one definition: the form, the API and both imports check outlines against it."""
    return select(func.ST_Buffer(func.ST_Union(District.geom), PROVINCE_TOLERANCE_DEG)).scalar_subquery()


def province_wkb(session: Session) -> bytes | None:
    """province_outline() as WKB, for the imports' batch checks (a parameter of each batch); None: no districts."""
    return session.scalar(select(func.ST_AsBinary(province_outline())))


def check_outline(
    session: Session,
    geometry: BaseGeometry,
    stated_area_ha: float | None,
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> Outline:
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    if not isinstance(geometry, MultiPolygon) or geometry.is_empty:
        raise InvalidGeometry(_l("An outline must be a polygon, not a %(kind)s.", kind=geometry.geom_type))
    if problem := too_many_vertices(geometry, limits):  # before validity checks that grow with the vertices
        raise InvalidGeometry(problem)
    if geometry.has_z:
        geometry = MultiPolygon(
            [
                Polygon([c[:2] for c in p.exterior.coords], [[c[:2] for c in r.coords] for r in p.interiors])
                for p in geometry.geoms
            ]
        )
    if not geometry.is_valid:
        raise InvalidGeometry(_l("The outline crosses itself or is otherwise invalid: redraw it."))
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidGeometry(_l("Coordinates must be longitude/latitude (WGS 84)."))
    drawn = func.ST_GeomFromText(geometry.wkt, 4326)
    # the area as the database stores it for a zone (Zone.computed_area_ha): in the one metric CRS
    inside, area = session.execute(
        select(
            func.ST_CoveredBy(drawn, province_outline()),
            func.ST_Area(func.ST_Transform(drawn, METRIC_SRID)) / 10_000.0,
        )
    ).one()
    if not inside:
        raise InvalidGeometry(_l("The outline is not inside the province."))
    outline = Outline(geometry=geometry, area_ha=area)
    if stated_area_ha:
        ratio = area / float(stated_area_ha)
        low, high = PLAUSIBLE_AREA_RATIO
        if not low <= ratio <= high:
            outline.warnings.append(
                _l(
                    "The outline measures %(area).1f ha but the stated area is %(stated).1f ha: check that it is the right one.",
                    area=area,
                    stated=float(stated_area_ha),
                )
            )
    return outline


def save_outline(
    session: Session,
    zone: Zone,
    user: User,
    outline: Outline,
    *,
    expected_version: int,
    source: str,
    note: str = "",
    channel: str = "web",
    context: dict | None = None,
) -> None:
    """Replace the zone's outline if it is still at ``expected_version``; history and audit record it."""
    if source not in ("surveyed", "imported"):
        raise InvalidGeometry(_l("Say where the outline comes from (surveyed or imported)."))
    if zone.version != expected_version:
        raise VersionConflict(zone)
    old_area = None if zone.computed_area_ha is None else round(zone.computed_area_ha, 2)
    old_source = zone.geometry_source
    zone.geom = from_shape(outline.geometry, srid=4326)
    zone.geometry_source = source
    zone.geometry_note = note
    write_version(session, zone)
    session.refresh(zone, ["computed_area_ha"])
    changes = {
        "geometry": [old_area, None if zone.computed_area_ha is None else round(zone.computed_area_ha, 2)],
        "geometry_source": [old_source, source],
    }
    session.add(
        snapshot(
            zone,
            zone_version=zone.version,
            kind="geometry",
            user=user,
            as_of=zone.as_of,
            note=note,
            source=channel,
            geom=zone.geom,
            geometry_source=source,
            changes=changes,
        )
    )
    record(
        session,
        user,
        "zone.geometry",
        "zone",
        zone.code,
        changes,
        {"channel": channel, "version": zone.version, "note": note, **(context or {})},
    )
    session.flush()
