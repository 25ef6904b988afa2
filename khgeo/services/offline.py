"""Working without a signal: which data of the app a user's phone may keep, and how to tell that it changed.

The service worker (static/js/offline/sw.js) caches a response only when the server marked it as part of the
user's area (``in_area``), so the policy lives here and not in JavaScript: a field user's area is the zones of
their units (khgeo.services.units.area), an admin's every zone still monitored, anyone else's none (they read the
public map only, and the map page and the app's own files are cached for everybody who logs in). Nothing here
knows about Flask.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from khgeo.models import Parcel, ParcelsVersion, Photo, User, Zone, ZoneUpdate
from khgeo.services.units.area import zones_in_area

# the app's own files the worker keeps for every user (the "shell"); everything under static/ but these
SHELL_SUFFIXES = (".css", ".js", ".svg", ".png", ".gif", ".json", ".webmanifest")
SHELL_SKIP = ("vendor/fetch.sh", "vendor/README.md")
# thumbnails of the newest site photos of each zone, so a zone's history shows them offline
PHOTOS_PER_ZONE = 6
MAX_PARCELS = 2000  # parcel pages kept on a phone (about 15 KB each compressed)


@dataclass(frozen=True)
class AreaZone:
    code: str
    name: str
    kind: str
    version: int


def area_zones(session: Session, user: User | None) -> list[AreaZone]:
    """The zones the user works on and may therefore keep on the phone, by name."""
    query = _area_query(user)
    if query is None:
        return []
    rows = session.execute(query.order_by(Zone.name, Zone.code)).all()
    return [AreaZone(code, name, kind, version) for code, name, kind, version in rows]


def _area_query(user: User | None):
    if user is None or not getattr(user, "active", False):
        return None
    base = select(Zone.code, Zone.name, Zone.kind, Zone.version).where(Zone.retired_at.is_(None))
    if user.role == "admin":
        return base
    if user.role == "field":  # the one area check (units of either period, or the plan's districts)
        return base.where(zones_in_area(user))
    return None


def in_area(session: Session, user: User | None, code: str) -> bool:
    """Whether the zone of this code is in the user's area (its pages may be kept on the phone)."""
    query = _area_query(user)
    if query is None:
        return False
    return session.execute(query.where(Zone.code == code).limit(1)).first() is not None


def photo_in_area(session: Session, user: User | None, photo_id: int) -> bool:
    query = _area_query(user)
    if query is None:
        return False
    zone_code = session.scalar(
        select(Zone.code)
        .join(ZoneUpdate, ZoneUpdate.zone_id == Zone.id)
        .join(Photo, Photo.update_id == ZoneUpdate.id)
        .where(Photo.id == photo_id)
    )
    return zone_code is not None and in_area(session, user, zone_code)


def area_photo_ids(session: Session, zones: Sequence[AreaZone]) -> list[int]:
    """The newest photos of each zone of the area (their thumbnails are kept with the zone page), in one query."""
    if not zones:
        return []
    ranked = (
        select(
            Photo.id.label("photo_id"),
            func.row_number().over(partition_by=ZoneUpdate.zone_id, order_by=Photo.id.desc()).label("newest"),
        )
        .join(ZoneUpdate, Photo.update_id == ZoneUpdate.id)
        .join(Zone, Zone.id == ZoneUpdate.zone_id)
        .where(Zone.code.in_([zone.code for zone in zones]))
        .subquery()
    )
    query = select(ranked.c.photo_id).where(ranked.c.newest <= PHOTOS_PER_ZONE).order_by(ranked.c.photo_id)
    return list(session.scalars(query))


def parcel_in_area(session: Session, user: User | None, uid: str) -> bool:
    """Whether the parcel's page may be kept on the phone: its zone is in the user's area."""
    code = session.scalar(select(Zone.code).join(Parcel, Parcel.zone_id == Zone.id).where(Parcel.uid == uid))
    return code is not None and in_area(session, user, code)


