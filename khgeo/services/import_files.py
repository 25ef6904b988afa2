"""Reading an import file safely into plain features, before anything touches the database.

- **Size first**: an empty file, a file above ``MAX_FILE_BYTES`` or something that is not a regular file is
  refused before it is opened. Uploads stop earlier, at Flask's MAX_CONTENT_LENGTH (64 MB).
- **Zip archives** (a zipped Shapefile, KMZ, XLSX) are inspected before anything is extracted: every member name
  (no absolute paths, drive letters or ".." components, no links), the member count, the total uncompressed size
  and each large member's compression ratio (zip bombs). Members are then extracted only into a private temporary
  directory, counting the bytes actually written, and the directory is removed afterwards.
- **Text encodings**: a DBF without a .cpg whose text is not UTF-8, or a CSV that is not UTF-8, needs the
  encoding to be named (``--encoding``); names written in the legacy Vietnamese font encodings (TCVN3/ABC, VNI)
  or UTF-8 read as Windows-1252 are recognised by ``text_problem`` so the importer can refuse them.
- GDAL (bundled with pyogrio) reads the vector formats; CSV and XLSX are read in Python. Nothing runs in a shell.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import math
import re
import sqlite3
import stat
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
import shapely.wkt
from flask_babel import lazy_gettext as _l
from pyproj import CRS
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from khgeo.errors import KhgeoError
from khgeo.numbers import parse_decimal
from khgeo.services.spreadsheet import csv_unguard
from khgeo.services.transfer_fields import (
    LAT_NAMES,
    LON_NAMES,
    WKT_NAMES,
    WKT_WGS84_NAMES,
    X_NAMES,
    Y_NAMES,
    column_key,
)

log = logging.getLogger(__name__)

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


class ImportFileError(KhgeoError):
    """The file cannot be imported as it is; the message says why and what to do."""

    status = 422


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


# -- entry point ------------------------------------------------------------------------------------------------
def read_source(
    path: Path | str, *, file_name: str | None = None, layer: str | None = None, encoding: str | None = None
) -> SourceData:
    """Read ``path`` (its format from ``file_name``'s suffix) into features; raise ImportFileError if it can't."""
    path = Path(path)
    file_name = file_name or path.name
    check_size(path)
    suffix = _suffix(file_name)
    if encoding:
        encoding = _check_encoding_name(encoding)
    with tempfile.TemporaryDirectory(prefix="khgeo-import-") as workdir:
        source = _read(path, FORMATS[suffix], Path(workdir), layer=layer, encoding=encoding)
    source.file_name = file_name
    if not source.features:
        raise ImportFileError(_l("The file holds no features."))
    return source


def check_size(path: Path) -> int:
    try:
        info = path.stat()
    except OSError:
        raise ImportFileError(_l("The file cannot be opened.")) from None
    if not stat.S_ISREG(info.st_mode):
        raise ImportFileError(_l("This is not a regular file."))
    if info.st_size == 0:
        raise ImportFileError(_l("The file is empty."))
    if info.st_size > MAX_FILE_BYTES:
        raise ImportFileError(
            _l(
                "The file is too large (%(size)d MB; at most %(limit)d MB).",
                size=info.st_size // 2**20,
                limit=MAX_FILE_BYTES // 2**20,
            )
        )
    return info.st_size


def _suffix(file_name: str) -> str:
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if suffix not in FORMATS:
        raise ImportFileError(
            _l(
                "Unsupported file type %(suffix)s: use GeoJSON, a zipped Shapefile, GeoPackage, KML/KMZ, CSV or XLSX.",
                suffix=suffix or "(none)",
            )
        )
    return suffix


def _check_encoding_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingNeeded(_l("Unknown text encoding %(name)s.", name=encoding)) from None


def _read(path: Path, fmt: str, workdir: Path, *, layer: str | None, encoding: str | None) -> SourceData:
    head = _head(path)
    if fmt in ("zip", "KMZ", "XLSX") and not head.startswith(ZIP_MAGIC):
        raise ImportFileError(_l("This is not a zip archive (the file's content does not match its name)."))
    if fmt == "GeoPackage" and not head.startswith(SQLITE_MAGIC):
        raise ImportFileError(_l("This is not a GeoPackage (the file's content does not match its name)."))
    if fmt == "zip":
        extract_zip(path, workdir)
        inner, inner_fmt, layer = _dataset_in(workdir, layer)
        return _read(inner, inner_fmt, workdir / ".inner", layer=layer, encoding=encoding)
    if fmt == "KMZ":
        extract_zip(path, workdir)
        kml = _kml_in(workdir)
        return _read_vector(kml, "KML", layer=layer, encoding=None)
    if fmt == "XLSX":
        inspect_zip(path)
        return _read_xlsx(path, sheet=layer)
    if fmt == "CSV":
        return _read_csv(path, encoding=encoding)
    if fmt == "GeoJSON":
        path = _utf8_geojson(path, workdir, encoding)
        return _read_vector(path, fmt, layer=layer, encoding=None)
    if fmt == "Shapefile":
        _check_shapefile_parts(path)
        return _read_vector(path, fmt, layer=None, encoding=_shapefile_encoding(path, encoding))
    return _read_vector(path, fmt, layer=layer, encoding=None)


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


# -- zip archives -----------------------------------------------------------------------------------------------
def _unsafe_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if not name or name.startswith("/") or "\x00" in name or re.match(r"^[A-Za-z]:", name):
        return True
    if any(part == ".." for part in name.split("/")):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def inspect_zip(path: Path) -> list[zipfile.ZipInfo]:
    """The members of a zip, refused if any name is unsafe or it would unpack to too much (zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportFileError(_l("The zip archive is damaged or incomplete.")) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportFileError(_l("The zip archive holds too many files (%(n)d).", n=len(members)))
    total = 0
    for info in members:
        if _unsafe_member(info):
            raise ImportFileError(
                _l(
                    "The zip archive holds an unsafe file name (%(name)s): refused, nothing was extracted.",
                    name=info.filename[:200],
                )
            )
        if info.flag_bits & 0x1:
            raise ImportFileError(_l("The zip archive is encrypted."))
        total += info.file_size
        ratio_too_high = info.file_size > max(ZIP_RATIO_MIN_BYTES, info.compress_size * MAX_ZIP_RATIO)
        if ratio_too_high or total > MAX_UNZIPPED_BYTES:
            raise ImportFileError(
                _l(
                    "The zip archive would unpack to far more than it holds (a zip bomb?): refused, nothing was extracted."
                )
            )
    return members


def extract_zip(path: Path, destination: Path) -> None:
    """Extract a zip that passed inspect_zip into ``destination``, never writing more than it declared."""
    members = inspect_zip(path)
    root = destination.resolve()
    written_total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in members:
                target = (root / info.filename.replace("\\", "/")).resolve()
                if not target.is_relative_to(root):
                    raise ImportFileError(_l("The zip archive holds an unsafe file name."))
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with archive.open(info) as source, open(target, "xb") as sink:
                    while chunk := source.read(COPY_CHUNK):
                        written += len(chunk)
                        written_total += len(chunk)
                        if written > info.file_size or written_total > MAX_UNZIPPED_BYTES:
                            raise ImportFileError(_l("The zip archive is damaged or incomplete."))
                        sink.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise ImportFileError(_l("The zip archive is damaged or incomplete.")) from None


def _visible_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "__MACOSX" not in p.parts and not p.name.startswith(("._", "."))
    )


def _dataset_in(root: Path, layer: str | None) -> tuple[Path, str, str | None]:
    """The dataset a zip holds: a Shapefile (several: choose one by name), or one other supported file."""
    files = _visible_files(root)
    shapefiles = [p for p in files if p.suffix.lower() == ".shp"]
    if shapefiles:
        names = [p.stem for p in shapefiles]
        if layer is None and len(shapefiles) > 1:
            raise LayerChoiceNeeded(names)
        if layer is not None and layer not in names:
            raise ImportFileError(
                _l(
                    "No layer named %(layer)s; the file holds: %(layers)s.",
                    layer=layer,
                    layers=", ".join(names),
                ),
                field="layer",
            )
        shp = shapefiles[names.index(layer)] if layer is not None else shapefiles[0]
        return shp, "Shapefile", None
    others = [p for p in files if p.suffix.lower() in FORMATS and p.suffix.lower() not in (".zip", ".kmz")]
    if len(others) == 1:
        return others[0], FORMATS[others[0].suffix.lower()], layer
    if not others:
        raise ImportFileError(
            _l("The zip archive holds no Shapefile (.shp with .shx and .dbf) or other map file.")
        )
    raise ImportFileError(
        _l(
            "The zip archive holds several files: %(names)s. Zip one dataset at a time.",
            names=", ".join(p.name for p in others),
        )
    )


def _check_shapefile_parts(shp: Path) -> None:
    missing = [suffix for suffix in (".shx", ".dbf") if _sibling(shp, suffix) is None]
    if missing:
        raise ImportFileError(
            _l(
                "The Shapefile %(name)s is incomplete: %(missing)s missing. Zip the .shp with its .shx, .dbf, .prj and .cpg files.",
                name=shp.name,
                missing=", ".join(missing),
            )
        )


def _kml_in(root: Path) -> Path:
    kmls = [p for p in _visible_files(root) if p.suffix.lower() == ".kml"]
    preferred = [p for p in kmls if p.name.lower() == "doc.kml"]
    if preferred:
        return preferred[0]
    if len(kmls) == 1:
        return kmls[0]
    raise ImportFileError(_l("The KMZ holds no single KML document."))


# -- text encodings ---------------------------------------------------------------------------------------------
def _utf8_ok(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a UTF-8 character cut by a fixed-width DBF field is not a wrong encoding
        return exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3
    return True


def dbf_text_is_utf8(dbf: Path) -> bool:
    """Whether every text field of a dBASE file decodes as UTF-8 (pure ASCII does)."""
    with open(dbf, "rb") as handle:
        header = handle.read(32)
        if len(header) < 32:
            return True
        records = int.from_bytes(header[4:8], "little")
        header_length = int.from_bytes(header[8:10], "little")
        record_length = int.from_bytes(header[10:12], "little")
        text_fields = []
        offset = 1  # the deletion flag
        while handle.tell() + 32 <= header_length:
            descriptor = handle.read(32)
            if len(descriptor) < 32 or descriptor[0] == 0x0D:
                break
            width = descriptor[16]
            if chr(descriptor[11]) == "C":
                text_fields.append((offset, width))
            offset += width
        if not text_fields or record_length <= 0:
            return True
        handle.seek(header_length)
        for _ in range(records):
            record = handle.read(record_length)
            if len(record) < record_length:
                break
            for start, width in text_fields:
                if not _utf8_ok(record[start : start + width].rstrip(b" \x00")):
                    return False
    return True


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in path.parent.iterdir():
        if candidate.stem == path.stem and candidate.suffix.lower() == suffix:
            return candidate
    return None


def _shapefile_encoding(shp: Path, encoding: str | None) -> str | None:
    """The encoding to read a Shapefile's DBF with: the one given, else its .cpg's, else UTF-8 if the text is."""
    if encoding:
        return encoding
    if _sibling(shp, ".cpg") is not None:
        return None  # GDAL reads the .cpg
    dbf = _sibling(shp, ".dbf")
    if dbf is None or dbf_text_is_utf8(dbf):
        return "UTF-8"
    raise EncodingNeeded(
        _l(
            "The Shapefile has no .cpg file saying how its text is encoded, and the text is not UTF-8. "
            "Name the encoding (for example cp1258, Windows Vietnamese). If the names were typed with a TCVN3 (ABC) "
            "or VNI font, convert the file to Unicode first (for example with Unikey's converter)."
        )
    )


def _decode(data: bytes, encoding: str | None, what: str) -> str:
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError:
        if encoding:
            raise EncodingNeeded(
                _l("The %(what)s file cannot be read as %(encoding)s.", what=what, encoding=encoding)
            ) from None
        raise EncodingNeeded(
            _l(
                "The %(what)s file is not UTF-8: save it as UTF-8, or name its encoding (for example cp1258, Windows Vietnamese).",
                what=what,
            )
        ) from None
    return unicodedata.normalize("NFC", text)


def _utf8_geojson(path: Path, workdir: Path, encoding: str | None) -> Path:
    """GeoJSON is UTF-8 by definition; a file in another encoding is re-encoded when its encoding is named."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(COPY_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return path
    except UnicodeDecodeError:
        pass
    if not encoding or encoding == "utf-8":
        raise EncodingNeeded(_l("The GeoJSON file is not UTF-8: save it as UTF-8, or name its encoding."))
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "recoded.geojson"
    target.write_text(_decode(path.read_bytes(), encoding, "GeoJSON"), encoding="utf-8")
    return target


# The letters of Vietnamese that only Unicode has (ă đ ĩ ũ ơ ư and every precomposed tone mark, U+1EA0–U+1EF9)
_UNICODE_VIETNAMESE = re.compile("[ĂăĐđĨĩŨũƠơƯư\u1ea0-\u1ef9]")
# Latin-1 letters Vietnamese uses; every other character of U+00A1–U+00FF (and the soft hyphen) in a name is a
# byte of a TCVN3 (ABC) or VNI font shown as Windows-1252: "§ång §×nh" is Đồng Đình in TCVN3, "Ñoàng" in VNI.
_VIETNAMESE_LATIN1 = set("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
_LEGACY_FONT_CHARS = {chr(code) for code in range(0xA1, 0x100)} - _VIETNAMESE_LATIN1
# VNI writes Đ/đ as Ñ/ñ and tone marks as separate bytes after the vowel ("chaøo" is chào)
_VNI_HINT = re.compile("[Ññ]|[aeiouyAEIOUY][øùûõï]")


def text_problem(text: str) -> str | None:
    """What is wrong with a name's encoding: "mojibake" (UTF-8 shown as Windows-1252), "tcvn3", "vni", or None."""
    if not text or text.isascii():
        return None
    for legacy in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(legacy).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != text:
            return "mojibake"
    if _UNICODE_VIETNAMESE.search(text) or not any(ch in _LEGACY_FONT_CHARS for ch in text):
        return None
    return "vni" if _VNI_HINT.search(text) else "tcvn3"


# -- vector formats through GDAL --------------------------------------------------------------------------------
def _read_vector(path: Path, fmt: str, *, layer: str | None, encoding: str | None) -> SourceData:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
            if not layers:
                raise ImportFileError(_l("The file holds no features."))
            if layer is None:
                if len(layers) > 1:
                    raise LayerChoiceNeeded(layers)
                layer = layers[0]
            elif layer not in layers:
                raise ImportFileError(
                    _l(
                        "No layer named %(layer)s; the file holds: %(layers)s.",
                        layer=layer,
                        layers=", ".join(layers),
                    ),
                    field="layer",
                )
            if fmt == "GeoPackage":
                _refuse_geopackage_views(path, layer)
            info = pyogrio.read_info(path, layer=layer, encoding=encoding)
            _check_table_size(0, len(info["fields"]))
            # a bounded read: at most one feature more than allowed, so a huge layer is refused, not loaded
            frame = pyogrio.read_dataframe(
                path, layer=layer, encoding=encoding, max_features=MAX_TABLE_ROWS + 1
            )
            _check_table_size(len(frame) + 1, 0)  # + the header, as tables count it
        except ImportFileError:
            raise
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            log.info("import: GDAL cannot open %s: %s", path.name, exc)
            raise ImportFileError(
                _l("The file cannot be read as %(format)s: it is damaged or in another format.", format=fmt)
            ) from None
        except (pyogrio.errors.FeatureError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
            log.info("import: GDAL cannot read %s: %s", path.name, exc)
            raise ImportFileError(
                _l("The file cannot be read as %(format)s: some of its content is damaged.", format=fmt)
            ) from None
        except pyogrio.errors.CRSError:
            raise ImportFileError(
                _l("The file's coordinate reference system cannot be understood.")
            ) from None
    for warning in caught:
        log.info("import: GDAL says about %s: %s", path.name, warning.message)
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    columns = [str(c) for c in frame.columns if c != geometry_name]
    geometries = list(frame.geometry.values) if geometry_name else [None] * len(frame)
    records = frame[columns].to_dict("records") if columns else [{} for _ in range(len(frame))]
    features = [
        RawFeature(
            number=i + 1,
            attributes={name: plain_value(value) for name, value in record.items()},
            geometry=None if geometry is None or geometry.is_empty else geometry,
        )
        for i, (record, geometry) in enumerate(zip(records, geometries, strict=True))
    ]
    crs = CRS.from_user_input(frame.crs) if getattr(frame, "crs", None) is not None else None
    return SourceData(
        file_name=path.name,
        format=fmt,
        columns=columns,
        features=features,
        layer=layer if len(layers) > 1 else None,
        crs=crs,
        encoding=encoding,
    )


def _refuse_geopackage_views(path: Path, layer: str) -> None:
    """A GeoPackage layer may be an SQL view, which SQLite computes on every read with no bound on its CPU (a
    recursive or cross-joined view can run for hours): only tables are imported. Read with SQLite itself, read-only."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT type FROM sqlite_master WHERE name = ?", (layer,)).fetchone()
    except sqlite3.DatabaseError:
        return  # GDAL reports what is wrong with the file
    if row is not None and row[0] != "table":
        raise ImportFileError(
            _l(
                "The layer %(layer)s is a database view, not a table: save it as a table (e.g. export the layer "
                "again from QGIS) and import that.",
                layer=layer,
            ),
            field="layer",
        )


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


# -- tables -----------------------------------------------------------------------------------------------------
def _read_csv(path: Path, *, encoding: str | None) -> SourceData:
    text = _decode(path.read_bytes(), encoding, "CSV")
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
            _check_table_size(len(rows), _width(row))
    except csv.Error:
        raise ImportFileError(_l("The CSV file is damaged (a quoted cell is never closed?).")) from None
    rows = [[csv_unguard(cell) for cell in row] for row in rows]  # khgeo's own formula guard
    return _table("CSV", rows, sheet=None, encoding=encoding or "utf-8")


def _read_xlsx(path: Path, *, sheet: str | None) -> SourceData:
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
            _check_table_size(len(rows), _width(row))
    return rows


def _width(row) -> int:
    """Columns up to the last filled cell (read-only openpyxl pads rows with None up to max_col)."""
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if row[i] not in (None, "")), 0)


def _check_table_size(rows: int, columns: int) -> None:
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
