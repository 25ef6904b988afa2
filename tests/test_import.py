"""`khgeo import` and the admins' upload page: VN-2000 lands where it should, bad files change nothing, a preview
shows exactly what an apply writes, and an export imports back as a no-op."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from sqlalchemy import func, select, text

from khgeo.cli import main
from khgeo.geo import reprojection as crs_reading
from khgeo.models import AuditEvent, District, Zone, ZoneUpdate
from khgeo.services import accounts
from khgeo.services.interop import import_apply
from khgeo.services.interop.encodings import text_problem
from tests import helpers
from tests.conftest import make_app
from tests.helpers import PASSWORD

UTM48N = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)


# -- helpers ----------------------------------------------------------------------------------------------------
def invoke(app, *args: str, input: str | None = None):
    app.config["KHGEO_DEFAULT_LOCALE"] = "en"  # the command speaks the default language; these assert English
    return app.test_cli_runner().invoke(main, ["import", *args], input=input)


def tables_md5(db) -> dict[str, str]:
    with db.session() as session:
        return {
            table: session.execute(
                text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")  # noqa: S608 (fixed names)
            ).scalar()
            for table in ("zones", "zone_updates", "audit_events")
        }


def zone(db, code: str) -> Zone:
    with db.session() as session:
        found = session.scalars(select(Zone).where(Zone.code == code)).one()
        session.expunge(found)
        return found


def outline(db, code: str):
    with db.session() as session:
        return shapely.from_wkb(
            bytes(session.scalar(select(func.ST_AsBinary(Zone.geom)).where(Zone.code == code)))
        )


def square_near(db, code: str, half_deg: float = 0.002) -> Polygon:
    """A square ~450 m across at the zone's centre (or inside its district when it has no outline yet): inside
    the province, and not the zone's current outline."""
    with db.session() as session:
        wkb = session.scalar(select(func.ST_AsBinary(func.ST_Centroid(Zone.geom))).where(Zone.code == code))
        if wkb is None:  # somewhere in Việt Yên
            wkb = session.scalar(
                select(func.ST_AsBinary(func.ST_PointOnSurface(District.geom))).where(District.code == "222")
            )
    centre = shapely.from_wkb(bytes(wkb))
    return box(centre.x - half_deg, centre.y - half_deg, centre.x + half_deg, centre.y + half_deg)


def _utm(xy: np.ndarray) -> np.ndarray:
    return np.column_stack(UTM48N.transform(xy[:, 0], xy[:, 1]))


def metres_apart(a, b) -> float:
    """Hausdorff distance in metres of two WGS 84 lon/lat geometries, measured in UTM 48N."""
    return shapely.hausdorff_distance(shapely.transform(a, _utm), shapely.transform(b, _utm))


def geojson_file(path: Path, features: list[dict]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8"
    )
    return path


def feature(properties: dict, geometry=None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry) if geometry else None}


def zip_shapefile(folder: Path, stem: str, target: Path, *, skip: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for part in sorted(folder.glob(f"{stem}.*")):
            if part.suffix.lower() not in skip:
                archive.write(part, part.name)
    return target


def history(db, code: str) -> list[ZoneUpdate]:
    with db.session() as session:
        return list(
            session.scalars(select(ZoneUpdate).join(Zone).where(Zone.code == code).order_by(ZoneUpdate.id))
        )


# -- VN-2000 ----------------------------------------------------------------------------------------------------
# Built independently of khgeo.geo.crs: EPSG:6960 as PROJ defines it (lat/lon in and out), then the TM-3 projection
VN2000_TO_WGS84 = Transformer.from_pipeline("urn:ogc:def:coordinateOperation:EPSG::6960")
TM3_107 = Transformer.from_crs(CRS.from_epsg(9214).geodetic_crs, CRS.from_epsg(9214), always_xy=True)


def wgs84_to_9214(geometry):
    def step(xy):
        lat, lon = VN2000_TO_WGS84.transform(xy[:, 1], xy[:, 0], direction="INVERSE")
        return np.column_stack(TM3_107.transform(lon, lat))

    return shapely.transform(geometry, step)


def null_shift_9214_to_wgs84(geometry):
    """The wrong variant: TM-3 coordinates read as if VN-2000 were WGS 84 (no datum shift)."""
    wrong = Transformer.from_crs(
        "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=0,0,0,0,0,0,0 +units=m",
        "EPSG:4326",
        always_xy=True,
    )

    def step(xy):
        return np.column_stack(wrong.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, step)


def test_a_vn2000_tm3_shapefile_lands_within_a_metre_of_its_wgs84_position(app, db, tmp_path):
    target = square_near(db, "ccn-dong-dinh")
    projected = wgs84_to_9214(target)
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame(
        {"code": ["ccn-dong-dinh"], "ten": ["Đồng Đình"]}, geometry=[projected], crs="EPSG:9214"
    ).to_file(folder / "dong_dinh.shp", engine="pyogrio")
    assert (folder / "dong_dinh.prj").exists()
    archive = zip_shapefile(folder, "dong_dinh", tmp_path / "dong_dinh.zip")
    before = zone(db, "ccn-dong-dinh")

    result = invoke(app, str(archive), "--yes")

    assert result.exit_code == 0, result.output
    assert "VN-2000 / TM-3 107-00 (EPSG:9214)" in result.output
    assert "EPSG:6960" in result.output and "05/2007/QĐ-BTNMT" in result.output
    stored = outline(db, "ccn-dong-dinh")
    assert metres_apart(stored, target) < 1.0
    # the test has teeth: the null-shift ("internal") reading of the same file is 200–300 m off
    assert 200 < metres_apart(null_shift_9214_to_wgs84(projected), target) < 300
    after = zone(db, "ccn-dong-dinh")
    assert after.geometry_source == "imported" and after.version == before.version + 1
    entry = history(db, "ccn-dong-dinh")[-1]
    assert (entry.kind, entry.source, entry.zone_version) == ("import", "dong_dinh.zip", after.version)
    assert entry.changes["geometry_source"] == ["illustrative", "imported"]
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "zone.import")).one()
        assert event.entity_id == "ccn-dong-dinh" and event.context["file"] == "dong_dinh.zip"
        assert "6960" in event.context["transformation"]


