"""Importing parcels from cadastral files: a plan of what would change, then applying it in one transaction.

The file is read by khgeo/services/interop/files.py (zip safety, GeoPackage, encodings, size limits) and its
coordinates go through the zones' importer (khgeo/services/interop/import_plan.py: CRS detection, VN-2000 → WGS 84 by
EPSG:6960 whatever the file says, polygons only), so a cadastral GPKG in VN-2000 / TM-3 lands exactly where the
zones do. Outlines are repaired in PostGIS as zones are (ST_MakeValid, polygonal parts kept, each repair
reported); one that nothing polygonal is left of, or that lies outside the province (a wrong CRS), is rejected
with its row named.

- Columns are recognised by the names offices use (khgeo/services/parcels/fields.py); commune codes from before
  1 July 2025 become the 2025 unit's code, said in the preview.
- A parcel's zone is the zone outline it overlaps most (retired zones aside); ``zone_code`` puts every parcel of
  the file in that zone instead (``zone_overridden``). A parcel outside every zone is accepted and flagged.
- Its area (``area_m2``) is measured in WGS 84 / UTM 48N (EPSG:32648), as zones' areas are.
- Its identifier is the file's (MaDinhDanh/PARCELID, checked) or identity.parcel_uid of its outline.
- Parcels already stored are matched by (commune, sheet, number): their cadastral fields and outline are updated,
  never their stage; an empty cell leaves a field as it is. Each change is a new version of the parcel with a
  ParcelEvent of kind "import"; the import as a whole is one audit event ("parcels.import").
- The same (commune, sheet, number) twice in a file refuses the whole file, naming the rows.

``apply_parcel_import`` plans again inside the caller's transaction and refuses when the plan differs from the
one the user saw (its fingerprint); the caller commits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import shapely
from flask_babel import lazy_gettext as _l
from geoalchemy2 import WKBElement
from pyproj import CRS
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from khgeo import clock
from khgeo.geo import crs as geo_crs
from khgeo.geo.crs import METRIC_SRID
from khgeo.geo.reprojection import parse_crs
from khgeo.models import Parcel, ParcelEvent, User, Zone
from khgeo.services.audit import record
from khgeo.services.geometry import (
    DEFAULT_VERTEX_LIMITS,
    VertexLimits,
    province_wkb,
    too_many_vertices,
)
from khgeo.services.interop import import_plan as importer
from khgeo.services.interop.files import ImportFileError, SourceData
from khgeo.services.parcels import fields
from khgeo.services.parcels.derive import refresh_zones
from khgeo.services.parcels.identity import parcel_uid
from khgeo.services.parcels.import_match import match_and_diff
from khgeo.services.parcels.import_types import (
    DB_BATCH,
    IMPORT_NOTE,
    KEY_TEXT,
    MAX_COUNT,
    MAX_LEGAL_AREA_M2,
    MIN_AREA_M2,
    TEXT_MAX,
    UID_TOLERANCE_DEG,
    ParcelImportConflict,
    ParcelImportPlan,
    ParcelPlanChanged,
    ParcelRow,
)


# -- planning ---------------------------------------------------------------------------------------------------
def plan_parcel_import(
    session: Session,
    source: SourceData,
    *,
    crs: str | None = None,
    zone_code: str | None = None,
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> ParcelImportPlan:
    """What importing ``source`` would do, computed against the database; writes nothing."""
    mapping = fields.map_parcel_columns(source.columns)
    missing = [t for t in ("commune_code", "sheet", "number") if t not in mapping.values()]
    if missing:
        raise ImportFileError(
            _l(
                "The file has no column for %(missing)s (columns: %(columns)s). Name them as the cadastral database "
                "does: MaXa, SoHieuToBanDo, SoThuTuThua.",
                missing=", ".join(missing),
                columns=", ".join(source.columns) or "—",
            )
        )
    if not source.has_geometries:
        raise ImportFileError(_l("The file holds no parcel outlines."))
    text_columns = [c for c, t in mapping.items() if t in ("land_user_name", "address")]
    importer.refuse_file_problems(source, text_columns, limits)
    plan = ParcelImportPlan(
        file_name=source.file_name,
        format=source.format,
        layer=source.layer,
        mapping=mapping,
        rows=[],
        warnings=list(source.warnings),
    )
    projection = importer.choose_reprojection(source, crs, plan)
    override = _override_zone(session, zone_code) if zone_code else None
    plan.zone_override = override.code if override else None
    column_of = {target: column for column, target in mapping.items() if target}
    for raw in source.features:
        row = ParcelRow(number=raw.number)
        _read_values(row, {t: raw.attributes.get(c) for t, c in column_of.items()})
        row.label = (
            "/".join(filter(None, [row.commune_code, row.sheet, row.parcel_number])) or f"#{raw.number}"
        )
        if raw.geometry_error:
            row.reject(raw.geometry_error)
        elif raw.geometry is None:
            row.reject(_l("The feature has no outline."))
        elif problem := too_many_vertices(raw.geometry, limits):
            row.reject(problem)
        else:
            geometry, reasons = importer.prepare_outline(raw.geometry, projection)
            for reason in reasons:
                row.reject(reason)
            row.geometry = geometry
        plan.rows.append(row)
    _refuse_duplicates(plan.rows)
    _check_outlines(session, plan.rows, override)
    _identify(plan.rows, _uid_srid(source, crs))
    match_and_diff(session, plan.rows, override)
    return plan


def _override_zone(session: Session, code: str) -> Zone:
    zone = session.scalars(select(Zone).where(Zone.code == code.strip(), Zone.retired_at.is_(None))).first()
    if zone is None:
        raise ImportFileError(_l("No zone has the code %(code)s.", code=code[:100]), field="zone")
    return zone


def _read_values(row: ParcelRow, cells: dict[str, Any]) -> None:
    """The file's cells as parcel values, or reasons on the row."""
    commune = fields.resolve_commune(cells.get("commune_code"))
    if commune.error:
        row.reject(commune.error)
    row.commune_code = commune.code
    if commune.note:
        row.notes.append(commune.note)
    for target in ("sheet", "number", "old_sheet", "old_number", "land_type", "address", "land_user_name"):
        value = fields.plain_text(cells.get(target))
        if target in KEY_TEXT and value is not None and value.isdigit():
            value = value.lstrip("0") or "0"  # sheet "012" is sheet 12, however the file typed it
        limit = fields.TEXT_LIMITS.get(target) or TEXT_MAX.get(target)
        if value is not None and limit and len(value) > limit:
            row.reject(_l("%(field)s is longer than %(n)d characters.", field=target, n=limit))
            continue
        if target == "sheet":
            row.sheet = value
        elif target == "number":
            row.parcel_number = value
        elif value is not None:
            row.given[target] = value
    if row.sheet is None:
        row.reject(_l("No map sheet number (SoHieuToBanDo)."))
    if row.parcel_number is None:
        row.reject(_l("No parcel number (SoThuTuThua)."))
    try:
        area = fields.decimal_value(cells.get("legal_area_m2"))
    except ValueError:
        row.reject(
            _l("The legal area %(value)s is not a number.", value=str(cells.get("legal_area_m2"))[:40])
        )
    else:
        if area is not None and not (0 <= area <= MAX_LEGAL_AREA_M2):
            row.reject(_l("The legal area %(value)s m² is not possible.", value=area))
        elif area is not None and area.quantize(Decimal("0.1")) == 0:
            row.warnings.append(_l("The legal area is 0: left empty."))
        elif area is not None:
            row.given["legal_area_m2"] = area.quantize(Decimal("0.1"))
    for target in ("households", "people"):
        try:
            count = fields.decimal_value(cells.get(target))
        except ValueError:
            count = Decimal(-1)
        if count is not None:
            if count < 0 or count != count.to_integral_value() or count > MAX_COUNT:
                row.reject(
                    _l(
                        "%(field)s must be a whole number ≥ 0 (not %(value)s).",
                        field=target,
                        value=cells[target],
                    )
                )
            else:
                row.given[target] = int(count)
    understood, kind = fields.land_user_kind(cells.get("land_user_kind"))
    if not understood:
        row.warnings.append(
            _l("Unknown land user kind %(value)s: left empty.", value=str(cells.get("land_user_kind"))[:40])
        )
    elif kind is not None:
        row.given["land_user_kind"] = kind
    uid = fields.plain_text(cells.get("uid"))
    if uid is not None:
        if not fields.UID_PATTERN.match(uid.lower()):
            row.reject(
                _l(
                    "The parcel identifier %(uid)s is not a 12-character geohash (Circular 19/2026).",
                    uid=uid[:40],
                )
            )
        else:
            row.uid, row.uid_given = uid.lower(), True


