"""What reading an import file gives (SourceData of RawFeatures), its limits, and the errors that refuse a file."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from khgeo.errors import ImportFileError

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_MEMBERS = 2000
# tables: a sheet 16,384 columns wide or a million rows long is not a list of zones, and reading one costs
# minutes of CPU in openpyxl and the column matcher: refused with a message instead
MAX_TABLE_COLUMNS = 200
MAX_TABLE_ROWS = 100_000
MAX_SNIFF_CHARS = 64 * 1024  # the CSV dialect is guessed from the start of the first line only
# a member this large may be compressed at most MAX_ZIP_RATIO : 1 (real GIS files stay well under 50 : 1)
ZIP_RATIO_MIN_BYTES = 1024 * 1024
MAX_ZIP_RATIO = 100
COPY_CHUNK = 1024 * 1024

FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".zip": "zip",
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".csv": "CSV",
    ".xlsx": "XLSX",
}
ACCEPTED_SUFFIXES = tuple(FORMATS)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
SQLITE_MAGIC = b"SQLite format 3\x00"


class LayerChoiceNeeded(ImportFileError):
    def __init__(self, layers: list[str]):
        super().__init__(
            _l(
                "The file holds several layers: choose one (%(layers)s).",
                layers=", ".join(layers),
            ),
            field="layer",
        )
        self.layers = layers


class EncodingNeeded(ImportFileError):
    def __init__(self, message):
        super().__init__(message, field="encoding")


@dataclass
class RawFeature:
    number: int  # 1-based position in the file
    attributes: dict[str, Any]
    geometry: BaseGeometry | None  # as read, in the file's coordinates
    geometry_error: Any = None  # why the geometry could not be read (a message)


@dataclass
class SourceData:
    file_name: str
    format: str
    columns: list[str]
    features: list[RawFeature]
    layer: str | None = None
    crs: CRS | None = None  # what the file declares (GeoJSON and KML: WGS 84 by definition)
    default_crs: CRS | None = None  # assumed when the file declares none and none is given (lon/lat columns)
    geometry_from: str = (
        ""  # how a table gives geometries: "wkt", "wkt wgs84", "lon/lat", "x/y"; "" otherwise
    )
    encoding: str | None = None
    warnings: list[Any] = field(default_factory=list)

    @property
    def has_geometries(self) -> bool:
        return any(f.geometry is not None for f in self.features)


def plain_value(value: Any) -> Any:
    """A cell as a plain Python value: None for every kind of missing, str in NFC, lists, dates."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    if isinstance(value, np.ndarray | list | tuple):
        items = [plain_value(v) for v in value]
        return [v for v in items if v is not None]
    if isinstance(value, np.datetime64):  # a Date or DateTime field read as numpy (NaT is missing)
        value = pd.Timestamp(value)
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, dt.datetime | dt.date | int):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
