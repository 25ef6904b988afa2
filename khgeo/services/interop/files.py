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
import logging
import sqlite3
import stat
import tempfile
import warnings
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio
import pyogrio.errors
from flask_babel import lazy_gettext as _l
from pyproj import CRS

from khgeo.services.interop.encodings import shapefile_encoding, utf8_geojson
from khgeo.services.interop.source import (
    FORMATS,
    MAX_FILE_BYTES,
    MAX_TABLE_ROWS,
    SQLITE_MAGIC,
    ZIP_MAGIC,
    EncodingNeeded,
    ImportFileError,
    LayerChoiceNeeded,
    RawFeature,
    SourceData,
    plain_value,
)
from khgeo.services.interop.tables import check_table_size, read_csv, read_xlsx
from khgeo.services.interop.zip_safety import (
    check_shapefile_parts,
    dataset_in,
    extract_zip,
    inspect_zip,
    kml_in,
)

log = logging.getLogger(__name__)


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
        inner, inner_fmt, layer = dataset_in(workdir, layer)
        return _read(inner, inner_fmt, workdir / ".inner", layer=layer, encoding=encoding)
    if fmt == "KMZ":
        extract_zip(path, workdir)
        kml = kml_in(workdir)
        return _read_vector(kml, "KML", layer=layer, encoding=None)
    if fmt == "XLSX":
        inspect_zip(path)
        return read_xlsx(path, sheet=layer)
    if fmt == "CSV":
        return read_csv(path, encoding=encoding)
    if fmt == "GeoJSON":
        path = utf8_geojson(path, workdir, encoding)
        return _read_vector(path, fmt, layer=layer, encoding=None)
    if fmt == "Shapefile":
        check_shapefile_parts(path)
        return _read_vector(path, fmt, layer=None, encoding=shapefile_encoding(path, encoding))
    return _read_vector(path, fmt, layer=layer, encoding=None)


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


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
            check_table_size(0, len(info["fields"]))
            # a bounded read: at most one feature more than allowed, so a huge layer is refused, not loaded
            frame = pyogrio.read_dataframe(
                path, layer=layer, encoding=encoding, max_features=MAX_TABLE_ROWS + 1
            )
            check_table_size(len(frame) + 1, 0)  # + the header, as tables count it
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
