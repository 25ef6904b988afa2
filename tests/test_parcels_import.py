"""Parcels from a cadastral file: a VN-2000 GeoPackage with the field names offices use lands in the right zones with
the right areas and identifiers; a re-import updates without duplicates; bad files change nothing."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon
from sqlalchemy import func, select, text

from khgeo.cli import main
from khgeo.geo.crs import from_wgs84, to_wgs84
from khgeo.models import AuditEvent, Parcel, ParcelEvent, Zone
from khgeo.services.interop.files import read_source
from khgeo.services.parcels import fields, importing
from khgeo.services.parcels.identity import parcel_uid
from tests import helpers

ZONE = "kcn-quang-chau"
NENH = "07795"  # Phường Nếnh since 1 July 2025
QUANG_CHAU_OLD = "07807"  # Phường Quang Châu before, now part of Phường Nếnh
TO_VN2000 = from_wgs84(9214)


def zone_point(db, code: str = ZONE) -> tuple[float, float]:
    """A point well inside the zone's outline (VN-2000 / TM-3 107-00 easting, northing)."""
    with db.session() as session:
        lon, lat = session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM zones WHERE code = :c) q"
            ),
            {"c": code},
        ).one()
    return TO_VN2000.transform(lon, lat)


def point_outside_zones(db) -> tuple[float, float]:
    """A point in the province more than ~1 km from every zone."""
    with db.session() as session:
        lon, lat = session.execute(
            text(
                """SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(d.geom) p, d.code FROM districts d) q
                   WHERE NOT EXISTS (SELECT 1 FROM zones z WHERE ST_DWithin(z.geom, q.p, 0.01))
                   ORDER BY code LIMIT 1"""
            )
        ).one()
    return TO_VN2000.transform(lon, lat)


def square(x: float, y: float, size: float = 20.0) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def office_row(sheet, number, geometry, *, commune=NENH, area=400.0, owner="Nguyễn Văn An", **extra) -> dict:
    return {
        "MaXa": commune,
        "SoHieuToBanDo": sheet,
        "SoThuTuThua": number,
        "DienTich": area,
        "KyHieuMucDichSuDung": "LUC",
        "TenChu": owner,
        "DiaChi": "Thôn Nội Ninh",
        "GhiChu": "ghi chú",
        "geometry": geometry,
        **extra,
    }


def write_gpkg(path: Path, rows: list[dict], crs: str = "EPSG:9214") -> Path:
    gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(
        path, driver="GPKG", layer="thua_dat", engine="pyogrio"
    )
    return path


def three_parcels(db, tmp_path: Path) -> Path:
    x, y = zone_point(db)
    ox, oy = point_outside_zones(db)
    return write_gpkg(
        tmp_path / "thua.gpkg",
        [
            office_row(12, 101, square(x, y), DoiTuongSuDung="GDC"),
            office_row(
                "012", "102", square(x + 20, y), commune=QUANG_CHAU_OLD, area=405.5, DoiTuongSuDung="TKT"
            ),
            office_row(
                40, 7, square(ox, oy, 30), owner="Trần Thị Bình", area=900, DoiTuongSuDung="Hộ gia đình"
            ),
        ],
    )


def invoke(app, *args: str, input: str | None = None):
    app.config["KHGEO_DEFAULT_LOCALE"] = "en"
    return app.test_cli_runner().invoke(main, ["parcels", "import", *args], input=input)


def table_state(db) -> dict[str, int]:
    with db.session() as session:
        return {
            table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 (fixed names)
            for table in ("parcels", "parcel_events")
        } | {"audit": session.scalar(select(func.count()).select_from(AuditEvent))}


def stored(db) -> dict[tuple[str, str], Parcel]:
    with db.session() as session:
        parcels = list(session.scalars(select(Parcel)))
        for parcel in parcels:
            parcel.zone_code = parcel.zone.code if parcel.zone else None
            parcel.outline = shapely.from_wkb(bytes(parcel.geom.data))
            session.expunge(parcel)
    return {(p.sheet, p.number): p for p in parcels}


