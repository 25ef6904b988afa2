"""Zip archives (a zipped Shapefile, KMZ) inspected before anything is extracted, then extracted safely.

Every member name is checked (no absolute paths, drive letters or ".." components, no links), the member count,
the total uncompressed size and each large member's compression ratio (zip bombs); members are extracted only into
a private temporary directory, counting the bytes actually written.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

from flask_babel import lazy_gettext as _l

from khgeo.services.interop.encodings import sibling_file
from khgeo.services.interop.source import (
    COPY_CHUNK,
    FORMATS,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    ZIP_RATIO_MIN_BYTES,
    ImportFileError,
    LayerChoiceNeeded,
)


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


def dataset_in(root: Path, layer: str | None) -> tuple[Path, str, str | None]:
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


def check_shapefile_parts(shp: Path) -> None:
    missing = [suffix for suffix in (".shx", ".dbf") if sibling_file(shp, suffix) is None]
    if missing:
        raise ImportFileError(
            _l(
                "The Shapefile %(name)s is incomplete: %(missing)s missing. Zip the .shp with its .shx, .dbf, .prj and .cpg files.",
                name=shp.name,
                missing=", ".join(missing),
            )
        )


def kml_in(root: Path) -> Path:
    kmls = [p for p in _visible_files(root) if p.suffix.lower() == ".kml"]
    preferred = [p for p in kmls if p.name.lower() == "doc.kml"]
    if preferred:
        return preferred[0]
    if len(kmls) == 1:
        return kmls[0]
    raise ImportFileError(_l("The KMZ holds no single KML document."))