def _refuse_duplicates(rows: list[ParcelRow]) -> None:
    by_key: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        if row.key:
            by_key.setdefault(row.key, []).append(row.number)
    duplicates = [(key, numbers) for key, numbers in by_key.items() if len(numbers) > 1]
    if duplicates:
        listed = "; ".join(
            f"{'/'.join(key)}: " + ", ".join(f"#{n}" for n in numbers) for key, numbers in duplicates[:20]
        )
        raise ImportFileError(
            _l(
                "The same parcel (commune/sheet/number) appears more than once in the file: %(list)s. "
                "Nothing was imported.",
                list=listed,
            )
        )


_CHECK_OUTLINES = text(
    """
    WITH province AS (
        SELECT ST_GeomFromWKB(CAST(:province AS bytea), 4326) AS p
    ), input AS (
        SELECT t.n, ST_GeomFromWKB(t.w, 4326) AS g
        FROM unnest(CAST(:ns AS int[]), CAST(:ws AS bytea[])) AS t(n, w)
    ), checked AS (
        SELECT n, g, ST_IsValid(g) AS valid,
               CASE WHEN ST_IsValid(g) THEN ST_Multi(g)
                    ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) END AS r
        FROM input
    )
    SELECT c.n, c.valid, CASE WHEN c.valid THEN NULL ELSE ST_IsValidReason(c.g) END,
           ST_AsBinary(c.r), ST_IsEmpty(c.r), province.p IS NULL OR ST_CoveredBy(c.r, province.p),
           ST_Area(ST_Transform(c.r, :metric)), best.id, best.code, best.overlap
    FROM checked c CROSS JOIN province
    LEFT JOIN LATERAL (
        SELECT z.id, z.code, ST_Area(ST_Intersection(z.geom, c.r)) AS overlap
        FROM zones z
        WHERE z.retired_at IS NULL AND z.geom && c.r AND ST_Intersects(z.geom, c.r) AND NOT ST_IsEmpty(c.r)
        ORDER BY overlap DESC, z.code
        LIMIT 1
    ) best ON true
    """
)


