"""How the coordinates of an import file become WGS 84: the CRSs offered by name, parsing a CRS typed by a user, and
the reprojection, with VN-2000 always through EPSG:6960 (why: khgeo/services/interop/import_plan.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _l
from pyproj import CRS, Transformer
from pyproj.database import query_crs_info
from pyproj.enums import PJType
from pyproj.exceptions import CRSError

from khgeo.errors import ImportFileError
from khgeo.geo import crs as geo_crs
from khgeo.text import fold

VN2000_TRANSFORMATION = (
    'EPSG:6960 "VN-2000 to WGS 84 (2)": the seven parameters of Decision 05/2007/QĐ-BTNMT '
    "(ΔX −191.90441429 m, ΔY −39.30318279 m, ΔZ −111.45032835 m, rotations −0.00928836″ / +0.01975479″ / "
    "−0.00427372″ coordinate frame, scale +0.252906278 ppm), accuracy ~1 m"
)


class CrsNeeded(ImportFileError):
    def __init__(self, message):
        super().__init__(message, field="crs")


# -- coordinate reference systems -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrsOption:
    value: str  # "EPSG:9214"
    label: str


@functools.cache
def crs_options() -> tuple[CrsOption, ...]:
    """The CRSs offered by name: Bắc Giang's VN-2000 TM-3 first, the other provincial TM-3 zones, then others."""
    tm3 = {
        int(info.code): info.name
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if info.name.startswith("VN-2000 / TM-3") and not info.deprecated
    }
    bac_giang = geo_crs.BAC_GIANG_VN2000_EPSG
    options = [CrsOption(f"EPSG:{bac_giang}", f"{tm3.pop(bac_giang)} — Bắc Giang (EPSG:{bac_giang})")]
    options += [CrsOption(f"EPSG:{code}", f"{name} (EPSG:{code})") for code, name in sorted(tm3.items())]
    options += [
        CrsOption("EPSG:3405", "VN-2000 / UTM zone 48N (EPSG:3405)"),
        CrsOption("EPSG:4756", "VN-2000, longitude/latitude (EPSG:4756)"),
        CrsOption("EPSG:4326", "WGS 84, longitude/latitude (EPSG:4326)"),
        CrsOption("EPSG:32648", "WGS 84 / UTM zone 48N (EPSG:32648)"),
    ]
    return tuple(options)


def parse_crs(raw: str) -> CRS:
    """A CRS from "EPSG:9214", "9214", an OGC URI, a name from crs_options(), or anything pyproj reads."""
    value = raw.strip()
    for option in crs_options():
        if fold(value) in (fold(option.value), fold(option.label), fold(option.label.split(" (EPSG")[0])):
            value = option.value
            break
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return CRS.from_user_input(value)
    except CRSError:
        raise CrsNeeded(
            _l(
                "Unknown coordinate reference system %(crs)s: give an EPSG code such as EPSG:9214 (VN-2000 / TM-3 107-00, Bắc Giang).",
                crs=raw[:100],
            )
        ) from None


def _unbound(crs: CRS) -> CRS:
    """A bound CRS's source CRS (the file's own datum shift is not used: see reprojection), else the CRS."""
    return crs.source_crs if crs.is_bound and crs.source_crs is not None else crs


def crs_label(crs: CRS) -> str:
    base = _unbound(crs)
    epsg = base.to_epsg(min_confidence=70)
    return f"{base.name} (EPSG:{epsg})" if epsg else base.name


def is_vn2000(crs: CRS) -> bool:
    base = _unbound(crs)
    geodetic = base.geodetic_crs
    if geodetic is None or geodetic.datum is None:
        return False
    key = re.sub(r"[^a-z0-9]", "", fold(geodetic.datum.name))
    return "vietnam2000" in key or "vn2000" in key


def _is_wgs84_lonlat(crs: CRS) -> bool:
    return crs.to_epsg(min_confidence=70) == 4326 or crs.equals(CRS.from_user_input("OGC:CRS84"))


@dataclass
class Reprojection:
    """How coordinates become WGS 84 longitude/latitude; ``transform`` is None when they already are."""

    source: str
    transformation: str
    transform: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]] | None = None
    geographic: bool = False
    warnings: list[Any] = field(default_factory=list)


def reprojection(crs: CRS) -> Reprojection:
    base = _unbound(crs)
    label = crs_label(crs)
    if is_vn2000(base):
        epsg = base.to_epsg(min_confidence=70)
        transform: Callable[[Any, Any], tuple[Any, Any]]
        if epsg == geo_crs.VN2000_GEOGRAPHIC_EPSG or epsg in geo_crs.VN2000_TM3_EPSG:
            transform = geo_crs.to_wgs84(epsg).transform
        else:  # another projection on VN-2000 (UTM, a .prj pyproj cannot name): to VN-2000 lon/lat, then 6960
            to_geographic = Transformer.from_crs(base, base.geodetic_crs, always_xy=True)
            to_wgs84 = geo_crs.to_wgs84(geo_crs.VN2000_GEOGRAPHIC_EPSG)

            def via_geographic(x, y):
                return to_wgs84.transform(*to_geographic.transform(x, y))

            transform = via_geographic

        result = Reprojection(label, VN2000_TRANSFORMATION, transform, base.is_geographic)
        if crs.is_bound:
            result.warnings.append(
                _l(
                    "The file states its own datum shift for VN-2000; it was ignored and EPSG:6960 applied instead."
                )
            )
        return result
    if _is_wgs84_lonlat(base):
        return Reprojection(label, str(_l("none (already WGS 84)")), None, True)
    transformer = Transformer.from_crs(crs, CRS.from_epsg(geo_crs.STORAGE_SRID), always_xy=True)
    if "ballpark" in transformer.description.lower():
        raise CrsNeeded(
            _l(
                "No known datum transformation from %(crs)s to WGS 84: outlines could land hundreds of metres away. Convert the file to VN-2000 or WGS 84 first.",
                crs=label,
            )
        )
    return Reprojection(label, transformer.description, transformer.transform, base.is_geographic)