def test_a_prj_with_a_null_datum_shift_still_gets_epsg_6960(app, db, tmp_path):
    target = square_near(db, "kcn-van-trung")
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"code": ["kcn-van-trung"]}, geometry=[wgs84_to_9214(target)], crs="EPSG:9214").to_file(
        folder / "vt.shp", engine="pyogrio"
    )
    # what some desktop tools write: VN-2000 with TOWGS84 all zero and no EPSG code to look up
    wkt = CRS.from_epsg(9214).to_wkt("WKT1_GDAL")
    wkt = re.sub(r',AUTHORITY\["EPSG","\d+"\]', "", wkt)
    wkt = wkt.replace('DATUM["Vietnam_2000",', 'DATUM["Vietnam_2000",TOWGS84[0,0,0,0,0,0,0],')
    assert "TOWGS84[0,0,0,0,0,0,0]" in wkt and "AUTHORITY" not in wkt
    (folder / "vt.prj").write_text(wkt)

    result = invoke(app, str(zip_shapefile(folder, "vt", tmp_path / "vt.zip")), "--yes")

    assert result.exit_code == 0, result.output
    assert "EPSG:6960" in result.output
    assert metres_apart(outline(db, "kcn-van-trung"), target) < 1.0


@pytest.mark.parametrize("epsg", [9214, 9209, 5897, 3405, 4756])
def test_every_vn2000_crs_offered_goes_through_epsg_6960(epsg):
    """Whatever the VN-2000 projection, the point lands where EPSG:6960 (built here from PROJ) puts it."""
    lon, lat = 106.2, 21.3
    vn_lat, vn_lon = VN2000_TO_WGS84.transform(lat, lon, direction="INVERSE")
    to_target = Transformer.from_crs(CRS.from_epsg(epsg).geodetic_crs, CRS.from_epsg(epsg), always_xy=True)
    x, y = to_target.transform(vn_lon, vn_lat)
    projection = crs_reading.reprojection(CRS.from_epsg(epsg))
    assert "EPSG:6960" in projection.transformation
    got_lon, got_lat = projection.transform(np.array([x]), np.array([y]))
    assert metres_apart(shapely.Point(got_lon[0], got_lat[0]), shapely.Point(lon, lat)) < 0.01


def test_crs_options_offer_every_provincial_vn2000_tm3_zone_bac_giang_first():
    options = crs_reading.crs_options()
    assert options[0].value == "EPSG:9214" and "Bắc Giang" in options[0].label
    values = {o.value for o in options}
    assert {f"EPSG:{code}" for code in range(9205, 9219)} <= values
    assert crs_reading.parse_crs("VN-2000 / TM-3 107-00").to_epsg() == 9214
    assert crs_reading.parse_crs("9214").to_epsg() == 9214