def _check_outlines(session: Session, rows: list[ParcelRow], override: Zone | None) -> None:
    """Repair, inside-the-province, area and the zone overlapped most, computed by PostGIS in batches."""
    pending = [row for row in rows if row.geometry is not None and row.action != "rejected"]
    if not pending:
        return
    province = province_wkb(session)
    by_number = {row.number: row for row in pending}
    for start in range(0, len(pending), DB_BATCH):
        batch = pending[start : start + DB_BATCH]
        result = session.execute(
            _CHECK_OUTLINES,
            {
                "ns": [row.number for row in batch],
                "ws": [shapely.to_wkb(row.geometry) for row in batch],
                "province": province,
                "metric": METRIC_SRID,
            },
        ).all()
        for number, valid, reason, repaired, empty, inside, area, zone_id, zone_code, overlap in result:
            row = by_number[number]
            if empty:
                row.reject(
                    _l("Nothing polygonal is left after repairing the outline (%(reason)s).", reason=reason)
                )
                continue
            if not inside:
                row.reject(
                    _l(
                        "The %(what)s lies outside the province: check the coordinate reference system.",
                        what=_l("outline"),
                    )
                )
                continue
            if area < MIN_AREA_M2:
                row.reject(
                    _l(
                        "The outline encloses almost no area (%(area).2f m²): it is broken (a line, or points in a row).",
                        area=area,
                    )
                )
                continue
            if not valid:
                row.repairs.append(
                    _l(
                        "%(reason)s: repaired with ST_MakeValid (%(area).1f m² after repair).",
                        reason=reason,
                        area=area,
                    )
                )
            row.outline_wkb = bytes(repaired)
            row.area_m2 = round(float(area), 1)
            if override is not None:
                row.zone_id, row.zone_code = override.id, override.code
            elif zone_id is not None and overlap and overlap > 0:
                row.zone_id, row.zone_code = zone_id, zone_code
            else:
                row.outside = True
                row.warnings.append(_l("The parcel lies outside every zone: imported without a zone."))


def _uid_srid(source: SourceData, crs: str | None) -> int:
    """The VN-2000 zone a parcel's identifier point is found in: the file's TM-3 zone, else Bắc Giang's."""
    declared = parse_crs(crs) if crs else source.crs
    if isinstance(declared, CRS):
        base = declared.source_crs if declared.is_bound and declared.source_crs is not None else declared
        epsg = base.to_epsg(min_confidence=70)
        if epsg in geo_crs.VN2000_TM3_EPSG:
            return epsg
    return geo_crs.BAC_GIANG_VN2000_EPSG


