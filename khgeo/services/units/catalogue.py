"""Load the administrative units of both periods and their links from data/ (part of ``khgeo seed``).

Idempotent like the rest of the seed: rows are matched by (period, level, code); existing ones are left as they
are. Sources (data/units-2025/README.md, data/SOURCES.md):
- 2022: the districts and communes already seeded (GSO register 01/10/2022, gis.chinhphu.vn outlines) and the
  province outline of data/geo; they end on 30/06/2025.
- 2025: the 99 communes and wards of the new Bắc Ninh province and its outline (sapnhap.bando.com.vn via
  thanglequoc/vietnamese-provinces-database); from 01/07/2025.
- Links 2022 commune → 2025 unit: the crosswalk bacgiang_bacninh_old_to_new_2025.csv (NQ 1658/NQ-UBTVQH15). Its
  pre-merger register is of 2025-03, not 2022: a 2022 commune is linked through the register row carrying its
  code (the unit that kept the code through the 2024–25 arrangements; the source notes when the name changed).
  The 17 communes of 2022 whose code is no longer in that register are left unlinked: the data do not say where
  they went (``unlinked_2022_communes`` lists them).
- Placements by name ("by GADM point") from bacgiang_zones_to_2025_units.csv, for the communes the plan names
  that no 2022 register row resolves (merged before 2022, or gone by 2025).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, mapping, shape
from shapely.validation import make_valid
from sqlalchemy import String, cast, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session

from khgeo.errors import DataError
from khgeo.models import AdminUnit, Commune, District, admin_unit_links, unit_name_placements
from khgeo.services.seed import _multipolygon, _read_geojson, _rel
from khgeo.text import fold

UNITS_DIR = "units-2025"
END_2022 = dt.date(2025, 6, 30)
START_2025 = dt.date(2025, 7, 1)
ACT = "NQ 1658/NQ-UBTVQH15 (16/06/2025)"
CROSSWALK = "bacgiang_bacninh_old_to_new_2025.csv"
ZONES_TO_2025 = "bacgiang_zones_to_2025_units.csv"
COMMUNES_2025 = "bacninh2025_communes_sapnhapbando.geojson"
PROVINCE_2025 = "bacninh2025_province_sapnhapbando.geojson"
SOURCE_2025 = (
    "sapnhap.bando.com.vn via thanglequoc/vietnamese-provinces-database; codes QĐ 19/2025/QĐ-TTg "
    "(data/units-2025, licence caveats in data/SOURCES.md)"
)
_LOOKUP = re.compile(
    r"^\s*(?P<name>[^;]+?)\s*->\s*(?P<unit>.+?)\s*\((?P<code>\d{5})\)\s*\(by GADM point\)\s*$"
)


def _strip_type(full_name: str, unit_type: str) -> str:
    if unit_type and full_name.startswith(unit_type + " "):
        return full_name[len(unit_type) + 1 :]
    return full_name


def _valid_multipolygon(geometry: dict | None, where: str) -> MultiPolygon | None:
    """An outline through the seed's own checks (type, lon/lat in Viet Nam), made valid first when it is not
    (ST_IsValid/ST_MakeValid, as the data's README asks: neighbouring polygons of the source overlap slightly)."""
    if geometry is None:
        return None
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise DataError(f"{where}: unreadable geometry: {exc}") from exc
    if not geom.is_valid:
        parts: list = []
        for part in getattr(make_valid(geom), "geoms", [make_valid(geom)]):
            if part.geom_type in ("Polygon", "MultiPolygon"):
                parts.extend(getattr(part, "geoms", [part]))
        geom = MultiPolygon(parts)
    return _multipolygon(mapping(geom), where)


class UnitLoader:
    def __init__(self, session: Session, data_dir: Path, report) -> None:
        self.session = session
        self.dir = data_dir / UNITS_DIR
        self.data_dir = data_dir
        self.report = report
        self.units = {(u.period, u.level, u.code): u for u in session.scalars(select(AdminUnit))}

    def _unit(self, **values) -> AdminUnit:
        key = (values["period"], values["level"], values["code"])
        if key in self.units:
            self.report.existing["admin_units"] += 1
            return self.units[key]
        unit = AdminUnit(**values)
        self.session.add(unit)
        self.report.created["admin_units"] += 1
        self.units[key] = unit
        return unit

    def run(self) -> None:
        self.session.flush()  # the districts and communes have their ids
        # -- 2022 ---------------------------------------------------------------------------------------------
        province_path = self.data_dir / "geo" / "province_gischinhphu.geojson"
        feature = _read_geojson(province_path)[0]
        props = feature["properties"]
        province_2022 = self._unit(
            period="2022",
            level="province",
            code=props["gso_code"],
            name=props["name_vi"],
            full_name=props["full_name_vi"],
            unit_type=props["type_vi"],
            valid_to=END_2022,
            geom=_geom(_valid_multipolygon(feature["geometry"], _rel(province_path))),
            source="gis.chinhphu.vn via daohoangson/dvhcvn (see data/SOURCES.md)",
        )
        districts = {}
        for district in self.session.scalars(select(District).order_by(District.code)):
            districts[district.id] = self._unit(
                period="2022",
                level="district",
                code=district.code,
                name=district.name,
                full_name=district.full_name,
                unit_type=district.unit_type,
                parent=province_2022,
                valid_to=END_2022,
                district_id=district.id,
                geom=district.geom,
                source=district.source,
            )
        communes_2022 = {}
        for commune in self.session.scalars(select(Commune).order_by(Commune.code)):
            communes_2022[commune.code] = self._unit(
                period="2022",
                level="commune",
                code=commune.code,
                name=_strip_type(commune.name, commune.unit_type),
                full_name=commune.name,
                later_names=[],
                unit_type=commune.unit_type,
                parent=districts[commune.district_id],
                valid_to=END_2022,
                commune_id=commune.id,
                source="GSO register 01/10/2022 (data/admin_units_gso_2022-10-01.csv)",
            )
        # -- 2025 ---------------------------------------------------------------------------------------------
        path = self.dir / PROVINCE_2025
        feature = _read_geojson(path)[0]
        props = feature["properties"]
        province_2025 = self._unit(
            period="2025",
            level="province",
            code=props["code"],
            name=props["name"],
            full_name=props["fullName"],
            unit_type="Tỉnh",
            valid_from=START_2025,
            geom=_geom(_valid_multipolygon(feature["geometry"], _rel(path))),
            source=SOURCE_2025,
        )
        path = self.dir / COMMUNES_2025
        units_2025 = {}
        for index, feature in enumerate(_read_geojson(path)):
            props = feature.get("properties") or {}
            where = f"{_rel(path)}: feature {index} ({props.get('full_name', '?')})"
            if not props.get("code") or not props.get("full_name"):
                raise DataError(f"{where}: missing code or full_name")
            units_2025[props["code"]] = self._unit(
                period="2025",
                level="commune",
                code=props["code"],
                name=props["name"],
                full_name=props["full_name"],
                unit_type=props.get("type_vi", ""),
                parent=province_2025,
                valid_from=START_2025,
                geom=_geom(_valid_multipolygon(feature.get("geometry"), where)),
                source=SOURCE_2025,
            )
        self.session.flush()
        self._links(communes_2022, units_2025)
        self._placements(units_2025)

    def _links(self, communes_2022: dict[str, AdminUnit], units_2025: dict[str, AdminUnit]) -> None:
        path = self.dir / CROSSWALK
        existing: set[tuple[Any, ...]] = set(
            self.session.execute(select(admin_unit_links.c.predecessor_id, admin_unit_links.c.successor_id))
        )
        rows = []
        for number, row in enumerate(_read_csv(path), start=2):
            old = communes_2022.get(row.get("old_code") or "")
            if row.get("old_province_code") != "24" or old is None:
                continue  # old Bắc Ninh's units (not in the 2022 register we hold), and "Trường bắn TB1"
            new = units_2025.get(row.get("new_code") or "")
            if new is None:
                raise DataError(f"{_rel(path)}: line {number}: unknown 2025 unit {row.get('new_code')}")
            if (old.id, new.id) in existing:
                self.report.existing["admin_unit_links"] += 1
                continue
            source = f"{ACT}; data/units-2025/{CROSSWALK}"
            if fold(row["old_name"]) != fold(old.full_name):
                source += (
                    f" (register of 2025-03: code {old.code} is {row['old_name']}, {row['old_district']})"
                )
                if row["old_name"] not in old.later_names:
                    old.later_names = [*old.later_names, row["old_name"]]
            rows.append(
                {"predecessor_id": old.id, "successor_id": new.id, "effective": START_2025, "source": source}
            )
            existing.add((old.id, new.id))
        if rows:
            self.session.execute(insert(admin_unit_links), rows)
            self.report.created["admin_unit_links"] += len(rows)

    def _placements(self, units_2025: dict[str, AdminUnit]) -> None:
        path = self.dir / ZONES_TO_2025
        existing: set[tuple[Any, ...]] = set(
            self.session.execute(select(unit_name_placements.c.name_folded, unit_name_placements.c.unit_id))
        )
        rows = []
        for number, row in enumerate(_read_csv(path), start=2):
            for lookup in (row.get("lookups") or "").split(";"):
                match = _LOOKUP.match(lookup)
                if not match:
                    continue
                unit = units_2025.get(match["code"])
                if unit is None:
                    raise DataError(f"{_rel(path)}: line {number}: unknown 2025 unit {match['code']}")
                key = (fold(match["name"]), unit.id)
                if key in existing:
                    continue
                existing.add(key)
                rows.append(
                    {
                        "name_folded": key[0],
                        "unit_id": unit.id,
                        "source": f"data/units-2025/{ZONES_TO_2025} (placed by a GADM point)",
                    }
                )
        if rows:
            self.session.execute(insert(unit_name_placements), rows)
            self.report.created["unit_name_placements"] += len(rows)


def _geom(geom: MultiPolygon | None):
    return from_shape(geom, srid=4326) if geom is not None else None


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{_rel(path)}: cannot read: {exc}") from exc


def load_units(session: Session, data_dir: Path, report) -> None:
    """Load both periods' units, the crosswalk links and the name placements (inside the seed's transaction)."""
    UnitLoader(session, data_dir, report).run()


def unlinked_2022_communes(session: Session) -> list[AdminUnit]:
    """The 2022 communes with no 2025 successor in the data (their code left the register before 2025)."""
    linked = select(admin_unit_links.c.predecessor_id)
    query = select(AdminUnit).where(
        AdminUnit.period == "2022", AdminUnit.level == "commune", AdminUnit.id.not_in(linked)
    )
    return list(session.scalars(query.order_by(AdminUnit.code)))


# Simplifying the 99 outlines takes ~0.6 s: the overlay is made once per process for the units loaded (they
# change only with `khgeo seed`), under the key (count, highest id) of the 2025 units.
_OVERLAY_CACHE: dict[tuple, str] = {}
OVERLAY_TOLERANCE_DEG = (
    0.001  # ~100 m: a boundary drawn under the zones at province scale; ~150 kB of GeoJSON
)


def units_overlay_json(session: Session, tolerance_deg: float = OVERLAY_TOLERANCE_DEG) -> str:
    """The 2025 communes and wards as a GeoJSON FeatureCollection for the map's boundary layer: outlines
    simplified (topology kept) to ``tolerance_deg``, 5 decimals; properties code and full name."""

    current = (AdminUnit.period == "2025", AdminUnit.level == "commune")
    key = (
        *session.execute(select(func.count(AdminUnit.id), func.max(AdminUnit.id)).where(*current)).one(),
        tolerance_deg,
    )
    if key in _OVERLAY_CACHE:
        return _OVERLAY_CACHE[key]

    feature = func.json_build_object(
        "type",
        literal("Feature"),
        "id",
        AdminUnit.code,
        "geometry",
        cast(func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(AdminUnit.geom, tolerance_deg), 5), JSON),
        "properties",
        func.json_build_object("code", AdminUnit.code, "name", AdminUnit.full_name),
    )
    rows = (
        select(feature.label("feature"))
        .where(AdminUnit.period == "2025", AdminUnit.level == "commune", AdminUnit.geom.is_not(None))
        .order_by(AdminUnit.code)
        .subquery()
    )
    collection = func.json_build_object(
        "type",
        literal("FeatureCollection"),
        "features",
        func.coalesce(func.json_agg(rows.c.feature), text("'[]'::json")),
    )
    overlay = session.execute(select(cast(collection, String))).scalar_one()
    _OVERLAY_CACHE.clear()
    _OVERLAY_CACHE[key] = overlay
    return overlay
