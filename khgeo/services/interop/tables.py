"""CSV and XLSX tables read in Python (bounded rows and columns), with point geometry from lon/lat, x/y or WKT columns."""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import shapely
import shapely.wkt
from flask_babel import lazy_gettext as _l
from pyproj import CRS
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from khgeo.numbers import parse_decimal
from khgeo.services.interop.encodings import decode_text
from khgeo.services.interop.field_names import (
    LAT_NAMES,
    LON_NAMES,
    WKT_NAMES,
    WKT_WGS84_NAMES,
    X_NAMES,
    Y_NAMES,
    column_key,
)
from khgeo.services.interop.source import (
    MAX_SNIFF_CHARS,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    ImportFileError,
    LayerChoiceNeeded,
    RawFeature,
    SourceData,
    plain_value,
)
from khgeo.services.interop.spreadsheet import csv_unguard

log = logging.getLogger(__name__)


# -- tables -----------------------------------------------------------------------------------------------------
def read_csv(path: Path, *, encoding: str | None) -> SourceData:
    text = decode_text(path.read_bytes(), encoding, "CSV")
    if not text.strip():
        raise ImportFileError(_l("The file is empty."))
    first_line = text[:MAX_SNIFF_CHARS].split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # only the delimiter is guessed: quoting is always the spreadsheets' ("" inside a quoted cell is one "),
    # which a header line without quotes would otherwise make the sniffer turn off
    try:
        rows = []
        for row in csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter):
            rows.append(row)
            check_table_size(len(rows), _width(row))
    except csv.Error:
        raise ImportFileError(_l("The CSV file is damaged (a quoted cell is never closed?).")) from None
    rows = [[csv_unguard(cell) for cell in row] for row in rows]  # khgeo's own formula guard
    return _table("CSV", rows, sheet=None, encoding=encoding or "utf-8")


def read_xlsx(path: Path, *, sheet: str | None) -> SourceData:
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=True)
            try:
                sheets = {ws.title: _sheet_rows(ws) for ws in workbook.worksheets}
            finally:
                workbook.close()
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        log.info("import: openpyxl cannot read %s: %s", path.name, exc)
        raise ImportFileError(_l("The file cannot be read as an Excel workbook (.xlsx).")) from None
    filled = [title for title, rows in sheets.items() if len(rows) > 1]
    if sheet is None:
        if len(filled) > 1:
            raise LayerChoiceNeeded(filled)
        if not filled:
            raise ImportFileError(_l("The file holds no features."))
        sheet = filled[0]
    elif sheet not in sheets:
        raise ImportFileError(
            _l(
                "No sheet named %(layer)s; the file holds: %(layers)s.", layer=sheet, layers=", ".join(sheets)
            ),
            field="layer",
        )
    return _table("XLSX", sheets[sheet], sheet=sheet, encoding=None)


def _sheet_rows(worksheet) -> list[list[Any]]:
    rows = []
    for row in worksheet.iter_rows(values_only=True, max_col=MAX_TABLE_COLUMNS + 1):
        if any(cell not in (None, "") for cell in row):
            rows.append(list(row))
            check_table_size(len(rows), _width(row))
    return rows


def _width(row) -> int:
    """Columns up to the last filled cell (read-only openpyxl pads rows with None up to max_col)."""
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if row[i] not in (None, "")), 0)


def check_table_size(rows: int, columns: int) -> None:
    if columns > MAX_TABLE_COLUMNS:
        raise ImportFileError(
            _l("The table has more than %(n)d columns: keep only the zones' columns.", n=MAX_TABLE_COLUMNS)
        )
    if rows > MAX_TABLE_ROWS + 1:  # + the header
        raise ImportFileError(
            _l("The table has more than %(n)d rows: split it into smaller files.", n=MAX_TABLE_ROWS)
        )


def _table(fmt: str, rows: list[list[Any]], *, sheet: str | None, encoding: str | None) -> SourceData:
    rows = [row for row in rows if any(str(cell or "").strip() for cell in row)]
    if not rows:
        raise ImportFileError(_l("The file is empty."))
    header = [str(cell).strip() if cell is not None else "" for cell in rows[0]]
    header = [unicodedata.normalize("NFC", name) for name in header]
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise ImportFileError(_l("Column names appear twice: %(names)s.", names=", ".join(duplicates)))
    records = []
    for row in rows[1:]:
        cells = list(row) + [None] * (len(header) - len(row))
        records.append({name: plain_value(cells[i]) for i, name in enumerate(header) if name})
    columns = [name for name in header if name]
    source = SourceData(
        file_name="", format=fmt, columns=columns, features=[], layer=sheet, encoding=encoding
    )
    geometry_columns = _geometry_columns(columns)
    features = []
    for i, record in enumerate(records):
        geometry, error = _table_geometry(record, geometry_columns)
        features.append(RawFeature(number=i + 1, attributes=record, geometry=geometry, geometry_error=error))
    source.features = features
    source.geometry_from = geometry_columns[0] if geometry_columns else ""
    if source.geometry_from in ("lon/lat", "wkt wgs84"):  # lon/lat and wkt_wgs84 say WGS 84 by their names
        source.default_crs = CRS.from_epsg(4326)
    return source


def _geometry_columns(columns: list[str]) -> tuple[str, str, str | None] | None:
    """("wkt"/"wkt wgs84", column, None), ("lon/lat", lon, lat) or ("x/y", x, y): a table's geometries."""
    by_key = {column_key(c): c for c in columns}

    def first(names):
        return next((by_key[n] for n in names if n in by_key), None)

    if wkt := first(WKT_WGS84_NAMES):
        return ("wkt wgs84", wkt, None)
    if wkt := first(WKT_NAMES):
        return ("wkt", wkt, None)
    lon, lat = first(LON_NAMES), first(LAT_NAMES)
    if lon and lat:
        return ("lon/lat", lon, lat)
    x, y = first(X_NAMES), first(Y_NAMES)
    if x and y:
        return ("x/y", x, y)
    return None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    # the one bounded parser (khgeo.numbers): "2345678,12" and "2.345.678,12" alike; NumberError is a ValueError
    return float(parse_decimal(str(value).replace(" ", "")))


def _table_geometry(record: dict, geometry_columns) -> tuple[BaseGeometry | None, Any]:
    if geometry_columns is None:
        return None, None
    how, first, second = geometry_columns
    if how.startswith("wkt"):
        text = record.get(first)
        if text is None:
            return None, None
        try:
            geometry = shapely.wkt.loads(str(text))
        except (shapely.errors.ShapelyError, ValueError, TypeError):
            return None, _l("The WKT in column %(column)s cannot be read.", column=first)
        return (None if geometry.is_empty else geometry), None
    x, y = record.get(first), record.get(second)
    if x is None and y is None:
        return None, None
    try:
        point = Point(_number(x), _number(y))
    except (TypeError, ValueError):
        return None, _l("The coordinates in %(x)s/%(y)s are not numbers.", x=first, y=second)
    return point, None
