"""A zone's parcels as GeoPackage, XLSX or GeoJSON.

Every format carries the same columns (``COLUMNS``): GeoJSON and GeoPackage under their keys, XLSX under
Vietnamese headers with the stages' Vietnamese labels, dates as dd/mm/yyyy and every text through the one formula
guard (khgeo/services/spreadsheet.py). Outlines are WGS 84 (EPSG:4326); GeoJSON keeps 7 decimals (~1 cm), as
cadastral outlines deserve.

Land users' names, households and people are personal data (Decree 13/2023/NĐ-CP): a file carries them only when
``personal`` is true — the caller decides that with khgeo.services.authz.sees_land_users — and otherwise the name is
masked (privacy.mask_land_user) and the counts are left empty. Every export carrying them is written to the audit
log ("parcels.export") in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from khgeo import clock, codes
from khgeo.models import Parcel, User, Zone
from khgeo.services.audit import record
from khgeo.services.interop.export import write_layer
from khgeo.services.interop.spreadsheet import DATE, DATETIME, DECIMAL, INTEGER, TableColumn, table_workbook
from khgeo.services.parcels.fields import commune_name
from khgeo.services.parcels.privacy import mask_land_user
from khgeo.services.zones import get_zone
from khgeo.text import file_name

GEOJSON_DECIMALS = 7


@dataclass(frozen=True)
class ParcelExportFormat:
    key: str
    label: str
    extension: str
    mimetype: str


FORMATS: dict[str, ParcelExportFormat] = {
    f.key: f
    for f in (
        ParcelExportFormat("gpkg", "GeoPackage", "gpkg", "application/geopackage+sqlite3"),
        ParcelExportFormat(
            "xlsx", "Excel", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
        ParcelExportFormat("geojson", "GeoJSON", "geojson", "application/geo+json"),
    )
}


@dataclass(frozen=True)
class Column:
    key: str
    header_vi: str
    kind: str = "text"  # text, integer, number, date, datetime, bool
    number_format: str | None = None


COLUMNS: tuple[Column, ...] = (
    Column("uid", "Mã định danh thửa đất"),
    Column("commune_code", "Mã xã, phường"),
    Column("commune", "Xã, phường"),
    Column("sheet", "Số tờ bản đồ"),
    Column("number", "Số thửa"),
    Column("old_sheet", "Số tờ cũ"),
    Column("old_number", "Số thửa cũ"),
    Column("land_type", "Loại đất"),
    Column("legal_area_m2", "Diện tích pháp lý (m²)", "number", DECIMAL),
    Column("area_m2", "Diện tích theo ranh thửa (m²)", "number", DECIMAL),
    Column("address", "Địa chỉ"),
    Column("land_user_kind", "Đối tượng sử dụng đất"),
    Column("land_user_name", "Người sử dụng đất"),
    Column("households", "Số hộ bị ảnh hưởng", "integer", INTEGER),
    Column("people", "Số nhân khẩu bị ảnh hưởng", "integer", INTEGER),
    Column("zone", "Mã khu, cụm"),
    Column("zone_overridden", "Khu, cụm gán thủ công", "bool"),
    Column("stage", "Giai đoạn thu hồi"),
    Column("stage_date", "Ngày đạt giai đoạn", "date", DATE),
    Column("compulsory_inventory", "Kiểm đếm bắt buộc", "bool"),
    Column("enforcement", "Cưỡng chế", "bool"),
    Column("dispute", "Tranh chấp", "bool"),
    Column("resettlement_needed", "Cần tái định cư", "bool"),
    Column("amount_approved", "Số tiền được phê duyệt (đồng)", "integer", INTEGER),
    Column("amount_paid", "Số tiền đã chi trả (đồng)", "integer", INTEGER),
    Column("geometry_source", "Nguồn ranh thửa"),
    Column("illustrative", "Dữ liệu minh họa", "bool"),
    Column("version", "Phiên bản", "integer", INTEGER),
    Column("updated_at", "Cập nhật lúc", "datetime", DATETIME),
)
PERSONAL = ("land_user_name", "households", "people")


@dataclass
class ParcelExport:
    body: bytes
    format: ParcelExportFormat
    count: int
    personal: bool
    file_name: str

    @property
    def label(self) -> str:
        return self.format.label


def export_zone_parcels(
    session: Session, zone_code: str, fmt: str, *, user: User | None, personal: bool, channel: str
) -> ParcelExport:
    """The parcels of zone ``zone_code`` in format ``fmt``; with land users only when ``personal`` (audited)."""
    zone = get_zone(session, zone_code, with_tasks=False)
    return export_parcels(session, zone, fmt, user=user, personal=personal, channel=channel)


def export_parcels(
    session: Session, zone: Zone, fmt: str, *, user: User | None, personal: bool, channel: str
) -> ParcelExport:
    export_format = FORMATS[fmt]
    rows = parcel_rows(session, zone, personal=personal)
    if fmt == "geojson":
        body = _geojson(rows)
    elif fmt == "gpkg":
        body = _gpkg(rows)
    else:
        body = _xlsx(rows, zone)
    if personal:
        record(
            session,
            user,
            "parcels.export",
            "zone",
            zone.code,
            {},
            {"format": fmt, "parcels": len(rows), "personal": True, "channel": channel},
        )
    name = file_name(f"thửa đất {zone.kind} {zone.name}") + "." + export_format.extension
    return ParcelExport(body, export_format, len(rows), personal, name)


@dataclass
class ParcelRowOut:
    properties: dict[str, Any]
    wkb: bytes
    geojson: str


def _natural(text: str | None) -> tuple:
    """Sheet 2 before sheet 10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or ""))


