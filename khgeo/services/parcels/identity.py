"""The parcel identifier of Circular 19/2026: the 12-character geohash of a representative point inside the parcel,
found with the polylabel algorithm in VN-2000 and converted to WGS 84 (gpmb-process-notes.md §3).

Geohash is written here (twenty lines) rather than taken from a package: the encoding is a fixed public algorithm
(base-32 interleaving of longitude and latitude bits), and the maintained PyPI packages bring C extensions or
unrelated features for it.
"""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel, transform

from khgeo.geo.crs import BAC_GIANG_VN2000_EPSG, from_wgs84, to_wgs84

GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
UID_LENGTH = 12
# polylabel's precision in VN-2000 metres: a few centimetres, finer than a 12-character geohash cell (~3.7 × 1.9 cm)
POLYLABEL_TOLERANCE_M = 0.01


def geohash(lon: float, lat: float, length: int = UID_LENGTH) -> str:
    """The geohash of a WGS 84 point, ``length`` characters long."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError("coordinates out of range")
    lon_range, lat_range = [-180.0, 180.0], [-90.0, 90.0]
    chars: list[str] = []
    bits, value, even = 0, 0, True
    while len(chars) < length:
        span, coordinate = (lon_range, lon) if even else (lat_range, lat)
        middle = (span[0] + span[1]) / 2
        value <<= 1
        if coordinate >= middle:
            value |= 1
            span[0] = middle
        else:
            span[1] = middle
        even = not even
        bits += 1
        if bits == 5:
            chars.append(GEOHASH_ALPHABET[value])
            bits, value = 0, 0
    return "".join(chars)


def representative_point(outline: BaseGeometry, srid: int = BAC_GIANG_VN2000_EPSG) -> tuple[float, float]:
    """A point inside ``outline`` (WGS 84 lon/lat in and out): polylabel of its largest part, computed in VN-2000."""
    parts = getattr(outline, "geoms", [outline])
    largest = max(parts, key=lambda part: transform(from_wgs84(srid).transform, part).area)
    projected = transform(from_wgs84(srid).transform, largest)
    point = polylabel(projected, tolerance=POLYLABEL_TOLERANCE_M)
    lon, lat = to_wgs84(srid).transform(point.x, point.y)
    return lon, lat


def parcel_uid(outline: BaseGeometry, srid: int = BAC_GIANG_VN2000_EPSG) -> str:
    """The parcel identifier of ``outline`` (WGS 84)."""
    return geohash(*representative_point(outline, srid))