# -- fields -----------------------------------------------------------------------------------------------------
def test_office_column_names_are_recognised_in_any_case_and_spelling():
    mapping = fields.map_parcel_columns(
        [
            "SOHIEUTOBANDO",
            "SoThua",
            "dientich",
            "MAXA",
            "LoaiDat",
            "TenChu",
            "Địa chỉ",
            "SoHieuToBanDoCu",
            "Foo",
        ]
    )
    assert mapping == {
        "SOHIEUTOBANDO": "sheet",
        "SoThua": "number",
        "dientich": "legal_area_m2",
        "MAXA": "commune_code",
        "LoaiDat": "land_type",
        "TenChu": "land_user_name",
        "Địa chỉ": "address",
        "SoHieuToBanDoCu": "old_sheet",
        "Foo": None,
    }
    # the better-known name wins when two columns mean the same
    assert fields.map_parcel_columns(["DienTich", "DIENTICHPHAPLY"]) == {
        "DienTich": None,
        "DIENTICHPHAPLY": "legal_area_m2",
    }


def test_commune_codes_2025_former_and_unknown():
    assert fields.resolve_commune("07795").code == NENH
    assert fields.resolve_commune(7795).code == NENH  # a DBF number
    former = fields.resolve_commune(QUANG_CHAU_OLD)
    assert former.code == NENH and "Quang Châu" in str(former.note) and "Nếnh" in str(former.note)
    assert fields.resolve_commune("99999").error is not None
    assert fields.resolve_commune("12a").error is not None


