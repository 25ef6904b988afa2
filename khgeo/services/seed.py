"""Load the reference data under data/ into the database: districts, communes, agencies, zones, plan tasks.

Idempotent and all-or-nothing: rows are matched by their stable code; missing ones are inserted, existing ones
are left exactly as they are (later field updates are never reverted by a re-seed). Every file is read and
checked before anything is written, and a problem raises DataError naming the file and the feature.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from khgeo.config import PROJECT_ROOT
from khgeo.errors import DataError
from khgeo.models import (
    GEOMETRY_SOURCES,
    OPERATING_STATUSES,
    RECURRENCES,
    WWTP_STATUSES,
    ZONE_KINDS,
    Agency,
    Commune,
    District,
    Task,
    Zone,
)
from khgeo.numbers import NumberError, parse_decimal
from khgeo.services.updates import FIELD_BOUNDS, snapshot

DATA_DIR = PROJECT_ROOT / "data"
# By law (Decree 35/2022/NĐ-CP, art. 68) the provincial zone board manages every KCN; CCN managers vary and are
# not stated in our sources, so they stay unknown.
KCN_MANAGING_AGENCY = "BQL"


@dataclass
class SeedReport:
    created: Counter = field(default_factory=Counter)
    existing: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        tables = sorted(set(self.created) | set(self.existing))
        return [
            f"{table}: {self.created[table]} created, {self.existing[table]} already present"
            for table in tables
        ]


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{_rel(path)}: cannot read: {exc}") from exc


def _read_geojson(path: Path) -> list[dict]:
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
        return collection["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{_rel(path)}: not a GeoJSON FeatureCollection: {exc}") from exc


def _multipolygon(geometry: dict | None, where: str) -> MultiPolygon | None:
    if geometry is None:
        return None
    try:
        geom: BaseGeometry = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise DataError(f"{where}: unreadable geometry: {exc}") from exc
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon":
        raise DataError(f"{where}: geometry must be a Polygon or MultiPolygon, not {geom.geom_type}")
    if not geom.is_valid:
        raise DataError(f"{where}: invalid geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (100 <= minx and maxx <= 112 and 7 <= miny and maxy <= 25):
        raise DataError(f"{where}: coordinates are not longitude/latitude in Viet Nam (EPSG:4326 expected)")
    return geom


def _require(entry: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if entry.get(key) in (None, "")]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}")


def _choice(value: Any, allowed: tuple[str, ...], what: str, where: str) -> Any:
    if value is not None and value not in allowed:
        raise DataError(f"{where}: {what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _figure(value: Any, what: str, where: str) -> Decimal | None:
    """A zone figure through the one bounded parser (khgeo.numbers) and the field's range (updates.FIELD_BOUNDS)."""
    if value is None:
        return None
    bounds = FIELD_BOUNDS[what]
    try:
        number = parse_decimal(value)
    except NumberError as exc:
        raise DataError(f"{where}: {what} {str(value)[:40]!r} is not a number ({exc})") from None
    if not bounds.minimum <= number <= bounds.maximum or (bounds.positive and number == bounds.minimum):
        raise DataError(f"{where}: {what} {value} is outside {bounds.minimum}–{bounds.maximum}")
    return number


