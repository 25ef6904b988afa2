"""What the columns of a cadastral file mean, and which commune a unit code names.

Cadastral offices' files (ViLIS, TMV.LIS, MicroStation/Famis exports turned into Shapefiles or GeoPackages) name
their columns after the cadastral database of Circular 09/2007 and its successors: SoHieuToBanDo, SoThuTuThua,
DienTich, MaXa, KyHieuMucDichSuDung, TenChu… written in any case, sometimes with diacritics ("Số tờ"). A column
is recognised by its name folded (case, diacritics, spaces and punctuation ignored); the preview shows each
column's meaning, and the columns nobody recognises are listed as ignored.

Commune codes are the official 5-digit unit codes. Since 1 July 2025 the province's communes are the 99 units of
Resolution 1658/NQ-UBTVQH15 (data/units-2025/bacninh2025_communes.csv); files made before then carry the code of
the pre-2025 commune, which the crosswalk (data/units-2025/bacgiang_bacninh_old_to_new_2025.csv) maps to the 2025
unit that absorbed it — the preview says so. A code that is neither is refused.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from khgeo.config import PROJECT_ROOT
from khgeo.numbers import parse_decimal
from khgeo.text import fold

UNITS_DIR = PROJECT_ROOT / "data" / "units-2025"
COMMUNES_2025_CSV = UNITS_DIR / "bacninh2025_communes.csv"
CROSSWALK_CSV = UNITS_DIR / "bacgiang_bacninh_old_to_new_2025.csv"

# target → the names offices use, best first (compared folded: see column_key); a Shapefile cuts names to 10
# characters, so SoHieuToBanDo arrives as SoHieuToBa
PARCEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "sheet": (
        "SoHieuToBanDo",
        "SoTo",
        "SoToBanDo",
        "ToBanDo",
        "SHBanDo",
        "SoHieuToBa",
        "Số tờ",
        "Tờ bản đồ",
        "sheet",
    ),
    "number": (
        "SoThuTuThua",
        "SoThua",
        "SoHieuThua",
        "SHThua",
        "SoThuTuThu",
        "Số thửa",
        "Thửa",
        "number",
        "parcel",
    ),
    "old_sheet": ("SoHieuToBanDoCu", "SoToCu", "Số tờ cũ", "old_sheet"),
    "old_number": ("SoThuTuThuaCu", "SoThuaCu", "Số thửa cũ", "old_number"),
    "legal_area_m2": ("DienTichPhapLy", "DienTich", "DienTichPL", "Diện tích", "legal_area_m2"),
    "commune_code": ("MaXa", "KVHCID", "MaDVHC", "MaDonViHanhChinh", "Mã xã", "commune_code"),
    "land_type": (
        "KyHieuMucDichSuDung",
        "MaMucDichSuDung",
        "LoaiDat",
        "KHLoaiDat",
        "KyHieuMucD",
        "MucDichSuDung",
        "Loại đất",
        "land_type",
    ),
    "land_user_kind": ("DoiTuongSuDung", "MaDoiTuong", "DoiTuong", "LoaiChu", "land_user_kind"),
    "land_user_name": ("TenChu", "TenChuSuDung", "ChuSuDung", "Tên chủ", "land_user_name"),
    "address": ("DiaChi", "DiaChiThua", "Địa chỉ", "address"),
    "households": ("SoHo", "SoHoBiAnhHuong", "Số hộ", "households"),
    "people": ("SoNhanKhau", "SoNguoi", "Số nhân khẩu", "people"),
    "uid": ("MaDinhDanh", "PARCELID", "Mã định danh", "uid"),
}
TARGETS = tuple(PARCEL_COLUMNS)
TEXT_LIMITS = {"sheet": 20, "number": 20, "old_sheet": 20, "old_number": 20, "land_type": 20}
PERSONAL_TARGETS = ("land_user_name", "households", "people")
UID_PATTERN = re.compile(r"^[0-9b-hjkmnp-z]{12}$")
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash_centre(code: str) -> tuple[float, float]:
    """The WGS 84 longitude/latitude of the centre of a geohash cell (the inverse of identity.geohash)."""
    lon_range, lat_range = [-180.0, 180.0], [-90.0, 90.0]
    even = True
    for char in code:
        value = GEOHASH_ALPHABET.index(char)
        for bit in range(4, -1, -1):
            span = lon_range if even else lat_range
            middle = (span[0] + span[1]) / 2
            if value >> bit & 1:
                span[0] = middle
            else:
                span[1] = middle
            even = not even
    return (lon_range[0] + lon_range[1]) / 2, (lat_range[0] + lat_range[1]) / 2


def column_key(name: str) -> str:
    """A column name folded for matching: "SOHIEUTOBANDO", "SoHieuToBanDo" and "so_hieu_to_ban_do" agree."""
    return re.sub(r"[^a-z0-9]", "", fold(str(name)))


@functools.cache
def _names() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for target, names in PARCEL_COLUMNS.items():
        for rank, name in enumerate(names):
            table.setdefault(column_key(name), (target, rank))
    return table


def map_parcel_columns(columns: list[str]) -> dict[str, str | None]:
    """column → target (None: ignored). When two columns mean one thing, the better-known name wins
    (DienTichPhapLy over DienTich); the other is ignored."""
    names = _names()
    best: dict[str, tuple[int, str]] = {}
    for column in columns:
        found = names.get(column_key(column))
        if found and (found[0] not in best or found[1] < best[found[0]][0]):
            best[found[0]] = (found[1], column)
    chosen = {column: target for target, (_rank, column) in best.items()}
    return {column: chosen.get(column) for column in columns}


# -- values -----------------------------------------------------------------------------------------------------
def plain_text(value: Any) -> str | None:
    """A cell as text: numbers from DBF numeric fields lose their ".0" (sheet 12.0 is sheet "12")."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def decimal_value(value: Any) -> Decimal | None:
    """A number from a cell ("1.234,5" and "1234.5" alike); ValueError when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(value) from None
    return Decimal(str(parse_decimal(str(value).replace(" ", ""))))


# -- commune codes ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Commune:
    code: str
    full_name: str


@dataclass(frozen=True)
class CommuneCodes:
    current: dict[str, Commune]  # 2025 code → unit
    former: dict[str, tuple[str, Commune]]  # pre-2025 code → (its old name, the 2025 unit)


@functools.cache
def commune_codes() -> CommuneCodes:
    with open(COMMUNES_2025_CSV, encoding="utf-8", newline="") as handle:
        current = {row["code"]: Commune(row["code"], row["full_name"]) for row in csv.DictReader(handle)}
    former: dict[str, tuple[str, Commune]] = {}
    with open(CROSSWALK_CSV, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["old_code"] and row["new_code"] in current:
                former[row["old_code"]] = (row["old_name"], current[row["new_code"]])
    return CommuneCodes(current, former)


@dataclass(frozen=True)
class CommuneAnswer:
    code: str | None  # the 2025 code, None when refused
    error: Any = None
    note: Any = None  # said in the preview: a pre-2025 code mapped to its 2025 unit


def resolve_commune(value: Any) -> CommuneAnswer:
    """The 2025 unit code a file's MaXa names (a DBF number 7795 is 07795)."""
    text = plain_text(value)
    if text is None:
        return CommuneAnswer(None, _l("No commune code (MaXa): every parcel needs one."))
    if text.isdigit() and len(text) < 5:
        text = text.zfill(5)
    if not re.fullmatch(r"[0-9]{5}", text):
        return CommuneAnswer(
            None, _l("The commune code %(code)s is not a 5-digit unit code.", code=text[:40])
        )
    codes = commune_codes()
    if text in codes.current:
        return CommuneAnswer(text)
    if text in codes.former:
        old_name, unit = codes.former[text]
        return CommuneAnswer(
            unit.code,
            note=_l(
                "Commune code %(old)s (%(old_name)s, before 1 July 2025) is now %(new)s (%(new_name)s).",
                old=text,
                old_name=old_name,
                new=unit.code,
                new_name=unit.full_name,
            ),
        )
    return CommuneAnswer(
        None,
        _l(
            "Unknown commune code %(code)s: neither a unit of the province since 1 July 2025 nor one before.",
            code=text,
        ),
    )


def commune_name(code: str) -> str:
    unit = commune_codes().current.get(code)
    return unit.full_name if unit else ""


# the land user codes of the cadastral database (đối tượng sử dụng đất): GDC households and individuals,
# T… organisations (economic, state, public service, religious, foreign…); other codes are left to the reader
OFFICE_USER_KINDS = {"GDC": "household"} | {
    code: "organisation" for code in ("TKT", "TCC", "TSN", "TTG", "TLD", "TNG", "TVN", "TKQ", "TPQ")
}


def land_user_kind(value: Any) -> tuple[bool, str | None]:
    """(understood, key of codes.LAND_USER_KIND) for a cell: an office code (GDC, TKT…), a key or a label."""
    from khgeo.codes import LAND_USER_KIND

    text = plain_text(value)
    if text is None:
        return True, None
    if text.upper() in OFFICE_USER_KINDS:
        return True, OFFICE_USER_KINDS[text.upper()]
    understood, key = LAND_USER_KIND.lookup(text)
    return (understood and key is not None), key
