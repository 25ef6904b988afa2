"""The columns of a zone in exported files and how an imported file's columns map back to zone fields.

Every export is built from the one serialisation of a zone (``khgeo.services.zones.feature_select``): its
GeoJSON properties are ``EXPORT_COLUMNS`` below, each with the Vietnamese header used in XLSX and the ≤ 10
character field name used in Shapefiles (dBASE limits names to 10 characters):

==================== ========== ==========================================
property (GeoJSON,   Shapefile  XLSX header
GPKG, CSV)
==================== ========== ==========================================
code                 code       Mã
name                 name       Tên
kind                 kind       Loại
district             district   Huyện
district_code        dist_code  Mã huyện
communes             communes   Xã
aliases              aliases    Tên khác
area_ha              area_ha    Diện tích quy hoạch (ha)
computed_area_ha     comp_ha    Diện tích theo ranh giới (ha)
clearance_area_ha    clear_ha   Diện tích phải GPMB (ha)
cleared_area_ha      cleared_ha Diện tích đã GPMB (ha)
clearance_pct        clear_pct  Tỷ lệ GPMB (%)
clearance_incomplete clear_inc  GPMB chưa xong
households_total     hh_total   Số hộ bị ảnh hưởng
households_agreed    hh_agreed  Số hộ đã đồng thuận
wwtp_status          wwtp       Xử lý nước thải
wwtp_capacity_m3_day wwtp_cap   Công suất XLNT (m³/ngày)
infrastructure_pct   infra_pct  Hạ tầng hoàn thành (%)
occupancy_pct        occup_pct  Tỷ lệ lấp đầy (%)
operating_status     op_status  Tình trạng hoạt động
developer            developer  Chủ đầu tư
geometry_source      geom_src   Nguồn ranh giới
as_of                as_of      Số liệu tính đến ngày
version              version    Phiên bản
updated_at           updated    Cập nhật lúc
==================== ========== ==========================================

An import recognises a column by its name folded (case, diacritics, spaces and punctuation ignored: "Tên",
"TEN", "ten" are one name): any property name, Shapefile name or XLSX header above, plus the synonyms in
``IMPORT_SYNONYMS`` (e.g. "loai" → kind, "dien_tich" → stated area). Computed and bookkeeping columns (computed
area, clearance %, version, …) are recognised and ignored, so a file khgeo exported imports back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from khgeo.codes import GEOMETRY_SOURCE, OPERATING_STATUS, WWTP_STATUS
from khgeo.text import slugify

# Vietnamese labels of stored codes, for XLSX (a file is read outside any request): from the codes table
WWTP_LABELS_VI = {k: v for k, v in WWTP_STATUS.labels_vi().items() if k is not None}
OPERATING_LABELS_VI = OPERATING_STATUS.labels_vi()
GEOMETRY_SOURCE_LABELS_VI = GEOMETRY_SOURCE.labels_vi()


@dataclass(frozen=True)
class Column:
    key: str  # the GeoJSON property
    header_vi: str  # XLSX header
    shp: str  # Shapefile field name, ≤ 10 characters
    target: str | None  # the zone field an import writes; None: recognised and ignored
    kind: str  # text, list, number, integer, date, datetime, bool
    number_format: str = ""  # XLSX


EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("code", "Mã", "code", "code", "text"),
    Column("name", "Tên", "name", "name", "text"),
    Column("kind", "Loại", "kind", "kind", "text"),
    Column("district", "Huyện", "district", "district", "text"),
    Column("district_code", "Mã huyện", "dist_code", "district", "text"),
    Column("communes", "Xã", "communes", "communes", "list"),
    Column("aliases", "Tên khác", "aliases", "aliases", "list"),
    Column("area_ha", "Diện tích quy hoạch (ha)", "area_ha", "stated_area_ha", "number", "#,##0.00"),
    Column("computed_area_ha", "Diện tích theo ranh giới (ha)", "comp_ha", None, "number", "#,##0.00"),
    Column(
        "clearance_area_ha", "Diện tích phải GPMB (ha)", "clear_ha", "clearance_area_ha", "number", "#,##0.00"
    ),
    Column(
        "cleared_area_ha", "Diện tích đã GPMB (ha)", "cleared_ha", "cleared_area_ha", "number", "#,##0.00"
    ),
    Column("clearance_pct", "Tỷ lệ GPMB (%)", "clear_pct", None, "number", "0.0"),
    Column("households_total", "Số hộ bị ảnh hưởng", "hh_total", "households_total", "integer", "#,##0"),
    Column("households_agreed", "Số hộ đã đồng thuận", "hh_agreed", "households_agreed", "integer", "#,##0"),
    # computed from the current figures (zones.clearance_incomplete_now), never a stale stored flag
    Column("clearance_incomplete", "GPMB chưa xong", "clear_inc", None, "bool"),
    # the clearance figures follow from the zone's parcels (khgeo.services.parcels.derive)
    Column("clearance_from_parcels", "GPMB theo thửa đất", "clr_parcel", None, "bool"),
    Column("parcel_count", "Số thửa đất", "parcels", None, "integer", "#,##0"),
    Column("wwtp_status", "Xử lý nước thải", "wwtp", "wwtp_status", "text"),
    Column(
        "wwtp_capacity_m3_day",
        "Công suất XLNT (m³/ngày)",
        "wwtp_cap",
        "wwtp_capacity_m3_day",
        "number",
        "#,##0.0",
    ),
    Column(
        "infrastructure_pct", "Hạ tầng hoàn thành (%)", "infra_pct", "infrastructure_pct", "number", "0.0"
    ),
    Column("occupancy_pct", "Tỷ lệ lấp đầy (%)", "occup_pct", "occupancy_pct", "number", "0.0"),
    Column("operating_status", "Tình trạng hoạt động", "op_status", "operating_status", "text"),
    Column("developer", "Chủ đầu tư", "developer", "developer", "text"),
    Column("geometry_source", "Nguồn ranh giới", "geom_src", None, "text"),
    Column("as_of", "Số liệu tính đến ngày", "as_of", "as_of", "date", "dd/mm/yyyy"),
    Column("version", "Phiên bản", "version", None, "integer", "0"),
    Column("updated_at", "Cập nhật lúc", "updated", None, "datetime", "dd/mm/yyyy hh:mm"),
)
# XLSX only: a point inside the outline (the outline itself does not fit a spreadsheet cell)
LON_HEADER_VI, LAT_HEADER_VI = "Kinh độ", "Vĩ độ"
# CSV only: the outline as WKT in WGS 84 lon/lat; the name says so, so an import needs no CRS for it
WKT_COLUMN = "wkt_wgs84"

# What an import may write, with the kind of value each field takes
IMPORT_TARGETS: dict[str, str] = {
    "code": "text",
    "name": "text",
    "aliases": "list",
    "kind": "text",
    "district": "text",
    "communes": "list",
    "stated_area_ha": "number",
    "developer": "text",
    "operating_status": "text",
    "clearance_area_ha": "number",
    "cleared_area_ha": "number",
    "households_total": "integer",
    "households_agreed": "integer",
    "wwtp_status": "text",
    "wwtp_capacity_m3_day": "number",
    "infrastructure_pct": "number",
    "occupancy_pct": "number",
    "as_of": "date",
}
IGNORED = "ignored"  # a recognised column an import does not write (computed or bookkeeping)

# Folded column names besides those of EXPORT_COLUMNS, in order of preference within a field (a file with both
# "district_code" and "district" is matched on the code).
IMPORT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("code", "ma", "ma_khu", "ma_kcn", "ma_ccn", "zone_code"),
    "name": ("name", "ten", "ten_khu", "ten_kcn", "ten_ccn", "ten_khu_cum", "zone", "zone_name", "khu"),
    "aliases": ("aliases", "alias", "ten_khac"),
    "kind": ("kind", "loai", "loai_khu", "loai_hinh", "type"),
    "district": (
        "district_code",
        "dist_code",
        "ma_huyen",
        "district",
        "huyen",
        "quan_huyen",
        "huyen_thanh_pho",
    ),
    "communes": ("communes", "commune", "xa", "xa_phuong", "xa_phuong_thi_tran"),
    "stated_area_ha": (
        "stated_area_ha",
        "area_ha",
        "dien_tich_quy_hoach_ha",
        "dien_tich",
        "dien_tich_ha",
        "dt_ha",
        "quy_mo",
        "quy_mo_ha",
        "area",
    ),
    "developer": ("developer", "chu_dau_tu", "nha_dau_tu", "cdt"),
    "operating_status": ("operating_status", "op_status", "tinh_trang_hoat_dong", "trang_thai_hoat_dong"),
    "clearance_area_ha": ("clearance_area_ha", "clear_ha", "dien_tich_phai_gpmb_ha", "dien_tich_gpmb"),
    "cleared_area_ha": ("cleared_area_ha", "cleared_ha", "dien_tich_da_gpmb_ha", "da_gpmb"),
    "households_total": ("households_total", "hh_total", "so_ho", "so_ho_bi_anh_huong", "tong_so_ho"),
    "households_agreed": ("households_agreed", "hh_agreed", "so_ho_dong_y"),
    "wwtp_status": ("wwtp_status", "wwtp", "xu_ly_nuoc_thai", "xlnt", "nuoc_thai", "trang_thai_xlnt"),
    "wwtp_capacity_m3_day": ("wwtp_capacity_m3_day", "wwtp_cap", "cong_suat_xlnt", "cong_suat_xlnt_m3_ngay"),
    "infrastructure_pct": (
        "infrastructure_pct",
        "infra_pct",
        "ha_tang_hoan_thanh",
        "ha_tang",
        "ty_le_ha_tang",
    ),
    "occupancy_pct": ("occupancy_pct", "occup_pct", "ty_le_lap_day", "lap_day"),
    "as_of": ("as_of", "so_lieu_tinh_den_ngay", "tinh_den_ngay", "ngay_so_lieu", "ngay"),
    IGNORED: (
        "computed_area_ha",
        "comp_ha",
        "clearance_pct",
        "clear_pct",
        "clearance_incomplete",
        "clear_inc",
        "gpmb_chua_xong_chua_co_so_lieu",  # the header of files exported before it was computed
        "geometry_source",
        "geom_src",
        "version",
        "updated_at",
        "updated",
        "id",
        "fid",
        "description",
    ),
}
# Geometry columns of a table (CSV, XLSX)
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "hinh_hoc", "ranh_gioi")
WKT_WGS84_NAMES = ("wkt_wgs84", "wkt_4326", "wkt_epsg_4326", "wkt_crs84")
LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do")
LAT_NAMES = ("lat", "latitude", "vi_do")
X_NAMES = ("x", "easting", "toa_do_x")
Y_NAMES = ("y", "northing", "toa_do_y")


def column_key(name: str) -> str:
    """A column name folded: "Diện tích (ha)" → "dien_tich_ha", "TEN" → "ten"."""
    return slugify(str(name)).replace("-", "_")


def _preferences() -> dict[str, tuple[str, int]]:
    """folded name → (target, rank); a lower rank wins when two columns map to one field."""
    table: dict[str, tuple[str, int]] = {}
    for target, names in IMPORT_SYNONYMS.items():
        for rank, name in enumerate(names):
            table.setdefault(name, (target, rank))
    for column in EXPORT_COLUMNS:
        target = column.target or IGNORED
        for name in (column.key, column.shp, column_key(column.header_vi)):
            table.setdefault(name, (target, 50))
    for name in (*WKT_WGS84_NAMES, *WKT_NAMES, *LON_NAMES, *LAT_NAMES, *X_NAMES, *Y_NAMES):
        table.setdefault(name, ("geometry", 0))
    return table


PREFERENCES = _preferences()


def map_columns(columns: list[str]) -> dict[str, str | None]:
    """Each column of a file → the zone field it fills, IGNORED, "geometry", or None (not recognised).

    When two columns name the same field the preferred one wins and the other is reported as IGNORED.
    """
    mapping: dict[str, str | None] = {}
    best: dict[str, tuple[int, str]] = {}
    for column in columns:
        target, rank = PREFERENCES.get(column_key(column), (None, 0))
        mapping[column] = target
        if target in IMPORT_TARGETS and (target not in best or rank < best[target][0]):
            best[target] = (rank, column)
    for column, target in mapping.items():
        if target in IMPORT_TARGETS and best[target][1] != column:
            mapping[column] = IGNORED
    return mapping