def area_parcel_uids(session: Session, zones: Sequence[AreaZone]) -> list[str]:
    """The parcels of the area's zones whose pages the phone keeps (at most MAX_PARCELS: a field officer's area
    holds a few hundred; an admin's, every zone's, would not fit a phone), by zone, sheet and number."""
    if not zones:
        return []
    query = (
        select(Parcel.uid)
        .join(Zone, Parcel.zone_id == Zone.id)
        .where(Zone.code.in_([zone.code for zone in zones]))
        .order_by(Zone.code, Parcel.sheet, Parcel.number)
        .limit(MAX_PARCELS)
    )
    return list(session.scalars(query))


def parcels_token(session: Session) -> str:
    """The parcels' version token (drawn again by every transaction that writes parcels, migration 0021)."""
    return str(session.scalar(select(ParcelsVersion.token)) or "")


def data_version(zones: Sequence[AreaZone], parcels: str = "") -> str:
    """A short fingerprint of the area's data: it changes whenever a zone of the area is saved, added or leaves,
    or a parcel is written (``parcels``: the parcels' token)."""
    digest = hashlib.sha256(parcels.encode())
    for zone in sorted(zones, key=lambda z: z.code):
        digest.update(f"{zone.code}:{zone.version};".encode())
    return digest.hexdigest()[:16]


def shell_files(static_folder: str | Path) -> list[str]:
    """The app's own files (paths under static/, sorted) that the worker keeps for offline use."""
    root = Path(static_folder)
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and path.name.endswith(SHELL_SUFFIXES) and relative not in SHELL_SKIP:
            files.append(relative)
    return files


def shell_version(static_folder: str | Path, files: Sequence[str]) -> str:
    """Changes when any shell file changes, so the browser installs the new worker and drops the old files."""
    root = Path(static_folder)
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.encode())
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()[:16]


# -- basemap tiles (only when KHGEO_OFFLINE_TILES allows some) ---------------------------------------------------
TILE_ZOOMS = range(10, 17)
TILE_PADDING_DEG = 0.01  # about 1 km around the area, so its edges are not cut


def area_bounds(session: Session, user: User | None) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the outlines of the user's area; None when it has none."""
    query = _area_query(user)
    if query is None:
        return None
    codes = select(query.subquery().c.code)
    extent = select(
        func.ST_XMin(func.ST_Extent(Zone.geom)),
        func.ST_YMin(func.ST_Extent(Zone.geom)),
        func.ST_XMax(func.ST_Extent(Zone.geom)),
        func.ST_YMax(func.ST_Extent(Zone.geom)),
    ).where(Zone.code.in_(codes))
    west, south, east, north = session.execute(extent).one()
    return None if west is None else (west, south, east, north)


def _tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ (Web Mercator, "slippy map") tile holding this point."""
    scale = 2**zoom
    lat_rad = math.radians(max(min(lat, 85.0511), -85.0511))
    x = int((lon + 180.0) / 360.0 * scale)
    y = int((1.0 - math.asinh(math.tan(lat_rad)) / math.pi) / 2.0 * scale)
    return min(max(x, 0), scale - 1), min(max(y, 0), scale - 1)


def tile_urls(bounds: tuple[float, float, float, float] | None, template: str, limit: int) -> list[str]:
    """The basemap tiles covering ``bounds``, whole zoom levels from 10 up while the total stays within
    ``limit`` (a size limit: tiles are some 20 KB each)."""
    if bounds is None or not template or limit <= 0:
        return []
    west, south, east, north = bounds
    west, south = west - TILE_PADDING_DEG, south - TILE_PADDING_DEG
    east, north = east + TILE_PADDING_DEG, north + TILE_PADDING_DEG
    urls: list[str] = []
    for zoom in TILE_ZOOMS:
        x_min, y_min = _tile(west, north, zoom)
        x_max, y_max = _tile(east, south, zoom)
        count = (x_max - x_min + 1) * (y_max - y_min + 1)
        if len(urls) + count > limit:
            break
        for x in range(x_min, x_max + 1):
            for y in range(y_min, y_max + 1):
                urls.append(
                    template.replace("{s}", "a")
                    .replace("{r}", "")
                    .replace("{z}", str(zoom))
                    .replace("{x}", str(x))
                    .replace("{y}", str(y))
                )
    return urls
