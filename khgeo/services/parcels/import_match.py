"""Matching a file's parcels to the stored ones by (commune, sheet, number) and turning their values into changes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import Session, defer, selectinload

from khgeo.geo.crs import METRIC_SRID
from khgeo.models import Parcel, Zone
from khgeo.services.interop.import_types import SAME_OUTLINE_M
from khgeo.services.parcels.import_types import CADASTRAL_FIELDS, DB_BATCH, ParcelRow, plain_cell


def match_and_diff(session: Session, rows: list[ParcelRow], override: Zone | None) -> None:
    accepted = [row for row in rows if row.action != "rejected" and row.key]
    stored = _stored(session, [row.key for row in accepted if row.key])
    taken = _uids_taken(session, [row.uid for row in accepted if row.uid])
    for row in accepted:
        parcel = stored.get(row.key) if row.key else None
        if parcel is None:
            owner = taken.get(row.uid) if row.uid else None
            if owner is not None:
                row.reject(
                    _l(
                        "The parcel identifier %(uid)s is already parcel %(other)s's.",
                        uid=row.uid,
                        other=owner[1],
                    )
                )
                continue
            _plan_create(row, override)
        else:
            _plan_update(row, parcel, override)
    _compare_outlines(session, [row for row in accepted if row.action in ("update", "unchanged")])


def _stored(session: Session, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], Parcel]:
    found: dict[tuple[str, str, str], Parcel] = {}
    for start in range(0, len(keys), DB_BATCH):
        batch = keys[start : start + DB_BATCH]
        ids = session.execute(
            text(
                """SELECT p.id FROM parcels p
                   JOIN unnest(CAST(:c AS text[]), CAST(:s AS text[]), CAST(:n AS text[])) AS k(c, s, n)
                     ON p.commune_code = k.c AND p.sheet = k.s AND p.number = k.n"""
            ),
            {"c": [k[0] for k in batch], "s": [k[1] for k in batch], "n": [k[2] for k in batch]},
        ).scalars()
        query = (
            select(Parcel)
            .where(Parcel.id.in_(list(ids)))
            .options(defer(Parcel.geom), selectinload(Parcel.zone).load_only(Zone.id, Zone.code))
        )
        for parcel in session.scalars(query):
            found[(parcel.commune_code, parcel.sheet, parcel.number)] = parcel
    return found


def _uids_taken(session: Session, uids: list[str]) -> dict[str, tuple[int, str]]:
    taken: dict[str, tuple[int, str]] = {}
    for start in range(0, len(uids), DB_BATCH):
        rows = session.execute(
            select(Parcel.uid, Parcel.id, Parcel.commune_code, Parcel.sheet, Parcel.number).where(
                Parcel.uid.in_(uids[start : start + DB_BATCH])
            )
        )
        for uid, parcel_id, commune, sheet, number in rows:
            taken[uid] = (parcel_id, f"{commune}/{sheet}/{number}")
    return taken


def _plan_create(row: ParcelRow, override: Zone | None) -> None:
    row.action = "create"
    row.values = {
        "uid": row.uid,
        "commune_code": row.commune_code,
        "sheet": row.sheet,
        "number": row.parcel_number,
        **row.given,
        "area_m2": row.area_m2,
        "zone_id": row.zone_id,
        "zone_overridden": override is not None,
    }
    row.changes = {name: [None, plain_cell(value)] for name, value in row.given.items()}
    row.changes["area_m2"] = [None, row.area_m2]
    row.changes["zone"] = [None, row.zone_code]


def _plan_update(row: ParcelRow, parcel: Parcel, override: Zone | None) -> None:
    row.parcel_id, row.parcel_version = parcel.id, parcel.version
    if row.uid_given and row.uid != parcel.uid:
        row.warnings.append(
            _l(
                "The file gives the identifier %(given)s; the parcel keeps %(uid)s.",
                given=row.uid,
                uid=parcel.uid,
            )
        )
    row.uid = parcel.uid
    for name, new in row.given.items():
        if name not in CADASTRAL_FIELDS:  # what a file may change on a stored parcel: never its clearance
            continue
        old = getattr(parcel, name)
        if old != new:
            row.values[name] = new
            row.changes[name] = [plain_cell(old), plain_cell(new)]
    if parcel.zone_overridden and override is None:
        # a zone set by hand stays: the outline does not move the parcel to another zone
        row.zone_id = parcel.zone_id
        row.zone_code = parcel.zone.code if parcel.zone else None
        row.outside = False
    elif parcel.zone_id != row.zone_id or parcel.zone_overridden != (override is not None):
        row.values["zone_id"] = row.zone_id
        row.values["zone_overridden"] = override is not None
        row.changes["zone"] = [parcel.zone.code if parcel.zone else None, row.zone_code]
    row.action = "update" if row.changes else "unchanged"


def _compare_outlines(session: Session, rows: list[ParcelRow]) -> None:
    """An outline within SAME_OUTLINE_M of the stored one is unchanged; otherwise its area change shows."""
    query = text(
        """SELECT t.id, p.area_m2, ST_HausdorffDistance(ST_Transform(p.geom, :metric),
                                                         ST_Transform(ST_GeomFromWKB(t.w, 4326), :metric))
           FROM unnest(CAST(:ids AS int[]), CAST(:ws AS bytea[])) AS t(id, w) JOIN parcels p ON p.id = t.id"""
    )
    by_id = {row.parcel_id: row for row in rows}
    for start in range(0, len(rows), DB_BATCH):
        batch = rows[start : start + DB_BATCH]
        result = session.execute(
            query,
            {
                "ids": [r.parcel_id for r in batch],
                "ws": [r.outline_wkb for r in batch],
                "metric": METRIC_SRID,
            },
        )
        for parcel_id, old_area, distance in result:
            row = by_id[parcel_id]
            if distance is not None and distance <= SAME_OUTLINE_M:
                row.outline_wkb = None
                continue
            row.changes["area_m2"] = [None if old_area is None else round(old_area, 1), row.area_m2]
            row.values["area_m2"] = row.area_m2
            row.action = "update"