# -- import -----------------------------------------------------------------------------------------------------
def test_preview_shows_the_mapping_and_writes_nothing(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    before = table_state(db)
    result = invoke(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SoHieuToBanDo → sheet" in out and "SoThuTuThua → number" in out and "MaXa → commune_code" in out
    assert "DienTich → legal_area_m2" in out and "TenChu → land_user_name" in out
    assert "ignored columns: GhiChu" in out
    assert "EPSG:9214" in out and "EPSG:6960" in out
    assert "07807 (Phường Quang Châu, before 1 July 2025) is now 07795 (Phường Nếnh)" in out
    assert "summary: 3 new, 0 changed, 0 unchanged, 1 outside every zone, 0 rejected" in out
    assert "dry run: nothing was written" in out
    assert table_state(db) == before


def test_apply_creates_parcels_in_their_zones_with_areas_and_uids(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    result = invoke(app, str(path), "--yes")
    assert result.exit_code == 0, result.output
    parcels = stored(db)
    assert set(parcels) == {("12", "101"), ("12", "102"), ("40", "7")}
    first, second, outside = parcels["12", "101"], parcels["12", "102"], parcels["40", "7"]
    assert first.zone_code == ZONE and second.zone_code == ZONE and not first.zone_overridden
    assert outside.zone_code is None
    assert second.commune_code == NENH  # the pre-2025 code became the 2025 unit's
    # 20 m × 20 m in VN-2000 TM-3 (scale 0.9999) is 400 m² on the ground within a fraction of a m² in UTM 48N
    assert first.area_m2 == pytest.approx(400.0, abs=1.0)
    assert outside.area_m2 == pytest.approx(900.0, abs=2.0)
    assert float(second.legal_area_m2) == 405.5
    assert (
        first.land_type == "LUC"
        and first.land_user_name == "Nguyễn Văn An"
        and first.address == "Thôn Nội Ninh"
    )
    kinds = (first.land_user_kind, second.land_user_kind, outside.land_user_kind)
    assert kinds == ("household", "organisation", "household")  # office codes GDC, TKT and a label
    assert first.stage == "not_notified" and first.version == 1 and first.geometry_source == "imported"
    assert first.uid == parcel_uid(first.outline) and len({p.uid for p in parcels.values()}) == 3
    with db.session() as session:
        events = list(session.scalars(select(ParcelEvent)))
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "parcels.import")).one()
    assert {e.kind for e in events} == {"import"} and len(events) == 3
    assert audit.changes == {"created": 3, "updated": 0} and "Nguyễn" not in str(audit.context)
    # the zone's clearance now follows from its two parcels (legal area when stated: 400 m² of outline + 405,5 m²)
    with db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
        assert zone.clearance_from_parcels and zone.parcel_count == 2
        assert float(zone.clearance_area_ha) == pytest.approx((first.area_m2 + 405.5) / 10_000, abs=0.01)
        assert float(zone.cleared_area_ha) == 0


def test_reimport_updates_without_duplicates_and_keeps_the_stage(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    assert invoke(app, str(path), "--yes").exit_code == 0
    with db.session() as session:
        session.execute(
            text("UPDATE parcels SET stage = 'notified', stage_date = '2026-10-01' WHERE number = '101'")
        )
    again = invoke(app, str(path), "--yes")
    assert "summary: 0 new, 0 changed, 3 unchanged" in again.output
    x, y = zone_point(db)
    changed = write_gpkg(
        tmp_path / "thua2.gpkg",
        [
            office_row(
                12,
                101,
                square(x, y, 25),
                owner="Nguyễn Văn Ân",
                area=625,
                SoHieuToBanDoCu=3,
                SoThuTuThuaCu=55,
            )
        ],
    )
    result = invoke(app, str(changed), "--yes")
    assert result.exit_code == 0, result.output
    assert "summary: 0 new, 1 changed" in result.output
    parcels = stored(db)
    assert len(parcels) == 3
    first = parcels["12", "101"]
    assert first.version == 2 and first.stage == "notified"  # the import never moves the stage
    assert first.land_user_name == "Nguyễn Văn Ân" and float(first.legal_area_m2) == 625
    assert (first.old_sheet, first.old_number) == ("3", "55")
    assert first.area_m2 == pytest.approx(625.0, abs=1.5)
    with db.session() as session:
        event = session.scalars(
            select(ParcelEvent).where(ParcelEvent.parcel_id == first.id, ParcelEvent.parcel_version == 2)
        ).one()
    assert event.kind == "import" and event.changes["legal_area_m2"] == [400.0, 625.0]
    assert event.changes["area_m2"][1] == pytest.approx(625.0, abs=1.5)


def test_zone_given_overrides_the_outline(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    result = invoke(app, str(path), "--zone", "kcn-dinh-tram", "--yes")
    assert result.exit_code == 0, result.output
    parcels = stored(db)
    assert {p.zone_code for p in parcels.values()} == {"kcn-dinh-tram"}
    assert all(p.zone_overridden for p in parcels.values())
    unknown = invoke(app, str(path), "--zone", "kcn-khong-co", "--dry-run")
    assert unknown.exit_code != 0 and "kcn-khong-co" in unknown.output and "Traceback" not in unknown.output


def test_duplicate_parcel_in_the_file_refuses_it_naming_the_rows(app, db, tmp_path):
    x, y = zone_point(db)
    path = write_gpkg(
        tmp_path / "dup.gpkg",
        [
            office_row(12, 101, square(x, y)),
            office_row(12, 102, square(x + 20, y)),
            office_row("12", "101", square(x + 40, y), commune=QUANG_CHAU_OLD),  # the same parcel once mapped
        ],
    )
    before = table_state(db)
    result = invoke(app, str(path), "--yes")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "07795/12/101: #1, #3" in result.output and "Nothing was imported" in result.output
    assert table_state(db) == before


def test_bad_commune_and_broken_outline_are_rejected_with_their_rows(app, db, tmp_path):
    x, y = zone_point(db)
    bowtie = Polygon([(x, y), (x + 20, y + 20), (x + 20, y), (x, y + 20)])  # self-intersecting: repaired
    line_like = Polygon([(x, y), (x + 10, y), (x + 20, y)])  # points in a row: no area
    path = write_gpkg(
        tmp_path / "bad.gpkg",
        [
            office_row(12, 101, square(x, y), commune="99999"),
            office_row(12, 102, line_like),
            office_row(12, 103, bowtie),
        ],
    )
    result = invoke(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "✗ rejected  #1" in out and "Unknown commune code 99999" in out
    assert "✗ rejected  #2" in out and "almost no area" in out
    assert "+ new       #3" in out and "repaired: Self-intersection" in out
    before = table_state(db)
    only_bad = write_gpkg(tmp_path / "only_bad.gpkg", [office_row(12, 101, square(x, y), commune="7A-12")])
    refused = invoke(app, str(only_bad), "--yes")
    assert refused.exit_code == 0 and "not a 5-digit unit code" in refused.output
    assert "nothing to import" in refused.output
    assert table_state(db) == before


def test_file_without_crs_needs_one_and_errors_have_no_traceback(app, db, tmp_path):
    x, y = zone_point(db)
    folder = tmp_path / "shp"
    folder.mkdir()
    row = office_row(12, 101, square(x, y))
    row["KyHieuMucD"] = row.pop("KyHieuMucDichSuDung")  # a Shapefile's names are cut to 10 characters
    row["SoHieuToBa"], row["SoThuTuThu"] = row.pop("SoHieuToBanDo"), row.pop("SoThuTuThua")
    frame = gpd.GeoDataFrame([row], geometry="geometry", crs=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no crs": exactly the file this test needs
        frame.to_file(folder / "thua.shp", engine="pyogrio", encoding="UTF-8")
    result = invoke(app, str(folder / "thua.shp"), "--dry-run")
    assert result.exit_code != 0 and "Traceback" not in result.output and "EPSG:9214" in result.output
    named = invoke(app, str(folder / "thua.shp"), "--crs", "EPSG:9214", "--dry-run")
    assert named.exit_code == 0, named.output
    assert "summary: 1 new" in named.output and "SoHieuToBa → sheet" in named.output
    missing = write_gpkg(tmp_path / "nocols.gpkg", [{"Ten": "x", "geometry": square(x, y)}])
    refused = invoke(app, str(missing), "--dry-run")
    assert refused.exit_code != 0 and "MaXa" in refused.output and "Traceback" not in refused.output


def test_file_identifier_is_checked(app, db, tmp_path):
    x, y = zone_point(db)
    own = parcel_uid(
        transform_to_wgs84(square(x + 5, y + 5, 2))
    )  # a point inside the first parcel, not its centre
    path = write_gpkg(
        tmp_path / "uid.gpkg",
        [
            office_row(12, 101, square(x, y), MaDinhDanh=own.upper()),
            office_row(12, 102, square(x + 20, y), MaDinhDanh="not-a-geohash"),
            office_row(12, 103, square(x + 40, y), MaDinhDanh=own),  # a point of another parcel
        ],
    )
    with db.session() as session:
        source = read_source(path)
        plan = importing.plan_parcel_import(session, source)
        session.rollback()
    first, second, third = plan.rows
    assert first.action == "create" and first.uid == own
    assert second.action == "rejected" and "geohash" in str(second.reasons[0])
    assert third.action == "rejected" and "not a point of this parcel" in str(third.reasons[0])


def transform_to_wgs84(polygon: Polygon) -> Polygon:
    return shapely.transform(polygon, to_wgs84(9214).transform, interleaved=False)


def test_admin_import_page_preview_then_apply(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    admin = helpers.client_as(app, "admin")
    page = admin.get("/admin/parcels/import")
    assert page.status_code == 200
    csrf = helpers.csrf_of(page.get_data(as_text=True))
    with open(path, "rb") as handle:
        preview = admin.post(
            "/admin/parcels/import",
            data={"csrf_token": csrf, "upload": (handle, "thua.gpkg"), "crs": "", "zone": ""},
            content_type="multipart/form-data",
        )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "SoHieuToBanDo" in html and "GhiChu" in html and "Phường Nếnh" in html
    assert table_state(db)["parcels"] == 0
    applied = admin.post(
        "/admin/parcels/import/apply",
        data={
            "csrf_token": helpers.csrf_of(html),
            "token": helpers.hidden(html, "token"),
            "fingerprint": helpers.hidden(html, "fingerprint"),
            "crs": "",
            "zone": "",
            "layer": "",
            "encoding": "",
        },
    )
    assert applied.status_code == 303
    assert len(stored(db)) == 3
    viewer = helpers.client_as(app, "viewer")
    assert viewer.get("/admin/parcels/import").status_code == 403


def test_admin_apply_refuses_a_plan_that_changed_since_the_preview(app, db, tmp_path):
    path = three_parcels(db, tmp_path)
    admin = helpers.client_as(app, "admin")
    csrf = helpers.csrf_of(admin.get("/admin/parcels/import").get_data(as_text=True))
    with open(path, "rb") as handle:
        preview = admin.post(
            "/admin/parcels/import",
            data={"csrf_token": csrf, "upload": (handle, "thua.gpkg")},
            content_type="multipart/form-data",
        )
    html = preview.get_data(as_text=True)
    assert invoke(app, str(path), "--yes").exit_code == 0  # someone imports the same file meanwhile
    before = table_state(db)
    form = {
        "csrf_token": helpers.csrf_of(html),
        "token": helpers.hidden(html, "token"),
        "fingerprint": helpers.hidden(html, "fingerprint"),
    }
    refused = admin.post("/admin/parcels/import/apply", data=form)
    assert refused.status_code == 409
    assert table_state(db) == before
    without_csrf = admin.post("/admin/parcels/import/apply", data={**form, "csrf_token": ""})
    assert without_csrf.status_code == 400 and table_state(db) == before


def test_the_zone_import_limits_bound_a_parcels_file(app, db, tmp_path):
    path = three_parcels(db, tmp_path)  # 3 squares of 5 vertices
    app.config["KHGEO_MAX_VERTICES_PER_FILE"] = 14
    before = table_state(db)
    refused = invoke(app, str(path), "--yes")
    assert refused.exit_code != 0 and "15 vertices" in refused.output and "Traceback" not in refused.output
    app.config["KHGEO_MAX_VERTICES_PER_FILE"] = 1000
    app.config["KHGEO_MAX_VERTICES_PER_OUTLINE"] = 4
    one_by_one = invoke(app, str(path), "--dry-run")
    assert "3 rejected" in one_by_one.output and "more than the 4 allowed" in one_by_one.output
    assert table_state(db) == before


def test_a_zones_file_cannot_overwrite_figures_that_follow_from_parcels(app, db, tmp_path):
    """A zone with parcels takes its clearance from them: the zones import refuses that feature like the form and the
    API do, and writes the other features."""
    from tests.test_import import feature, geojson_file
    from tests.test_import import invoke as invoke_zones

    path = three_parcels(db, tmp_path)
    assert invoke(app, str(path), "--yes").exit_code == 0  # KCN Vân Trung now follows its parcels
    with db.session() as session:
        before = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
        cleared, version = before.clearance_area_ha, before.version
    zones_file = geojson_file(
        tmp_path / "zones.geojson",
        [
            feature({"code": ZONE, "clearance_area_ha": 50, "cleared_area_ha": 40}),
            feature({"code": "ccn-dong-dinh", "infrastructure_pct": 41}),
        ],
    )
    result = invoke_zones(app, str(zones_file), "--yes")
    assert "follows from its parcels" in result.output or "theo thửa đất" in result.output, result.output
    with db.session() as session:
        after = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
        other = session.scalars(select(Zone).where(Zone.code == "ccn-dong-dinh")).one()
    assert after.clearance_area_ha == cleared and after.version == version
    assert float(other.infrastructure_pct) == 41
