"""Exporting zones, with the map's filters, as GeoJSON, GeoPackage, zipped Shapefile, CSV or XLSX.

Every format is built from the one serialisation of a zone (``khgeo.services.zones.feature_select``, which
``/api/zones`` serves): GeoJSON is exactly that FeatureCollection; the other formats carry the same properties
as columns (khgeo.services.interop.field_names documents the Shapefile's ≤ 10-character names and the XLSX's
Vietnamese headers). Binary formats keep full coordinate precision; GeoJSON has 6 decimals (~0.1 m), like the API.

- GeoPackage: layers ``zones`` and ``districts`` (MultiPolygon, EPSG:4326), ``tasks`` (no geometry) and
  ``task_zones`` (task id ↔ zone code, for the exported zones). ``as_of`` and a task's ``due_date`` are Date
  fields, ``updated_at`` a DateTime in UTC (to the millisecond, GeoPackage's precision); an unknown one is NULL.
- Shapefile: a zip of .shp, .shx, .dbf, .prj and a .cpg saying UTF-8; lists (aliases, communes) joined with "; ".
  ``as_of`` is a Date field; dBASE has no date-and-time type, so ``updated_at`` is ISO 8601 text, as in GeoJSON.
- CSV: UTF-8 with a byte-order mark (so Excel shows Vietnamese), property names as headers, the outline as WKT.
- XLSX: Vietnamese headers, number and date formats, widths that fit; a point inside each outline (lon/lat),
  since an outline does not fit a cell.
Every file a user exports imports back with no change (tests/test_export.py, tests/test_import.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, undefer

from khgeo import clock
from khgeo.models import District, Task, Zone, task_zones
from khgeo.services.interop.field_names import (
    EXPORT_COLUMNS,
    GEOMETRY_SOURCE_LABELS_VI,
    LAT_HEADER_VI,
    LON_HEADER_VI,
    OPERATING_LABELS_VI,
    WKT_COLUMN,
    WWTP_LABELS_VI,
)
from khgeo.services.interop.spreadsheet import TableColumn, csv_guard, table_workbook
from khgeo.services.zones import (
    ZoneFilter,
    apply_filter,
    count_zones,
    feature_collection_json,
    feature_select,
)
from khgeo.text import file_name

STORAGE_CRS = "EPSG:4326"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    filename: str
    mimetype: str


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("geojson", "GeoJSON", "khgeo-zones.geojson", "application/geo+json"),
        ExportFormat("gpkg", "GeoPackage", "khgeo-zones.gpkg", "application/geopackage+sqlite3"),
        ExportFormat("shp", "Shapefile", "khgeo-zones.shp.zip", "application/zip"),
        ExportFormat("csv", "CSV", "khgeo-zones.csv", CSV_CONTENT_TYPE),
        ExportFormat(
            "xlsx",
            "Excel",
            "khgeo-zones.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    )
}


# how a filter reads in a download's name (Vietnamese, as the province's staff file it)
WWTP_FILE_WORDS = {
    "none": "chưa có XLNT",
    "planned": "XLNT đang quy hoạch",
    "under_construction": "XLNT đang xây dựng",
    "operating": "XLNT đang vận hành",
    "unknown": "XLNT chưa rõ",
}


def download_name(session: Session, zone_filter: ZoneFilter, extension: str, *, words: str = "") -> str:
    """The file name of a zones download, saying what was filtered: ``khu-cụm-CCN-chưa-có-XLNT.xlsx``."""
    parts = ["khu cụm", zone_filter.kind or ""]
    if zone_filter.district:
        name = session.scalar(select(District.name).where(District.code == zone_filter.district))
        parts.append(name or zone_filter.district)
    if zone_filter.wwtp:
        parts.append(WWTP_FILE_WORDS.get(zone_filter.wwtp, zone_filter.wwtp))
    if zone_filter.q:
        parts.append(zone_filter.q[:40])
    if zone_filter.bbox:
        parts.append("vùng chọn")
    parts.append(words)
    return file_name(" ".join(part for part in parts if part)) + "." + extension


@dataclass
class Export:
    body: bytes
    format: ExportFormat
    count: int


@dataclass
class _Row:
    properties: dict[str, Any]
    wkb: bytes | None
    wkt: str | None
    lon: float | None
    lat: float | None


def export_zones(session: Session, zone_filter: ZoneFilter, fmt: str) -> Export:
    """The zones matching ``zone_filter`` in format ``fmt`` (a key of FORMATS)."""
    export_format = FORMATS[fmt]
    if fmt == "geojson":
        body = feature_collection_json(session, zone_filter).encode("utf-8")
        return Export(body, export_format, count_zones(session, zone_filter))
    rows = _rows(session, zone_filter)
    if fmt == "gpkg":
        body = _gpkg(session, zone_filter, rows)
    else:
        body = {"shp": _shapefile, "csv": _csv, "xlsx": _xlsx}[fmt](rows)
    return Export(body, export_format, len(rows))


def _rows(session: Session, zone_filter: ZoneFilter) -> list[_Row]:
    point = func.ST_PointOnSurface(Zone.geom)
    query = feature_select(zone_filter).add_columns(
        func.ST_AsBinary(Zone.geom), func.ST_AsText(Zone.geom), func.ST_X(point), func.ST_Y(point)
    )
    return [
        _Row(feature["properties"], None if wkb is None else bytes(wkb), wkt, lon, lat)
        for feature, wkb, wkt, lon, lat in session.execute(query)
    ]


def _cell(column, value: Any) -> Any:
    """A property as a column value of a table format."""
    if column.kind == "list":
        return "; ".join(value or [])
    if column.kind == "bool":
        return pd.NA if value is None else bool(value)
    return value


def _frame(
    rows: list[_Row], *, names: dict[str, str] | None = None, datetimes: bool = True
) -> gpd.GeoDataFrame:
    """The zones as a table with typed columns: nullable numbers and booleans; ``date`` columns as datetime64
    (midnight, written as Date fields by ``_write_layer``); ``datetime`` ones in UTC, or as the API's ISO text
    where ``datetimes`` is false (a Shapefile has no field for them)."""
    data = {}
    for column in EXPORT_COLUMNS:
        values = [_cell(column, row.properties.get(column.key)) for row in rows]
        if column.kind == "bool":
            values = pd.array(values, dtype="boolean")
        elif column.kind == "integer":
            values = pd.array(values, dtype="Int64")
        elif column.kind == "number":
            values = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        elif column.kind == "date":
            values = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ms]")
        elif column.kind == "datetime" and datetimes:
            values = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype("datetime64[ms, UTC]")
        else:  # text, kept text when there are no rows to tell (an empty column would be a Real field)
            values = pd.Series(values, dtype=object)
        data[(names or {}).get(column.key, column.key)] = values
    geometries = [None if row.wkb is None else shapely.from_wkb(row.wkb) for row in rows]
    return gpd.GeoDataFrame(data, geometry=geometries, crs=STORAGE_CRS)


def _date_columns(names: dict[str, str] | None = None) -> list[str]:
    """The names of the zone columns that hold a date (without a time)."""
    return [(names or {}).get(c.key, c.key) for c in EXPORT_COLUMNS if c.kind == "date"]


GDAL_UTC = 100  # GDAL's time zone flag for UTC (1 = local, 0 = unknown; 100 ± n: n quarter-hours off UTC)


def _write_layer(path: Path, frame: pd.DataFrame, *, dates: Collection[str] = (), **options: Any) -> None:
    """Write ``frame`` as a layer of ``path`` with typed fields: the columns named in ``dates`` (datetime64 at
    midnight) as Date, tz-aware datetimes as DateTime in UTC, nullable integers, reals and booleans with NULLs.

    ``pyogrio.write_dataframe`` would do all but the first: without pyarrow it has no way to ask for a Date field
    (a datetime64 column becomes DateTime, a column of ``datetime.date`` text). ``pyogrio.raw.write`` makes a
    Date field of a numpy ``datetime64[D]`` array, so the columns go to it directly."""
    geometry = None
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = shapely.to_wkb(np.asarray(frame.geometry.values))
        options.setdefault("crs", f"EPSG:{frame.crs.to_epsg()}")
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    fields, field_data, field_mask, tz_offsets = [], [], [], {}
    for name in frame.columns:
        column, mask = frame[name], None
        if name in dates:
            values = column.to_numpy(dtype="datetime64[ms]").astype("datetime64[D]")
        elif isinstance(column.dtype, pd.DatetimeTZDtype):
            values = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
            tz_offsets[name] = np.full(len(column), GDAL_UTC)
        elif isinstance(
            column.array, pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray
        ):
            values, mask = (
                column.array._data,
                column.array._mask,
            )  # as write_dataframe: values and NULLs apart
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            values = column.to_numpy(dtype=object, na_value=None)
        else:
            values = column.to_numpy()
        fields.append(str(name))
        field_data.append(values)
        field_mask.append(mask)
    pyogrio.raw.write(
        path,
        geometry=geometry,
        field_data=field_data,
        fields=fields,
        field_mask=field_mask,
        gdal_tz_offsets=tz_offsets,
        **options,
    )


def _gpkg(session: Session, zone_filter: ZoneFilter, rows: list[_Row]) -> bytes:
    districts = list(
        session.scalars(select(District).options(undefer(District.geom)).order_by(District.code))
    )
    district_frame = gpd.GeoDataFrame(
        {
            "code": [d.code for d in districts],
            "name": [d.name for d in districts],
            "full_name": [d.full_name for d in districts],
            "unit_type": [d.unit_type for d in districts],
        },
        geometry=[None if d.geom is None else shapely.from_wkb(bytes(d.geom.data)) for d in districts],
        crs=STORAGE_CRS,
    )
    tasks = list(
        session.scalars(select(Task).options(selectinload(Task.lead_agency)).order_by(Task.position))
    )
    task_frame = pd.DataFrame(
        {
            "id": [t.id for t in tasks],
            "section": [t.section for t in tasks],
            "section_title": [t.section_title for t in tasks],
            "title": [t.title for t in tasks],
            "text": [t.text for t in tasks],
            "lead_agency": [t.lead_agency.name for t in tasks],
            "deadline_text": [t.deadline_text for t in tasks],
            "due_date": pd.to_datetime(pd.Series([t.due_date for t in tasks], dtype=object)).astype(
                "datetime64[ms]"
            ),
            "recurrence": [t.recurrence for t in tasks],
            "status": [t.status for t in tasks],
        }
    )
    zone_ids = apply_filter(select(Zone.id), zone_filter).scalar_subquery()
    links = session.execute(
        select(task_zones.c.task_id, Zone.code)
        .join(Zone, Zone.id == task_zones.c.zone_id)
        .where(task_zones.c.zone_id.in_(zone_ids))
        .order_by(task_zones.c.task_id, Zone.code)
    ).all()
    link_frame = pd.DataFrame({"task_id": [t for t, _ in links], "zone_code": [c for _, c in links]})
    with tempfile.TemporaryDirectory(prefix="khgeo-export-") as workdir:
        path = Path(workdir) / "zones.gpkg"
        _write_layer(
            path,
            _frame(rows),
            dates=_date_columns(),
            layer="zones",
            driver="GPKG",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
        )
        _write_layer(path, district_frame, layer="districts", driver="GPKG", geometry_type="MultiPolygon")
        _write_layer(path, task_frame, dates=["due_date"], layer="tasks", driver="GPKG")
        _write_layer(path, link_frame, layer="task_zones", driver="GPKG")
        return path.read_bytes()


def _shapefile(rows: list[_Row]) -> bytes:
    names = {column.key: column.shp for column in EXPORT_COLUMNS}
    with tempfile.TemporaryDirectory(prefix="khgeo-export-") as workdir:
        path = Path(workdir) / "zones.shp"
        _write_layer(
            path,
            _frame(rows, names=names, datetimes=False),
            dates=_date_columns(names),
            driver="ESRI Shapefile",
            encoding="UTF-8",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                part = path.with_suffix(suffix)
                if not part.exists() and suffix == ".cpg":
                    part.write_text("UTF-8")
                archive.write(part, f"khgeo-zones{suffix}")
        return buffer.getvalue()


def _csv(rows: list[_Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.key for column in EXPORT_COLUMNS] + [WKT_COLUMN])
    for row in rows:
        cells = []
        for column in EXPORT_COLUMNS:
            value = _cell(column, row.properties.get(column.key))
            cells.append("" if value is None or value is pd.NA else csv_guard(value))
        writer.writerow([*cells, row.wkt or ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_value(column, value: Any) -> Any:
    if value is None:
        return None
    if column.key == "wwtp_status":
        return WWTP_LABELS_VI.get(value, value)
    if column.key == "operating_status":
        return OPERATING_LABELS_VI.get(value, value)
    if column.key == "geometry_source":
        return GEOMETRY_SOURCE_LABELS_VI.get(value, value)
    if column.kind == "list":
        return "; ".join(value)
    if column.kind == "bool":
        return "Có" if value else "Không"
    if column.kind == "number":
        return float(value)
    if column.kind == "date":
        return dt.date.fromisoformat(value)
    if column.kind == "datetime":
        return clock.local(dt.datetime.fromisoformat(value)).replace(tzinfo=None, microsecond=0)
    return value


XLSX_COLUMNS = (
    *(TableColumn(column.header_vi, column.number_format or None) for column in EXPORT_COLUMNS),
    TableColumn(LON_HEADER_VI, "0.000000"),
    TableColumn(LAT_HEADER_VI, "0.000000"),
)


def _xlsx(rows: list[_Row]) -> bytes:
    """One sheet (``spreadsheet.write_table``); the code and the name stay in view when scrolling right."""
    return table_workbook(
        "Khu, cụm công nghiệp",
        XLSX_COLUMNS,
        (
            [
                *(_xlsx_value(column, row.properties.get(column.key)) for column in EXPORT_COLUMNS),
                row.lon,
                row.lat,
            ]
            for row in rows
        ),
        title="Khu, cụm công nghiệp tỉnh Bắc Giang",
        freeze="C2",
    )


# typed GeoPackage layers, shared with the parcels export (khgeo/services/parcels/exporting.py)
write_layer = _write_layer
