"""Parcels as Mapbox Vector Tiles, built by PostGIS in one statement (ST_TileEnvelope → ST_AsMVTGeom → ST_AsMVT).

A tile ``z/x/y`` holds exactly the parcels whose outline intersects the tile's square (not the margin around it:
a parcel near the edge but outside is in the next tile only); each outline is clipped to the tile plus a 64-unit
margin, so that strokes join across tile edges. Layer ``parcels``,
properties: ``uid``, ``zone`` (zone code), ``stage`` (codes.PARCEL_STAGE key), ``overdue`` (a legal timer of the
stage has run out), ``area_m2`` (of the outline), and, for the map, ``sheet`` and ``number`` (cadastral map sheet
and parcel number: public identifiers, not personal data), ``days`` (days in the current stage) and ``version``
(the parcel's version, which a batch stage update selected on the map sends back: POST /api/parcels/stage).
Never a land user's name, kind, households or people: tiles are read by everyone who may read the map of parcels,
whatever their area (khgeo/services/authz.py: sees_land_users decides who sees those, on other channels).

Zooms 12–20 only (MIN_ZOOM/MAX_ZOOM): below 12 a tile covers tens of thousands of parcels, drawn a pixel each.

Validity: a tile is a function of the parcels (parcels_version.token, drawn again by a trigger on every write to
parcels and parcel_steps), of the zones' codes (zone_features_version.token), of the timers (a digest of the
small parcel_timers table) and of today's date in the province (``overdue`` and ``days``). ``state()`` reads all
of them in one short query: the tile's ETag is a hash of that state, the tile's address and its filters.

Kept tiles: a tile is a function of its ETag (above), so each process keeps the tiles it built under their ETags
(TileCache, least recently used dropped first, CACHE_MB a process): a tile asked again, by anyone, costs the one
short query of ``state`` until a parcel, zone or timer is written or the day changes. A tile is kept only when the
state read after building it is still the state read before (nothing committed in between), as the OGC API's
pages are (khgeo/services/interop/page_cache.py).

No Flask here: khgeo/web/tiles.py is the HTTP adapter.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from khgeo.codes import PARCEL_STAGE
from khgeo.errors import BadRequest, NotFound
from khgeo.models import Parcel
from khgeo.services.parcels import timers

MIN_ZOOM = 12
MAX_ZOOM = 20
LAYER = "parcels"
EXTENT = 4096
BUFFER = 64
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# kept tiles per process: ~100 of the heaviest z14 tiles (300 KB over 4,700 parcels), thousands at z16–z18
CACHE_MB = 32
PROPERTIES = ("uid", "zone", "stage", "overdue", "area_m2", "sheet", "number", "days", "version")
_COMMUNE = re.compile(r"^[0-9]{5}$")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})

# Overdue is the one rule of services/parcels/timers.py (overdue_clause: a deadline timer of the parcel's stage, whose
# condition holds for it, ended before today), rendered once as SQL for the parcel row ``p`` of the tile's
# statement; today is the statement's :today.
_SENTINEL_DAY = dt.date(1901, 2, 3)


@functools.cache
def overdue_sql() -> str:
    parcel = aliased(Parcel, name="p")
    query = select(parcel.id).where(timers.overdue_clause(_SENTINEL_DAY, parcel))
    rendered = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    clause = rendered.split("\nWHERE ", 1)[1]
    if clause.count(f"'{_SENTINEL_DAY.isoformat()}'") != 1:
        raise RuntimeError("timers.overdue_clause no longer compares one date with today")
    return clause.replace(f"'{_SENTINEL_DAY.isoformat()}'", "CAST(:today AS date)")


_STATE_SQL = """
SELECT (SELECT token::text FROM parcels_version WHERE id = 1) AS parcels,
       (SELECT token::text FROM zone_features_version WHERE id = 1) AS zones,
       (SELECT md5(coalesce(string_agg(concat_ws('|', id, stage, kind, applies_when, days, months, active), ','
                                       ORDER BY id), ''))
          FROM parcel_timers) AS timers"""

# A parcel is in the tile when its outline meets the tile's square: most lie wholly inside it, which the bounding
# boxes alone prove (``@``, no geometry read); only those across the tile's edge are tested exactly. The outline is
# read in Web Mercator as PostgreSQL keeps it (parcels.geom_3857, migration 0025): no transform per parcel.
_TILE_SQL = """
WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc),
features AS (
    SELECT p.uid, z.code AS zone, p.stage, {overdue} AS overdue, round(p.area_m2::numeric, 1)::float8 AS area_m2,
           p.sheet, p.number, CAST(:today AS date) - p.stage_date AS days, p.version,
           ST_AsMVTGeom(p.geom_3857, bounds.merc, {extent}, {buffer}, true) AS geom
    FROM bounds
    JOIN parcels AS p
      ON p.geom_3857 && bounds.merc AND (p.geom_3857 @ bounds.merc OR ST_Intersects(p.geom_3857, bounds.merc))
    LEFT JOIN zones AS z ON z.id = p.zone_id
    WHERE true{filters}
)
SELECT ST_AsMVT(features, '{layer}', {extent}, 'geom') FROM features"""


@dataclass(frozen=True)
class TileFilter:
    """What a client asked to see (query parameters), validated."""

    stages: tuple[str, ...] = ()
    overdue: bool | None = None
    commune: str | None = None
    zone: str | None = None

    def key(self) -> str:
        return f"{','.join(self.stages)}|{self.overdue}|{self.commune or ''}|{self.zone or ''}"


@dataclass(frozen=True)
class TileState:
    """What a tile's content depends on besides its address and filters (read by ``state``)."""

    parcels: str
    zones: str
    timers: str
    today: dt.date