class Seeder:
    def __init__(self, session: Session, data_dir: Path = DATA_DIR):
        self.session = session
        self.data_dir = data_dir
        self.report = SeedReport()

    def run(self) -> SeedReport:
        districts = self._districts()
        self._communes(districts)
        from khgeo.services.units.catalogue import load_units  # the units of 2022 and 2025 (issue 13)

        load_units(self.session, self.data_dir, self.report)
        agencies = self._agencies(districts)
        zones = self._zones(districts, agencies)
        self._tasks(agencies, zones)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise DataError(f"the database rejected the seed data: {exc.orig}") from exc
        return self.report

    def _existing(self, model, key: str = "code") -> dict[str, Any]:
        return {getattr(row, key): row for row in self.session.scalars(select(model))}

    def _add(self, table: str, row: Any) -> None:
        self.session.add(row)
        self.report.created[table] += 1

    # -- administrative units -----------------------------------------------------------------------------------
    def _districts(self) -> dict[str, District]:
        path = self.data_dir / "geo" / "districts_2022_gischinhphu.geojson"
        existing = self._existing(District)
        for index, feature in enumerate(_read_geojson(path)):
            props = feature.get("properties") or {}
            where = f"{_rel(path)}: feature {index} ({props.get('name_vi', '?')})"
            _require(props, ("gso_code", "name_vi", "full_name_vi", "type_vi", "province_gso_code"), where)
            if props["gso_code"] in existing:
                self.report.existing["districts"] += 1
                continue
            geom = _multipolygon(feature.get("geometry"), where)
            district = District(
                code=props["gso_code"],
                name=props["name_vi"],
                full_name=props["full_name_vi"],
                unit_type=props["type_vi"],
                province_code=props["province_gso_code"],
                geom=from_shape(geom, srid=4326) if geom else None,
                source="gis.chinhphu.vn via daohoangson/dvhcvn (see data/SOURCES.md)",
            )
            self._add("districts", district)
            existing[district.code] = district
        return existing

    def _communes(self, districts: dict[str, District]) -> None:
        path = self.data_dir / "admin_units_gso_2022-10-01.csv"
        existing = self._existing(Commune)
        try:
            rows = list(csv.DictReader(path.open(encoding="utf-8")))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{_rel(path)}: cannot read: {exc}") from exc
        for number, row in enumerate(rows, start=2):
            where = f"{_rel(path)}: line {number} ({row.get('commune_name', '?')})"
            _require(row, ("commune_code", "commune_name", "commune_type", "district_code"), where)
            if row["district_code"] not in districts:
                raise DataError(f"{where}: unknown district code {row['district_code']}")
            if row["commune_code"] in existing:
                self.report.existing["communes"] += 1
                continue
            commune = Commune(
                code=row["commune_code"],
                name=row["commune_name"],
                unit_type=row["commune_type"],
                district=districts[row["district_code"]],
            )
            self._add("communes", commune)
            existing[commune.code] = commune

    def _agencies(self, districts: dict[str, District]) -> dict[str, Agency]:
        path = self.data_dir / "plan" / "agencies.toml"
        existing = self._existing(Agency)
        for entry in _read_toml(path).get("agency", []):
            where = f"{_rel(path)}: agency {entry.get('code', '?')}"
            _require(entry, ("code", "name", "kind"), where)
            if entry.get("district") and entry["district"] not in districts:
                raise DataError(f"{where}: unknown district code {entry['district']}")
            if entry["code"] in existing:
                self.report.existing["agencies"] += 1
                continue
            agency = Agency(
                code=entry["code"],
                name=entry["name"],
                name_en=entry.get("name_en", ""),
                kind=entry["kind"],
                district=districts.get(entry.get("district") or ""),
            )
            self._add("agencies", agency)
            existing[agency.code] = agency
        return existing

    # -- zones --------------------------------------------------------------------------------------------------
    def _outlines(self) -> dict[str, tuple[MultiPolygon, dict]]:
        path = self.data_dir / "geo" / "zones_illustrative.geojson"
        outlines = {}
        for index, feature in enumerate(_read_geojson(path)):
            props = feature.get("properties") or {}
            where = f"{_rel(path)}: feature {index} ({props.get('code', '?')})"
            _require(props, ("code", "geometry_source"), where)
            _choice(props["geometry_source"], GEOMETRY_SOURCES, "geometry_source", where)
            outlines[props["code"]] = (_multipolygon(feature.get("geometry"), where), props)
        return outlines

    def _zones(self, districts: dict[str, District], agencies: dict[str, Agency]) -> dict[str, Zone]:
        path = self.data_dir / "zones.toml"
        existing = self._existing(Zone)
        outlines = self._outlines()
        seen: set[str] = set()
        for entry in _read_toml(path).get("zone", []):
            where = f"{_rel(path)}: zone {entry.get('code') or entry.get('name', '?')}"
            _require(entry, ("code", "name", "kind"), where)
            if entry["code"] in seen:
                raise DataError(f"{where}: duplicate code")
            seen.add(entry["code"])
            _choice(entry["kind"], ZONE_KINDS, "kind", where)
            if entry.get("district_code") and entry["district_code"] not in districts:
                raise DataError(f"{where}: unknown district code {entry['district_code']}")
            if entry["code"] in existing:
                self.report.existing["zones"] += 1
                continue
            geom, outline = outlines.get(entry["code"], (None, {}))
            managing = entry.get("managing_agency") or (
                KCN_MANAGING_AGENCY if entry["kind"] == "KCN" else None
            )
            if managing and managing not in agencies:
                raise DataError(f"{where}: unknown managing agency {managing}")
            zone = Zone(
                code=entry["code"],
                name=entry["name"],
                kind=entry["kind"],
                aliases=list(entry.get("aliases", [])),
                district=districts.get(entry.get("district_code") or ""),
                communes=list(entry.get("communes", [])),
                geom=from_shape(geom, srid=4326) if geom else None,
                geometry_source=outline.get("geometry_source", "illustrative"),
                geometry_note=outline.get("basis", ""),
                stated_area_ha=_figure(entry.get("stated_area_ha"), "stated_area_ha", where),
                developer=entry.get("developer", ""),
                managing_agency=agencies.get(managing) if managing else None,
                operating_status=_choice(
                    entry.get("operating_status"), OPERATING_STATUSES, "operating_status", where
                ),
                infrastructure_pct=_figure(entry.get("infrastructure_pct"), "infrastructure_pct", where),
                occupancy_pct=_figure(entry.get("occupancy_pct"), "occupancy_pct", where),
                clearance_area_ha=_figure(entry.get("clearance_area_ha"), "clearance_area_ha", where),
                cleared_area_ha=_figure(entry.get("cleared_area_ha"), "cleared_area_ha", where),
                clearance_incomplete=entry.get("clearance_incomplete"),
                wwtp_status=_choice(entry.get("wwtp_status"), WWTP_STATUSES, "wwtp_status", where),
                as_of=_date(entry.get("as_of"), where),
                notes=entry.get("notes", "").strip(),
                sources=entry.get("sources", {}),
                osm_ref=entry.get("osm_ref", ""),
            )
            self._add("zones", zone)
            # the sourced figures are the first entry of the zone's history
            self.session.add(
                snapshot(
                    zone,
                    zone_version=1,
                    kind="seed",
                    source="seed",
                    as_of=zone.as_of,
                    geom=zone.geom,
                    geometry_source=zone.geometry_source,
                )
            )
            existing[zone.code] = zone
        unknown = set(outlines) - seen
        if unknown:
            raise DataError(
                f"{_rel(self.data_dir / 'geo' / 'zones_illustrative.geojson')}: outlines for unknown "
                f"zones {', '.join(sorted(unknown))}"
            )
        return existing

    # -- plan tasks ---------------------------------------------------------------------------------------------
    def _tasks(self, agencies: dict[str, Agency], zones: dict[str, Zone]) -> None:
        path = self.data_dir / "plan" / "tasks.toml"
        existing = self._existing(Task, "id")
        for position, entry in enumerate(_read_toml(path).get("task", []), start=1):
            where = f"{_rel(path)}: task {entry.get('id', '?')}"
            _require(entry, ("id", "section", "title", "text", "lead_agency"), where)
            codes = [entry["lead_agency"], *entry.get("coordinating_agencies", [])]
            unknown_agencies = [code for code in codes if code not in agencies]
            if unknown_agencies:
                raise DataError(f"{where}: unknown agency {', '.join(unknown_agencies)}")
            unknown_zones = [code for code in entry.get("zones", []) if code not in zones]
            if unknown_zones:
                raise DataError(f"{where}: unknown zone {', '.join(unknown_zones)}")
            _choice(entry.get("recurrence"), RECURRENCES, "recurrence", where)
            if not entry.get("due_date") and not entry.get("recurrence"):
                raise DataError(f"{where}: needs a due_date or a recurrence")
            if entry["id"] in existing:
                self.report.existing["tasks"] += 1
                continue
            task = Task(
                id=entry["id"],
                section=entry["section"],
                section_title=entry.get("section_title", ""),
                title=entry["title"],
                text=entry["text"].strip(),
                lead_agency=agencies[entry["lead_agency"]],
                applies_to_all_agencies=entry.get("applies_to_all_agencies", False),
                deadline_text=entry.get("deadline_text", ""),
                due_date=_date(entry.get("due_date"), where),
                recurrence=entry.get("recurrence"),
                yearly_due=entry.get("yearly_due"),
                due_exceptions=entry.get("due_exceptions", {}),
                position=position,
                coordinating_agencies=[agencies[code] for code in entry.get("coordinating_agencies", [])],
                zones=[zones[code] for code in entry.get("zones", [])],
            )
            self._add("tasks", task)
            existing[task.id] = task


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise DataError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def seed(session: Session, data_dir: Path = DATA_DIR) -> SeedReport:
    """Seed inside the caller's transaction (the caller commits, or rolls back on DataError)."""
    return Seeder(session, data_dir).run()