def parcel_rows(session: Session, zone: Zone, *, personal: bool) -> list[ParcelRowOut]:
    query = (
        select(Parcel, func.ST_AsBinary(Parcel.geom), func.ST_AsGeoJSON(Parcel.geom, GEOJSON_DECIMALS))
        .where(Parcel.zone_id == zone.id)
        .order_by(Parcel.commune_code, Parcel.sheet, Parcel.number)
    )
    out = []
    for parcel, wkb, geojson in session.execute(query):
        properties = {column.key: getattr(parcel, column.key, None) for column in COLUMNS}
        properties["commune"] = commune_name(parcel.commune_code)
        properties["zone"] = zone.code
        if not personal:
            properties["land_user_name"] = mask_land_user(parcel.land_user_name, "vi")
            properties["households"] = properties["people"] = None
        out.append(ParcelRowOut(properties, bytes(wkb), geojson))
    out.sort(
        key=lambda r: (
            r.properties["commune_code"],
            _natural(r.properties["sheet"]),
            _natural(r.properties["number"]),
        )
    )
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _geojson(rows: list[ParcelRowOut]) -> bytes:
    features = [
        {
            "type": "Feature",
            "id": row.properties["uid"],
            "geometry": json.loads(row.geojson),
            "properties": {key: _json_value(value) for key, value in row.properties.items()},
        }
        for row in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")


def _gpkg(rows: list[ParcelRowOut]) -> bytes:
    data = {}
    for column in COLUMNS:
        values = [row.properties.get(column.key) for row in rows]
        if column.kind == "bool":
            data[column.key] = pd.array(values, dtype="boolean")
        elif column.kind == "integer":
            data[column.key] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        elif column.kind == "number":
            data[column.key] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        elif column.kind == "date":
            data[column.key] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ms]")
        elif column.kind == "datetime":
            data[column.key] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(
                "datetime64[ms, UTC]"
            )
        else:
            data[column.key] = pd.Series(values, dtype=object)
    frame = gpd.GeoDataFrame(data, geometry=[shapely.from_wkb(row.wkb) for row in rows], crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="khgeo-export-") as workdir:
        path = Path(workdir) / "parcels.gpkg"
        write_layer(
            path,
            frame,
            dates=[c.key for c in COLUMNS if c.kind == "date"],
            layer="parcels",
            driver="GPKG",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
        )
        return path.read_bytes()


def _xlsx_value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if column.key == "stage":
        return codes.PARCEL_STAGE.labels_vi().get(value, value)
    if column.key == "land_user_kind":
        return codes.LAND_USER_KIND.labels_vi().get(value, value)
    if column.key == "geometry_source":
        return codes.GEOMETRY_SOURCE.labels_vi().get(value, value)
    if column.kind == "bool":
        return "Có" if value else "Không"
    if column.kind == "number":
        return float(value)
    if column.kind == "integer":
        return int(value)
    if column.kind == "datetime":
        return clock.local(value).replace(tzinfo=None, microsecond=0)
    return value


def _xlsx(rows: list[ParcelRowOut], zone: Zone) -> bytes:
    return table_workbook(
        "Thửa đất",
        [TableColumn(column.header_vi, column.number_format) for column in COLUMNS],
        ([_xlsx_value(column, row.properties.get(column.key)) for column in COLUMNS] for row in rows),
        title=f"Thửa đất {zone.kind} {zone.name}",
        freeze="F2",
    )