def _identify(rows: list[ParcelRow], srid: int) -> None:
    """Each accepted row's identifier: the file's, checked to lie in the parcel, or computed from the outline."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.action == "rejected" or row.outline_wkb is None:
            continue
        outline = shapely.from_wkb(row.outline_wkb)
        if row.uid is None:
            row.uid = parcel_uid(outline, srid)
        elif not _uid_in_outline(row.uid, outline):
            row.reject(
                _l(
                    "The parcel identifier %(uid)s is not a point of this parcel: correct it, or leave the column "
                    "empty and khgeo computes it.",
                    uid=row.uid,
                )
            )
            continue
        if row.uid in seen:
            row.reject(
                _l("The parcel identifier %(uid)s is also feature %(n)d's.", uid=row.uid, n=seen[row.uid])
            )
            continue
        seen[row.uid] = row.number


def _uid_in_outline(uid: str, outline: Any) -> bool:
    """Whether a file's identifier lies in its parcel, within UID_TOLERANCE_DEG (the point may sit on the edge)."""
    point = shapely.Point(*fields.geohash_centre(uid))
    return bool(outline.dwithin(point, UID_TOLERANCE_DEG))


# -- applying ---------------------------------------------------------------------------------------------------
def apply_parcel_import(
    session: Session,
    source: SourceData,
    *,
    user: User | None,
    crs: str | None = None,
    zone_code: str | None = None,
    expected_fingerprint: str | None = None,
    channel: str = "cli",
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> ParcelImportPlan:
    """Plan again inside the caller's transaction and write every change; the caller commits (or rolls back)."""
    plan = plan_parcel_import(session, source, crs=crs, zone_code=zone_code, limits=limits)
    if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
        raise ParcelPlanChanged()
    written: list[tuple[ParcelRow, Parcel]] = []
    touched_zones: set[int | None] = set()
    for row in plan.by_action("create"):
        assert row.outline_wkb is not None  # a row without an outline is rejected, never created
        parcel = Parcel(
            **row.values,
            geom=WKBElement(row.outline_wkb, srid=geo_crs.STORAGE_SRID),
            geometry_source="imported",
            updated_by_id=user.id if user else None,
        )
        session.add(parcel)
        written.append((row, parcel))
    updates = plan.by_action("update")
    current = {
        p.id: p for p in session.scalars(select(Parcel).where(Parcel.id.in_([r.parcel_id for r in updates])))
    }
    for row in updates:
        found = current.get(row.parcel_id) if row.parcel_id is not None else None
        if found is None or found.version != row.parcel_version:
            raise ParcelImportConflict(row.label)
        parcel = found
        touched_zones.add(parcel.zone_id)  # a parcel moved to another zone changes the figures of both
        for name, value in row.values.items():
            setattr(parcel, name, value)
        if row.outline_wkb is not None:
            parcel.geom = WKBElement(row.outline_wkb, srid=geo_crs.STORAGE_SRID)
            parcel.geometry_source = "imported"
        parcel.updated_by_id = user.id if user else None
        written.append((row, parcel))
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # IntegrityError: another import stored one of these parcels (or identifiers) since the plan was made
        raise ParcelImportConflict() from None
    for row, parcel in written:
        session.add(
            ParcelEvent(
                parcel_id=parcel.id,
                parcel_version=parcel.version,
                kind="import",
                user_id=user.id if user else None,
                changes=row.changes,
                note=IMPORT_NOTE.format(file=plan.file_name, number=row.number)[:2000],
            )
        )
    counts = plan.counts
    record(
        session,
        user,
        "parcels.import",
        "parcels",
        plan.file_name[:200],
        {"created": counts["create"], "updated": counts["update"]},
        {
            "channel": channel,
            "unchanged": counts["unchanged"],
            "rejected": counts["rejected"],
            "outside": counts["outside"],
            "zone": plan.zone_override,
            "crs": plan.crs,
            "transformation": plan.transformation,
        },
    )
    session.flush()
    # the zones' clearance figures follow from their parcels (khgeo/services/parcels/derive.py), in this transaction
    touched_zones |= {parcel.zone_id for _, parcel in written}
    refresh_zones(
        session,
        touched_zones,
        today=clock.today(),
        user_id=user.id if user else None,
        source=plan.file_name[:200],
    )
    return plan
