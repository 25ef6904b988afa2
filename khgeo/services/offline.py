"""Working without a signal: which data of the app a user's phone may keep, and how to tell that it changed.

The service worker (static/js/offline/sw.js) caches a response only when the server marked it as part of the
user's area (``in_area``), so the policy lives here and not in JavaScript: a field user's area is the zones of
their districts, an admin's every zone still monitored, anyone else's none (they read the public map only, and
the map page and the app's own files are cached for everybody who logs in). Nothing here knows about Flask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.models import Photo, User, Zone, ZoneUpdate, user_districts

# the app's own files the worker keeps for every user (the "shell"); everything under static/ but these
SHELL_SUFFIXES = (".css", ".js", ".svg", ".png", ".gif", ".json", ".webmanifest")
SHELL_SKIP = ("vendor/fetch.sh", "vendor/README.md")
# thumbnails of the newest site photos of each zone, so a zone's history shows them offline
PHOTOS_PER_ZONE = 6


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
    if user.role == "field":
        mine = select(user_districts.c.district_id).where(user_districts.c.user_id == user.id)
        return base.where(Zone.district_id.in_(mine))
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
    """The newest photos of each zone of the area (their thumbnails are cached with the zone page)."""
    if not zones:
        return []
    ranked = (
        select(
            Photo.id.label("photo_id"),
            ZoneUpdate.zone_id,
        )
        .join(ZoneUpdate, Photo.update_id == ZoneUpdate.id)
        .join(Zone, Zone.id == ZoneUpdate.zone_id)
        .where(Zone.code.in_([zone.code for zone in zones]))
        .order_by(ZoneUpdate.zone_id, Photo.id.desc())
    )
    kept: dict[int, list[int]] = {}
    for photo_id, zone_id in session.execute(ranked):
        photos = kept.setdefault(zone_id, [])
        if len(photos) < PHOTOS_PER_ZONE:
            photos.append(photo_id)
    return sorted(photo_id for photos in kept.values() for photo_id in photos)


def data_version(zones: Sequence[AreaZone]) -> str:
    """A short fingerprint of the area's data: it changes whenever a zone of the area is saved, added or leaves."""
    digest = hashlib.sha256()
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
