"""`khgeo export` and /export/zones.<fmt>: the map's filters, Vietnamese in every format, the same authorization
as reading, and files GIS tools and spreadsheets open as they should."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pyogrio
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from khgeo.cli import main
from khgeo.models import Task, Zone
from khgeo.services import accounts
from khgeo.services.interop.field_names import EXPORT_COLUMNS
from tests.conftest import make_app


def export(app, tmp_path: Path, fmt: str, *filters: str) -> tuple[object, Path]:
    output = tmp_path / f"out.{fmt}"
    result = app.test_cli_runner().invoke(
        main, ["export", "--format", fmt, "--output", str(output), *filters]
    )
    return result, output


def zone_count(db, **where) -> int:
    with db.session() as session:
        query = select(func.count(Zone.id))
        for name, value in where.items():
            query = query.where(getattr(Zone, name) == value)
        return session.scalar(query)


def test_xlsx_has_vietnamese_headers_number_formats_and_numeric_cells(app, db, tmp_path):
    result, output = export(app, tmp_path, "xlsx")
    assert result.exit_code == 0, result.output
    workbook = load_workbook(output)
    sheet = workbook.active
    headers = [cell.value for cell in sheet[1]]
    assert headers[:4] == ["Mã", "Tên", "Loại", "Huyện"]
    assert {
        "Diện tích quy hoạch (ha)",
        "Hạ tầng hoàn thành (%)",
        "Xử lý nước thải",
        "Kinh độ",
        "Vĩ độ",
    } <= set(headers)
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert len(rows) == zone_count(db)
    my_an = rows["ccn-my-an"]
    by_header = dict(zip(headers, my_an, strict=True))
    assert by_header["Tên"].value == "Mỹ An"
    area = by_header["Diện tích quy hoạch (ha)"]
    with db.session() as session:
        stated = session.scalar(select(Zone.stated_area_ha).where(Zone.code == "ccn-my-an"))
    assert area.data_type == "n" and area.value == float(stated) and area.number_format == "#,##0.00"
    assert by_header["Hạ tầng hoàn thành (%)"].data_type == "n"
    assert by_header["Xử lý nước thải"].value == "Chưa có hệ thống XLNT tập trung"
    assert (
        by_header["Số liệu tính đến ngày"].is_date
        and by_header["Số liệu tính đến ngày"].number_format == "dd/mm/yyyy"
    )
    assert 105 < by_header["Kinh độ"].value < 107 and 21 < by_header["Vĩ độ"].value < 22
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref
    assert sheet.column_dimensions["B"].width >= 10


def test_the_shapefile_zip_has_its_parts_a_utf8_cpg_and_vietnamese_names_survive(app, db, tmp_path):
    result, output = export(app, tmp_path, "shp")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(output) as archive:
        names = sorted(archive.namelist())
        assert names == [f"khgeo-zones{s}" for s in (".cpg", ".dbf", ".prj", ".shp", ".shx")]
        assert archive.read("khgeo-zones.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        archive.extractall(tmp_path / "shp")
    info = pyogrio.read_info(tmp_path / "shp" / "khgeo-zones.shp")
    assert all(len(name) <= 10 for name in info["fields"])
    assert list(info["fields"]) == [column.shp for column in EXPORT_COLUMNS]
    assert info["crs"] == "EPSG:4326"
    frame = pyogrio.read_dataframe(tmp_path / "shp" / "khgeo-zones.shp")
    with db.session() as session:
        expected = dict(session.execute(select(Zone.code, Zone.name)).all())
    assert dict(zip(frame["code"], frame["name"], strict=True)) == expected
    assert "Đồng Đình" in set(frame["name"]) and "Việt Yên" in set(frame["district"])


def test_the_geopackage_has_zones_districts_tasks_and_the_task_zone_links(app, db, tmp_path):
    result, output = export(app, tmp_path, "gpkg")
    assert result.exit_code == 0, result.output
    layers = {name: kind for name, kind in pyogrio.list_layers(output)}
    assert layers == {"zones": "MultiPolygon", "districts": "MultiPolygon", "tasks": None, "task_zones": None}
    with db.session() as session:
        tasks = session.scalar(select(func.count(Task.id)))
    assert len(pyogrio.read_dataframe(output, layer="zones")) == zone_count(db)
    assert len(pyogrio.read_dataframe(output, layer="districts")) == 10
    task_frame = pyogrio.read_dataframe(output, layer="tasks")
    assert len(task_frame) == tasks and "lead_agency" in task_frame.columns
    links = pyogrio.read_dataframe(output, layer="task_zones")
    assert list(links.columns) == ["task_id", "zone_code"] and len(links) > 0
    assert set(links["zone_code"]) <= set(pyogrio.read_dataframe(output, layer="zones")["code"])


def test_csv_has_a_bom_property_headers_and_wkt(app, db, tmp_path):
    result, output = export(app, tmp_path, "csv", "--kind", "KCN")
    assert result.exit_code == 0, result.output
    body = output.read_bytes()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["code", "name", "kind"] and lines[0].endswith("wkt_wgs84")
    assert len(lines) - 1 == zone_count(db, kind="KCN")
    assert all(",KCN," in line for line in lines[1:])
    assert any("MULTIPOLYGON" in line for line in lines[1:])


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        (["--kind", "CCN"], {"kind": "CCN"}),
        (["--kind", "CCN", "--wwtp", "none"], {"kind": "CCN", "wwtp_status": "none"}),
        (["--district", "viet yen"], None),
        (["--q", "dong dinh"], None),
        (["--bbox", "106.0,21.1,106.3,21.4"], None),
    ],
)
def test_the_cli_filters_are_the_maps(app, db, client, tmp_path, filters, where):
    result, output = export(app, tmp_path, "geojson", *filters)
    assert result.exit_code == 0, result.output
    exported = json.loads(output.read_text("utf-8"))
    args = dict(zip([f.lstrip("-") for f in filters[::2]], filters[1::2], strict=True))
    api = client.get("/api/zones", query_string=args).get_json()
    assert [f["id"] for f in exported["features"]] == [f["id"] for f in api["features"]]
    if where:
        assert len(exported["features"]) == zone_count(db, **where)
    assert f"{len(exported['features'])} zones (GeoJSON)" in result.output


def test_a_bad_filter_is_a_clear_error(app, tmp_path):
    result, output = export(app, tmp_path, "csv", "--district", "Hà Nội")
    # in the default language, Vietnamese
    assert result.exit_code != 0 and "Không tìm thấy huyện, thành phố Hà Nội" in result.output
    assert not output.exists()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv", "xlsx"])
def test_the_download_route_serves_every_format_with_the_filter(client, db, fmt):
    response = client.get(f"/export/zones.{fmt}?kind=CCN&wwtp=none")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    if fmt == "geojson":
        assert len(response.get_json()["features"]) == zone_count(db, kind="CCN", wwtp_status="none")
    if fmt in ("shp", "xlsx"):
        assert zipfile.is_zipfile(io.BytesIO(response.data))


def test_downloads_bad_filters_and_unknown_formats(client):
    assert client.get("/export/zones.geojson?kind=XYZ").status_code == 400
    assert client.get("/export/zones.pdf").status_code == 404


def test_downloads_need_the_same_authorization_as_reading(database_url):
    closed = make_app(database_url, KHGEO_PUBLIC_READ=False)
    try:
        anonymous = closed.test_client().get("/export/zones.geojson")
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    finally:
        closed.extensions["khgeo.db"].engine.dispose()


def test_the_map_and_the_planning_page_link_the_downloads_with_the_current_filter(app, client):
    html = client.get("/?kind=CCN&wwtp=none").get_data(as_text=True)
    links = re.findall(r'href="(/export/zones\.[a-z]+[^"]*)"', html)
    assert [link.split("?")[0] for link in links] == [
        f"/export/zones.{fmt}" for fmt in ("geojson", "gpkg", "shp", "csv", "xlsx")
    ]
    assert all("kind=CCN" in link and "wwtp=none" in link for link in links)
    with app.extensions["khgeo.db"].session() as session:
        accounts.create_user(session, "planner", "correct horse battery", "planner")
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    )
    client.post(
        "/login", data={"username": "planner", "password": "correct horse battery", "csrf_token": token[1]}
    )
    planning = client.get("/planning").get_data(as_text=True)  # the planners' page needs a login
    assert "/export/zones.xlsx?kind=CCN&amp;wwtp=none" in planning
