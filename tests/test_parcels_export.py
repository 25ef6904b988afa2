"""A zone's parcels as GeoPackage, XLSX and GeoJSON: re-read, the files hold the stored values; land users only for
those who may see them (masked otherwise), every export carrying them audited; no live formula in a workbook."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pyogrio
import pytest
import shapely
from sqlalchemy import select, text

from khgeo.cli import main
from khgeo.models import AuditEvent
from khgeo.services.parcels.privacy import MASK
from tests import helpers
from tests.test_parcels_import import ZONE, invoke, office_row, square, stored, write_gpkg, zone_point

MASK_VI = MASK.vi

FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def parcels(app, db, tmp_path):
    """Two parcels of KCN Quang Châu (one whose land user's "name" is a formula), one paid with its date."""
    x, y = zone_point(db)
    path = write_gpkg(
        tmp_path / "thua.gpkg",
        [
            office_row(2, 15, square(x, y), SoHo=2, SoNhanKhau=7),
            office_row(10, 3, square(x + 20, y), owner=FORMULA_NAME, area=410.5),
        ],
    )
    assert invoke(app, str(path), "--yes").exit_code == 0
    with db.session() as session:
        session.execute(
            text(
                "UPDATE parcels SET stage = 'paid', stage_date = '2026-11-20', amount_approved = 1250000000, "
                "amount_paid = 1250000000, dispute = true WHERE sheet = '2'"
            )
        )
    return stored(db)


def exports_audited(db) -> list[AuditEvent]:
    with db.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "parcels.export")))
        session.expunge_all()
    return events


def test_cli_geopackage_reads_back_the_stored_values(app, db, parcels, tmp_path):
    output = tmp_path / "out.gpkg"
    app.config["KHGEO_DEFAULT_LOCALE"] = "en"
    result = app.test_cli_runner().invoke(
        main, ["parcels", "export", "--zone", ZONE, "--format", "gpkg", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "2 parcels" in result.output
    assert pyogrio.list_layers(output)[0][0] == "parcels"
    frame = pyogrio.read_dataframe(output, layer="parcels")
    assert frame.crs.to_epsg() == 4326
    assert list(frame["sheet"]) == ["2", "10"]  # sheet 2 before sheet 10
    paid = frame.iloc[0]
    stored_paid = parcels["2", "15"]
    assert (
        paid["uid"] == stored_paid.uid
        and paid["commune_code"] == "07795"
        and paid["commune"] == "Phường Nếnh"
    )
    assert paid["stage"] == "paid" and paid["dispute"] == 1 and paid["amount_paid"] == 1250000000
    assert (
        paid["stage_date"] in (dt.date(2026, 11, 20), "2026-11-20")
        or str(paid["stage_date"])[:10] == "2026-11-20"
    )
    assert paid["area_m2"] == pytest.approx(stored_paid.area_m2) and paid["legal_area_m2"] == 400.0
    assert paid["land_user_name"] == "Nguyễn Văn An" and paid["households"] == 2 and paid["people"] == 7
    assert shapely.equals_exact(frame.geometry.iloc[0], stored_paid.outline, tolerance=1e-9)
    # the CLI is the server's operator: the land users are in the file, and that is audited
    (event,) = exports_audited(db)
    assert event.entity_id == ZONE and event.context["channel"] == "cli" and event.context["parcels"] == 2
    unknown = app.test_cli_runner().invoke(
        main, ["parcels", "export", "--zone", "nope", "--format", "gpkg", "--output", str(output)]
    )
    assert unknown.exit_code != 0 and "nope" in unknown.output and "Traceback" not in unknown.output


def _workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return openpyxl.load_workbook(io.BytesIO(response.data))


def test_xlsx_for_the_board_vietnamese_headers_labels_dates_and_no_formula(app, db, parcels):
    admin = helpers.client_as(app, "admin")
    response = admin.get(f"/zones/{ZONE}/parcels.xlsx")
    sheet = _workbook(response).active
    headers = [cell.value for cell in sheet[1]]
    assert "Số tờ bản đồ" in headers and "Người sử dụng đất" in headers and "Giai đoạn thu hồi" in headers
    rows = [dict(zip(headers, (cell for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    paid, other = rows
    assert paid["Giai đoạn thu hồi"].value == "Đã chi trả bồi thường"
    assert paid["Ngày đạt giai đoạn"].value.date() == dt.date(2026, 11, 20)
    assert paid["Ngày đạt giai đoạn"].number_format == "dd/mm/yyyy"
    assert paid["Tranh chấp"].value == "Có" and paid["Số tiền đã chi trả (đồng)"].value == 1250000000
    assert other["Diện tích pháp lý (m²)"].value == 410.5
    # a land user's "name" that is a formula stays text
    assert other["Người sử dụng đất"].value == FORMULA_NAME and other["Người sử dụng đất"].data_type == "s"
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert "attachment" in response.headers["Content-Disposition"]
    (event,) = exports_audited(db)
    assert event.context == {"format": "xlsx", "parcels": 2, "personal": True, "channel": "web"}


def test_viewers_get_masked_land_users_and_no_audit(app, db, parcels):
    viewer = helpers.client_as(app, "viewer")
    sheet = _workbook(viewer.get(f"/zones/{ZONE}/parcels.xlsx")).active
    headers = [cell.value for cell in sheet[1]]
    names = [row[headers.index("Người sử dụng đất")].value for row in sheet.iter_rows(min_row=2)]
    households = [row[headers.index("Số hộ bị ảnh hưởng")].value for row in sheet.iter_rows(min_row=2)]
    assert names == [MASK_VI, MASK_VI] and households == [None, None]
    # parcels are not public data: anonymous visitors log in first, even with public reading on
    assert app.test_client().get(f"/zones/{ZONE}/parcels.geojson").status_code == 302
    body = viewer.get(f"/zones/{ZONE}/parcels.geojson").get_data(as_text=True)
    assert "Nguyễn Văn An" not in body and "HYPERLINK" not in body
    collection = json.loads(body)
    properties = [f["properties"] for f in collection["features"]]
    assert [p["land_user_name"] for p in properties] == [MASK_VI, MASK_VI]
    assert [p["people"] for p in properties] == [None, None]
    # everything else is the stored parcel
    paid = parcels["2", "15"]
    assert properties[0]["uid"] == paid.uid and properties[0]["stage"] == "paid"
    assert properties[0]["stage_date"] == "2026-11-20" and properties[0]["area_m2"] == pytest.approx(
        paid.area_m2
    )
    outline = shapely.geometry.shape(collection["features"][0]["geometry"])
    assert shapely.hausdorff_distance(outline, paid.outline) < 1e-6  # 7 decimals: ~1 cm
    assert exports_audited(db) == []


def test_field_staff_of_the_zones_area_see_land_users(app, db, parcels):
    field = helpers.client_as(app, "field")  # Việt Yên, where KCN Quang Châu lies
    collection = json.loads(field.get(f"/zones/{ZONE}/parcels.geojson").get_data(as_text=True))
    assert collection["features"][0]["properties"]["land_user_name"] == "Nguyễn Văn An"
    assert len(exports_audited(db)) == 1


def test_export_links_and_errors(app, db, parcels):
    client = helpers.client_as(app, "planner")
    page = client.get(f"/zones/{ZONE}").get_data(as_text=True)
    assert f"/zones/{ZONE}/parcels.gpkg" in page and f"/zones/{ZONE}/parcels.xlsx" in page
    assert client.get(f"/zones/{ZONE}/parcels.csv").status_code == 404
    assert client.get("/zones/nope/parcels.gpkg").status_code == 404