def check_address(z: int, x: int, y: int) -> None:
    """404 outside the zooms served, 400 for a column or row that does not exist at that zoom."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise NotFound(_l("Parcel tiles exist at zooms %(low)d to %(high)d.", low=MIN_ZOOM, high=MAX_ZOOM))
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise BadRequest(
            _l("There is no tile %(z)d/%(x)d/%(y)d.", z=z, x=x, y=y), field="x" if x >= 2**z else "y"
        )


def parse_filter(args: Mapping[str, str]) -> TileFilter:
    """Query parameters ``stage`` (one or more stage codes, comma-separated or repeated), ``overdue`` (true/false),
    ``commune`` (5-digit unit code), ``zone`` (zone code). 400 naming the first bad one."""
    getlist = getattr(args, "getlist", None)
    raw_stages = getlist("stage") if getlist else ([args["stage"]] if "stage" in args else [])
    stages: list[str] = []
    for value in raw_stages:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part not in PARCEL_STAGE.keys:
                raise BadRequest(
                    _l(
                        "Unknown stage %(value)s: use one of %(keys)s.",
                        value=part,
                        keys=", ".join(PARCEL_STAGE.keys),
                    ),
                    field="stage",
                )
            if part not in stages:
                stages.append(part)
    overdue = None
    raw_overdue = (args.get("overdue") or "").strip().lower()
    if raw_overdue:
        if raw_overdue not in _TRUE | _FALSE:
            raise BadRequest(_l("overdue must be true or false."), field="overdue")
        overdue = raw_overdue in _TRUE
    commune = (args.get("commune") or "").strip() or None
    if commune is not None and not _COMMUNE.match(commune):
        raise BadRequest(_l("commune must be a 5-digit unit code."), field="commune")
    zone = (args.get("zone") or "").strip() or None
    if zone is not None and len(zone) > 100:
        raise BadRequest(_l("Unknown zone."), field="zone")
    return TileFilter(tuple(sorted(stages, key=PARCEL_STAGE.keys.index)), overdue, commune, zone)


def state(session: Session, today: dt.date, tile_filter: TileFilter) -> TileState:
    """The versions a tile depends on (one short query); 400 when the zone filter names no zone."""
    row = session.execute(text(_STATE_SQL)).one()
    if tile_filter.zone is not None:
        found = session.execute(
            text("SELECT 1 FROM zones WHERE code = :code"), {"code": tile_filter.zone}
        ).first()
        if found is None:
            raise BadRequest(_l("Unknown zone."), field="zone")
    return TileState(row.parcels or "", row.zones or "", row.timers or "", today)


def etag(tile_state: TileState, z: int, x: int, y: int, tile_filter: TileFilter) -> str:
    """The same for everyone: a tile carries no data that depends on who reads it."""
    parts = (
        tile_state.parcels,
        tile_state.zones,
        tile_state.timers,
        tile_state.today.isoformat(),
        f"{z}/{x}/{y}",
    )
    digest = hashlib.blake2b("\n".join([*parts, tile_filter.key()]).encode(), digest_size=12)
    return digest.hexdigest()


def tile_sql(tile_filter: TileFilter) -> str:
    """The statement for these filters: fixed fragments only (values are bound), so each shape has its own plan."""
    filters = ""
    if tile_filter.stages:
        filters += "\n      AND p.stage = ANY(:stages)"
    if tile_filter.overdue is not None:
        filters += f"\n      AND {'' if tile_filter.overdue else 'NOT '}{overdue_sql()}"
    if tile_filter.commune is not None:
        filters += "\n      AND p.commune_code = :commune"
    if tile_filter.zone is not None:
        filters += "\n      AND z.code = :zone"
    return _TILE_SQL.format(overdue=overdue_sql(), extent=EXTENT, buffer=BUFFER, filters=filters, layer=LAYER)


def tile_params(z: int, x: int, y: int, today: dt.date, tile_filter: TileFilter) -> dict:
    return {
        "z": z,
        "x": x,
        "y": y,
        "today": today,
        "stages": list(tile_filter.stages),
        "commune": tile_filter.commune,
        "zone": tile_filter.zone,
    }


def parcel_tile(session: Session, z: int, x: int, y: int, today: dt.date, tile_filter: TileFilter) -> bytes:
    """The tile's bytes (empty when no parcel touches it)."""
    data = session.execute(text(tile_sql(tile_filter)), tile_params(z, x, y, today, tile_filter)).scalar()
    return bytes(data or b"")


class TileCache:
    """Tiles by ETag, at most ``max_bytes`` of them (least recently used dropped first); thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, tag: str) -> bytes | None:
        with self._lock:
            data = self._tiles.get(tag)
            if data is None:
                self.misses += 1
                return None
            self._tiles.move_to_end(tag)
            self.hits += 1
            return data

    def keep(self, tag: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if tag in self._tiles:
                return
            self._tiles[tag] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._tiles.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._tiles)


def cached_tile(
    session: Session,
    cache: TileCache,
    tile_state: TileState,
    tag: str,
    z: int,
    x: int,
    y: int,
    tile_filter: TileFilter,
) -> bytes:
    """The tile of this ETag: kept, or built (and kept if the state did not move while it was built)."""
    kept = cache.get(tag)
    if kept is not None:
        return kept
    data = parcel_tile(session, z, x, y, tile_state.today, tile_filter)
    if cache.max_bytes > 0 and state(session, tile_state.today, TileFilter()) == tile_state:
        cache.keep(tag, data)
    return data