# -- the CRS must be known --------------------------------------------------------------------------------------
def test_a_shapefile_without_prj_and_without_crs_is_refused_and_changes_nothing(app, db, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    geometry = wgs84_to_9214(square_near(db, "ccn-my-an"))
    gpd.GeoDataFrame({"code": ["ccn-my-an"]}, geometry=[geometry], crs="EPSG:9214").to_file(
        folder / "my_an.shp", engine="pyogrio"
    )
    archive = zip_shapefile(folder, "my_an", tmp_path / "my_an.zip", skip=(".prj",))
    before = tables_md5(db)

    refused = invoke(app, str(archive), "--yes")

    assert refused.exit_code != 0
    assert "coordinate reference system" in refused.output and "--crs" in refused.output
    assert "Nothing was imported" in refused.output
    assert tables_md5(db) == before
    named = invoke(app, str(archive), "--crs", "EPSG:9214", "--dry-run")
    assert named.exit_code == 0, named.output
    assert "~ update    #1 ccn-my-an" in named.output


# -- geometry validation ----------------------------------------------------------------------------------------
def test_a_self_intersecting_polygon_is_repaired_in_postgis_and_reported(app, db, tmp_path):
    square = square_near(db, "ccn-doan-bai")
    minx, miny, maxx, maxy = square.bounds
    bowtie = Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy), (minx, miny)])
    assert not bowtie.is_valid
    path = geojson_file(tmp_path / "bowtie.geojson", [feature({"code": "ccn-doan-bai"}, bowtie)])

    preview = invoke(app, str(path), "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "repaired: Self-intersection" in preview.output and "ST_MakeValid" in preview.output
    applied = invoke(app, str(path), "--yes")
    assert applied.exit_code == 0, applied.output

    with db.session() as session:
        valid, kind = session.execute(
            select(func.ST_IsValid(Zone.geom), func.ST_GeometryType(Zone.geom)).where(
                Zone.code == "ccn-doan-bai"
            )
        ).one()
    assert valid and kind == "ST_MultiPolygon"
    assert metres_apart(outline(db, "ccn-doan-bai"), square) < 400  # the two triangles of the bow-tie


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "LineString", "coordinates": [[106.2, 21.3], [106.21, 21.31]]}, "must be a polygon"),
        (mapping(box(105.0, 10.0, 105.01, 10.01)), "outside the province"),  # the Mekong delta
        (mapping(box(416000, 2354000, 416500, 2354500)), "not longitude/latitude"),  # metres read as WGS 84
    ],
)
def test_non_polygonal_outside_or_wrong_crs_geometries_are_rejected_with_a_reason(
    app, db, tmp_path, geometry, reason
):
    path = tmp_path / "bad.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"code": "ccn-my-an"}, "geometry": geometry}],
            }
        )
    )
    before = tables_md5(db)
    result = invoke(app, str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "✗ rejected  #1" in result.output and reason in result.output
    assert "nothing to import" in result.output
    assert tables_md5(db) == before


# -- all or nothing ---------------------------------------------------------------------------------------------
def test_a_failure_in_the_middle_leaves_the_database_exactly_as_before(app, db, tmp_path, monkeypatch):
    features = [
        feature({"code": "ccn-dong-dinh", "wwtp_status": "planned"}),
        feature({"code": "ccn-my-an", "infrastructure_pct": 42}),
        feature(
            {"name": "Cụm công nghiệp Thử Nghiệm", "district": "Việt Yên"}, square_near(db, "kcn-van-trung")
        ),
        feature({"code": "ccn-doan-bai"}, square_near(db, "ccn-doan-bai")),
    ]
    path = geojson_file(tmp_path / "four.geojson", features)
    plan = invoke(app, str(path), "--dry-run")
    assert "summary: 1 to create, 3 to update" in plan.output, plan.output
    before = tables_md5(db)
    real_write = import_apply.write_change
    writes = []

    def write_then_fail(*args, **kwargs):
        if len(writes) == 2:
            raise RuntimeError("disk full while writing the third zone")
        writes.append(real_write(*args, **kwargs))
        return writes[-1]

    monkeypatch.setattr(import_apply, "write_change", write_then_fail)
    result = invoke(app, str(path), "--yes")

    assert result.exit_code != 0 and len(writes) == 2
    assert tables_md5(db) == before


def test_a_conflict_the_database_notices_rolls_back_every_earlier_write(app, db, tmp_path, monkeypatch):
    """Someone saves the 3rd zone between the plan and its write: the version check fails, nothing stays."""
    features = [
        feature({"code": c, "infrastructure_pct": 41}) for c in ("ccn-dong-dinh", "ccn-my-an", "ccn-doan-bai")
    ]
    path = geojson_file(tmp_path / "three.geojson", features)
    before = tables_md5(db)
    real_write = import_apply.write_change

    def concurrent_edit(session, plan, feature_plan, **kwargs):
        if feature_plan.code == "ccn-doan-bai":
            with db.engine.begin() as other:  # another connection commits an edit of the same zone
                other.execute(text("UPDATE zones SET version = version + 1 WHERE code = 'ccn-doan-bai'"))
        return real_write(session, plan, feature_plan, **kwargs)

    monkeypatch.setattr(import_apply, "write_change", concurrent_edit)
    result = invoke(app, str(path), "--yes")

    assert result.exit_code != 0 and "changed by someone else" in result.output
    after = tables_md5(db)
    assert after["zone_updates"] == before["zone_updates"] and after["audit_events"] == before["audit_events"]
    assert zone(db, "ccn-dong-dinh").infrastructure_pct != 41


# -- dry run, matching ------------------------------------------------------------------------------------------
def test_dry_run_shows_every_change_and_writes_nothing(app, db, tmp_path):
    old = zone(db, "ccn-doan-bai")
    path = geojson_file(
        tmp_path / "changes.geojson",
        [
            feature(
                {"code": "ccn-doan-bai", "wwtp_status": "under_construction", "developer": "Công ty ABC"},
                square_near(db, "ccn-doan-bai"),
            )
        ],
    )
    before = tables_md5(db)
    result = invoke(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"wwtp_status: {old.wwtp_status} → under_construction" in result.output
    assert "developer: — → Công ty ABC" in result.output
    assert re.search(r"outline: [\d.]+ ha → [\d.]+ ha", result.output)
    assert "dry run: nothing was written" in result.output
    assert tables_md5(db) == before


def test_matching_by_code_by_folded_name_by_alias_and_new_zones(app, db, tmp_path):
    with db.session() as session:
        aliased = session.scalars(select(Zone).where(func.cardinality(Zone.aliases) > 0)).first()
    rows = [
        {"code": "kcn-van-trung", "infrastructure_pct": 77},
        {"ten": "dong dinh", "loai": "CCN", "infrastructure_pct": 12},  # no diacritics, Vietnamese headers
        {"ten": "CỤM CÔNG NGHIỆP MỸ AN", "infrastructure_pct": 13},  # kind from the name's prefix
        {"ten": "Yên Lư", "infrastructure_pct": 14},  # a KCN and a CCN: ambiguous without the kind
        {"ten": "Cụm công nghiệp Hương Lâm Mới", "huyen": "Hiệp Hòa", "dien_tich": "35,5"},
        {"ten": "Khu không rõ loại"},
    ]
    if aliased is not None:
        rows.append({"ten": aliased.aliases[0].upper(), "loai": aliased.kind, "occupancy_pct": 33})
    path = tmp_path / "zones.csv"
    columns = ["code", "ten", "loai", "huyen", "dien_tich", "infrastructure_pct", "occupancy_pct"]
    path.write_text(
        ",".join(columns)
        + "\n"
        + "\n".join(
            ",".join(str(r.get(c, "")) if "," not in str(r.get(c, "")) else f'"{r[c]}"' for c in columns)
            for r in rows
        ),
        "utf-8",
    )
    result = invoke(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "#1 kcn-van-trung 'kcn-van-trung' (matched by code)" in out
    assert "#2 ccn-dong-dinh 'dong dinh' (matched by name)" in out
    assert "#3 ccn-my-an 'CỤM CÔNG NGHIỆP MỸ AN' (matched by name)" in out
    assert re.search(r"✗ rejected  #4 'Yên Lư'\n\s+reason: The name Yên Lư matches several zones", out)
    assert "+ create    #5 ccn-huong-lam-moi" in out and "stated_area_ha: — → 35.5" in out
    assert "district: — → Hiệp Hòa" in out
    assert re.search(
        r"✗ rejected  #6 .*\n\s+reason: No zone matches, and a new zone needs at least a name and a kind", out
    )
    if aliased is not None:
        assert f"#7 {aliased.code}" in out and "(matched by alias)" in out
    # the stored name keeps its diacritics when a file spells it without
    applied = invoke(app, str(path), "--yes")
    assert applied.exit_code == 0, applied.output
    assert zone(db, "ccn-dong-dinh").name == "Đồng Đình"
    created = zone(db, "ccn-huong-lam-moi")
    assert (created.kind, created.name, float(created.stated_area_ha), created.version) == (
        "CCN",
        "Hương Lâm Mới",
        35.5,
        1,
    )
    assert [u.kind for u in history(db, "ccn-huong-lam-moi")] == ["import"]


def test_invalid_values_reject_the_feature_with_the_field_named(app, db, tmp_path):
    path = geojson_file(
        tmp_path / "values.geojson",
        [
            feature({"code": "ccn-my-an", "infrastructure_pct": 140}),
            feature({"code": "ccn-dong-dinh", "wwtp_status": "maybe"}),
            feature({"code": "ccn-doan-bai", "district": "Hà Nội"}),
        ],
    )
    result = invoke(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "infrastructure_pct: Must be between 0 and 100 %." in result.output
    assert "wwtp_status: Unknown wastewater status maybe" in result.output
    assert "district: Unknown district Hà Nội" in result.output
    assert "summary: 0 to create, 0 to update, 0 unchanged, 3 rejected" in result.output


# -- round trips ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "name", "options"),
    [
        ("geojson", "zones.geojson", []),
        ("gpkg", "zones.gpkg", ["--layer", "zones"]),
        ("shp", "zones.zip", []),
        ("csv", "zones.csv", []),
        ("xlsx", "zones.xlsx", []),
    ],
)
def test_an_export_imports_back_as_a_no_op(app, db, tmp_path, fmt, name, options):
    exported = tmp_path / name
    export = app.test_cli_runner().invoke(main, ["export", "--format", fmt, "--output", str(exported)])
    assert export.exit_code == 0, export.output
    with db.session() as session:
        versions = dict(session.execute(select(Zone.code, Zone.version)).all())
    before = tables_md5(db)

    dry = invoke(app, str(exported), *options, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"summary: 0 to create, 0 to update, {len(versions)} unchanged, 0 rejected" in dry.output
    real = invoke(app, str(exported), *options, "--yes")
    assert real.exit_code == 0 and "nothing to import" in real.output

    assert tables_md5(db) == before
    with db.session() as session:
        assert dict(session.execute(select(Zone.code, Zone.version)).all()) == versions
        assert session.scalar(select(func.count()).where(ZoneUpdate.kind == "import")) == 0


# -- garbled and hostile files ----------------------------------------------------------------------------------
def _zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


HOSTILE = {
    "empty.geojson": (b"", "The file is empty"),
    "nothing.geojson": (b'{"type": "FeatureCollection", "features": []}', "holds no features"),
    "notjson.geojson": (b"\x00\x01garbage that is not json", "cannot be read as GeoJSON"),
    "fake.zip": (b"this is not a zip at all", "not a zip archive"),
    "truncated.zip": (
        _zip_bytes({"a.shp": b"x" * 5000, "a.dbf": b"y" * 5000})[:-60],
        "damaged or incomplete",
    ),
    "bomb.zip": (_zip_bytes({"a.shp": b"\0" * (20 * 1024 * 1024)}), "zip bomb"),
    "traversal.zip": (_zip_bytes({"../../escaped.shp": b"x", "a.dbf": b"y"}), "unsafe file name"),
    "absolute.zip": (_zip_bytes({"/tmp/escaped.shp": b"x"}), "unsafe file name"),
    "noshape.zip": (_zip_bytes({"readme.txt": b"hello"}), "holds no Shapefile"),
    "nodbf.zip": (_zip_bytes({"a.shp": b"x" * 100, "a.shx": b"y" * 100}), "incomplete: .dbf missing"),
    "notsqlite.gpkg": (b"PK\x03\x04 not a geopackage", "not a GeoPackage"),
    "table.docx": (b"whatever", "Unsupported file type .docx"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_garbled_and_hostile_files_get_a_clear_error_and_change_nothing(app, db, tmp_path, name):
    content, message = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = tables_md5(db)
    result = invoke(app, str(path), "--yes")
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert tables_md5(db) == before
    assert not (tmp_path.parent / "escaped.shp").exists() and not Path("/tmp/escaped.shp").exists()


def _tcvn3_shapefile(folder: Path, *, cpg: str | None) -> Path:
    """A Shapefile whose names were typed with a TCVN3 (.VnTime) font: "Đồng Đình" is stored as "§ång §×nh"."""
    gpd.GeoDataFrame(
        {"ten": ["§ång §×nh", "B¾c Giang"], "loai": ["CCN", "CCN"]},
        geometry=[box(106.3, 21.2, 106.31, 21.21), box(106.32, 21.2, 106.33, 21.21)],
        crs="EPSG:4326",
    ).to_file(folder / "tcvn3.shp", engine="pyogrio", encoding="cp1252")
    (folder / "tcvn3.cpg").unlink(missing_ok=True)
    if cpg:
        (folder / "tcvn3.cpg").write_text(cpg)
    return zip_shapefile(folder, "tcvn3", folder.parent / f"tcvn3-{cpg or 'nocpg'}.zip")


def test_a_dbf_without_cpg_that_is_not_utf8_asks_for_the_encoding(app, db, tmp_path):
    (tmp_path / "a").mkdir()
    archive = _tcvn3_shapefile(tmp_path / "a", cpg=None)
    before = tables_md5(db)
    result = invoke(app, str(archive), "--yes")
    assert result.exit_code != 0
    assert "no .cpg" in result.output and "--encoding" in result.output and "TCVN3" in result.output
    # told the bytes are Windows-1252, the names decode, and are recognised as a legacy font encoding
    legacy = invoke(app, str(archive), "--encoding", "cp1252", "--yes")
    assert legacy.exit_code != 0
    assert "legacy Vietnamese font encoding (TCVN3 (ABC))" in legacy.output and "Unicode" in legacy.output
    assert tables_md5(db) == before


def test_legacy_font_names_with_a_cpg_are_refused_too(app, db, tmp_path):
    (tmp_path / "b").mkdir()
    result = invoke(app, str(_tcvn3_shapefile(tmp_path / "b", cpg="1252")), "--yes")
    assert result.exit_code != 0 and "legacy Vietnamese font encoding" in result.output


def test_a_utf8_dbf_without_cpg_is_read_as_utf8(app, db, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    gpd.GeoDataFrame(
        {"ten": ["Đồng Đình"], "loai": ["CCN"], "infra_pct": [66.0]}, geometry=[None], crs="EPSG:4326"
    ).to_file(folder / "u.shp", engine="pyogrio", encoding="UTF-8")
    (folder / "u.cpg").unlink()
    result = invoke(app, str(zip_shapefile(folder, "u", tmp_path / "u.zip")), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "ccn-dong-dinh 'Đồng Đình' (matched by name)" in result.output


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Đồng Đình", None),
        ("Hà Nam", None),
        ("Quang Châu", None),
        ("Vân Trung", None),
        ("Yen Lu", None),
        ("§ång §×nh", "tcvn3"),
        ("B¸t X¸t", "tcvn3"),
        ("ViÖt Yªn", "tcvn3"),
        ("Ñoàng Ñình", "vni"),
        ("Xin chaøo caùc baïn", "vni"),
        ("Ä\x90á»\x93ng Ä\x90Ã¬nh", "mojibake"),
    ],
)
def test_legacy_encodings_are_recognised_and_unicode_is_not(name, problem):
    assert text_problem(name) == problem


def test_a_geojson_with_tcvn3_names_is_refused(app, db, tmp_path):
    path = geojson_file(tmp_path / "tcvn3.geojson", [feature({"name": "Côm c«ng nghiÖp §ång §×nh"})])
    result = invoke(app, str(path), "--yes")
    assert result.exit_code != 0 and "TCVN3" in result.output


def test_several_layers_need_a_choice_and_the_layers_are_listed(app, db, tmp_path):
    exported = tmp_path / "all.gpkg"
    app.test_cli_runner().invoke(main, ["export", "--format", "gpkg", "--output", str(exported)])
    result = invoke(app, str(exported), "--dry-run")
    assert result.exit_code != 0
    assert "several layers" in result.output and "zones, districts, tasks, task_zones" in result.output
    assert "--layer" in result.output


def test_a_file_too_large_is_refused_before_it_is_read(app, db, tmp_path, monkeypatch):
    from khgeo.services.interop import files as import_files

    monkeypatch.setattr(import_files, "MAX_FILE_BYTES", 1000)
    path = geojson_file(tmp_path / "big.geojson", [feature({"code": "x", "pad": "x" * 2000})])
    result = invoke(app, str(path), "--yes")
    assert result.exit_code != 0 and "too large" in result.output


# -- the upload page --------------------------------------------------------------------------------------------
def csrf_of(client, url: str = "/login") -> str:
    return helpers.csrf_of(client.get(url).get_data(as_text=True))


@pytest.fixture
def web(database_url, tmp_path):
    app = make_app(database_url, KHGEO_DATA_DIR=tmp_path / "instance", KHGEO_PUBLIC_READ=False)
    yield app
    app.extensions["khgeo.db"].engine.dispose()


def client_as(app, role: str):
    client = helpers.client_as(app, role)
    client.get("/login?lang=en")  # messages in English, whether or not the catalogue is compiled
    return client


def upload(client, path: Path, **fields):
    data = {"csrf_token": csrf_of(client, "/admin/import"), **fields}
    if path is not None:
        data["upload"] = (io.BytesIO(path.read_bytes()), path.name)
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def test_an_admin_uploads_previews_exactly_what_changes_and_applies(web, tmp_path):
    db = web.extensions["khgeo.db"]
    admin = client_as(web, "admin")
    path = geojson_file(
        tmp_path / "Ranh giới CCN.geojson",
        [
            feature({"code": "ccn-dong-dinh", "wwtp_status": "operating"}, square_near(db, "ccn-dong-dinh")),
            feature(
                {"tên": "Cụm công nghiệp Phúc Sơn", "huyện": "Tân Yên"}, square_near(db, "kcn-van-trung")
            ),
            feature({"code": "ccn-my-an"}),
        ],
    )
    before = tables_md5(db)
    preview = upload(admin, path)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Ranh giới CCN.geojson" in html
    assert re.search(r"<strong>1</strong> [^<]+ · <strong>1</strong>", html)  # 1 to create, 1 to update
    assert 'data-code="ccn-phuc-son"' in html and 'data-code="ccn-dong-dinh"' in html
    assert (
        "No central plant → Operating" in html
        and "Illustrative outline (not surveyed) → Imported outline" in html
    )
    assert tables_md5(db) == before, "a preview writes nothing"

    fields = dict(re.findall(r'name="(token|fingerprint|crs|layer|encoding)" value="([^"]*)"', html))
    applied = admin.post(
        "/admin/import/apply", data={"csrf_token": csrf_of(admin, "/admin/import"), **fields}
    )
    assert applied.status_code == 303
    done = admin.get(applied.headers["Location"]).get_data(as_text=True)
    assert "1 zones created, 1 updated" in done
    assert zone(db, "ccn-dong-dinh").wwtp_status == "operating"
    assert zone(db, "ccn-phuc-son").geometry_source == "imported"
    entry = history(db, "ccn-dong-dinh")[-1]
    assert entry.kind == "import" and entry.source == "Ranh giới CCN.geojson" and entry.user_id is not None
    with db.session() as session:  # the staged upload lives in the database (any instance may apply it)
        assert session.execute(text("SELECT count(*) FROM import_uploads")).scalar() == 0, (
            "removed once applied"
        )
    again = admin.post("/admin/import/apply", data={"csrf_token": csrf_of(admin, "/admin/import"), **fields})
    assert again.status_code == 410


def test_an_apply_after_the_zones_changed_is_refused(web, tmp_path):
    db = web.extensions["khgeo.db"]
    admin = client_as(web, "admin")
    path = geojson_file(
        tmp_path / "z.geojson", [feature({"code": "ccn-dong-dinh", "infrastructure_pct": 51})]
    )
    html = upload(admin, path).get_data(as_text=True)
    fields = dict(re.findall(r'name="(token|fingerprint|crs|layer|encoding)" value="([^"]*)"', html))
    with db.session() as session:
        session.scalars(select(Zone).where(Zone.code == "ccn-dong-dinh")).one().infrastructure_pct = 60
    before = tables_md5(db)
    refused = admin.post(
        "/admin/import/apply", data={"csrf_token": csrf_of(admin, "/admin/import"), **fields}
    )
    assert refused.status_code == 409
    assert tables_md5(db) == before


def test_the_page_asks_for_the_layer_and_the_crs_and_keeps_the_upload(web, tmp_path):
    db = web.extensions["khgeo.db"]
    admin = client_as(web, "admin")
    exported = tmp_path / "all.gpkg"
    web.test_cli_runner().invoke(main, ["export", "--format", "gpkg", "--output", str(exported)])
    first = upload(admin, exported)
    assert first.status_code == 422
    html = first.get_data(as_text=True)
    assert '<option value="task_zones">' in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    chosen = upload(admin, None, token=token, layer="zones")
    assert chosen.status_code == 200 and "25</strong>" in chosen.get_data(as_text=True)

    csv_path = tmp_path / "xy.csv"
    x, y = wgs84_to_9214(square_near(db, "ccn-my-an")).exterior.coords[0]
    csv_path.write_text(f"code,x,y\nccn-my-an,{x},{y}\n", "utf-8")
    asked = upload(admin, csv_path)
    assert asked.status_code == 422 and "EPSG:9214" in asked.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', asked.get_data(as_text=True)).group(1)
    answered = upload(admin, None, token=token, crs="EPSG:9214")
    assert answered.status_code == 200 and "EPSG:6960" in answered.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "field", "planner"])
def test_the_upload_page_is_for_admins_only(web, tmp_path, role):
    if role == "field":
        client = web.test_client()
        username = f"field-{uuid.uuid4().hex[:6]}"
        with web.extensions["khgeo.db"].session() as session:
            accounts.create_user(session, username, PASSWORD, "field", districts=["Việt Yên"])
        client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)}
        )
    else:
        client = client_as(web, role)
    assert client.get("/admin/import").status_code == 403
    path = geojson_file(
        tmp_path / "z.geojson", [feature({"code": "ccn-dong-dinh", "infrastructure_pct": 51})]
    )
    data = {"csrf_token": csrf_of(client), "upload": (io.BytesIO(path.read_bytes()), path.name)}
    assert client.post("/admin/import", data=data, content_type="multipart/form-data").status_code == 403
    assert (
        client.post(
            "/admin/import/apply", data={"csrf_token": csrf_of(client), "token": "x" * 32}
        ).status_code
        == 403
    )
    assert web.test_client().get("/admin/import").status_code == 302  # anonymous: to the login page


def test_forms_without_csrf_are_refused(web, tmp_path):
    admin = client_as(web, "admin")
    path = geojson_file(
        tmp_path / "z.geojson", [feature({"code": "ccn-dong-dinh", "infrastructure_pct": 51})]
    )
    data = {"upload": (io.BytesIO(path.read_bytes()), path.name)}
    assert admin.post("/admin/import", data=data, content_type="multipart/form-data").status_code == 400
    assert admin.post("/admin/import/apply", data={"token": "x" * 32}).status_code == 400


def test_a_2_gb_upload_gets_a_friendly_413(web):
    admin = client_as(web, "admin")
    # the client announces 2 GB; the server refuses on the announced length, before reading the body
    response = admin.post(
        "/admin/import",
        data=b"x" * 100,
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(2 * 1024**3)},
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "64 MB" in html and "khgeo import" in html


def test_the_import_changes_area_in_history_and_versions(app, db, tmp_path):
    """History gets the outline area old → new and the zone's version moves by exactly one per import."""
    square = square_near(db, "kcn-hoa-phu", 0.003)
    before = zone(db, "kcn-hoa-phu")
    path = geojson_file(tmp_path / "hp.geojson", [feature({"code": "kcn-hoa-phu"}, MultiPolygon([square]))])
    assert invoke(app, str(path), "--yes").exit_code == 0
    after = zone(db, "kcn-hoa-phu")
    entry = history(db, "kcn-hoa-phu")[-1]
    assert after.version == before.version + 1
    assert entry.changes["geometry"] == [round(before.computed_area_ha, 2), round(after.computed_area_ha, 2)]
    assert entry.geom is not None and entry.geometry_source == "imported"


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Ranh giới</name>
<Placemark><name>Cụm công nghiệp Đồng Đình</name><description>đo đạc 2026</description>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark></Document></kml>"""


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_kml_and_kmz_placemarks_match_by_name_and_bring_their_outline(app, db, tmp_path, suffix):
    square = square_near(db, "ccn-dong-dinh")
    ring = " ".join(f"{x},{y},0" for x, y in square.exterior.coords)
    document = KML.format(ring=ring).encode("utf-8")
    path = tmp_path / f"dong_dinh{suffix}"
    if suffix == ".kmz":
        path.write_bytes(_zip_bytes({"doc.kml": document}))
    else:
        path.write_bytes(document)
    result = invoke(app, str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "ccn-dong-dinh 'Cụm công nghiệp Đồng Đình' (matched by name)" in result.output
    assert metres_apart(outline(db, "ccn-dong-dinh"), square) < 0.01


def test_large_files_show_progress(app, db, tmp_path, monkeypatch):
    from khgeo import cli_transfer

    monkeypatch.setattr(cli_transfer, "PROGRESS_MIN_FEATURES", 2)
    path = geojson_file(
        tmp_path / "two.geojson",
        [
            feature({"code": "ccn-my-an", "occupancy_pct": 10}),
            feature({"code": "ccn-doan-bai", "occupancy_pct": 20}),
        ],
    )
    result = invoke(app, str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "checking" in result.output and "importing" in result.output


def test_without_yes_the_command_asks_before_writing(app, db, tmp_path):
    path = geojson_file(tmp_path / "one.geojson", [feature({"code": "ccn-my-an", "occupancy_pct": 10})])
    before = tables_md5(db)
    declined = invoke(app, str(path), input="n\n")
    assert declined.exit_code != 0 and "Apply these changes?" in declined.output
    assert tables_md5(db) == before
    accepted = invoke(app, str(path), input="y\n")
    assert accepted.exit_code == 0 and "1 updated" in accepted.output
