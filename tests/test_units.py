"""Administrative units over time (issue 13): the 2022 units beside the 2025 ones, the crosswalk between them,
each zone's unit(s) today, and the `unit=` filter on every channel."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, text

from khgeo.errors import BadRequest
from khgeo.models import AdminUnit
from khgeo.services.seed import seed
from khgeo.services.units.catalogue import unlinked_2022_communes
from khgeo.services.units.resolve import resolve_unit, today_ids
from tests.helpers import client_as


@pytest.fixture
def session(db):
    with db.session() as session:
        yield session


def _today(session, raw: str) -> set[str]:
    unit = resolve_unit(session, raw)
    return {u.code for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(today_ids(unit))))}


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("xã Quang Châu", {"07795"}),
        ("Quang Chau", {"07795"}),
        ("Thị trấn Nếnh", {"07795"}),
        ("xã Vân Trung", {"07795"}),
        ("07807", {"07795"}),  # Quang Châu's 2022 code
        ("Hương Lâm", {"07870"}),  # a commune of KCN Hòa Phú
        ("xa mai dinh", {"07870"}),
        ("Phường Nếnh", {"07795"}),
        ("phuong nenh", {"07795"}),
        ("07795", {"07795"}),
        ("Xã Xuân Cẩm", {"07870"}),
        ("Phượng Sơn", {"07612"}),  # a name that begins like a type ("phường")
        ("phuong phuong son", {"07612"}),
        ("TP Bắc Giang", {"07210", "07228", "07696", "07699"}),  # a 2022 city: the units now covering it
    ],
)
def test_the_crosswalk_leads_2022_communes_to_their_2025_unit(session, raw, codes):
    assert _today(session, raw) == codes


def test_a_2022_district_means_the_2025_units_covering_it(session):
    viet_yen = _today(session, "huyện Việt Yên")
    assert {"07795", "07777"} <= viet_yen  # Phường Nếnh, Phường Việt Yên
    assert "07870" not in viet_yen  # Xã Xuân Cẩm is old Hiệp Hòa
    assert _today(session, "H. Việt Yên") == viet_yen == _today(session, "222")


def test_units_of_both_periods_with_their_validity(session):
    nenh_2025 = session.scalars(
        select(AdminUnit).where(AdminUnit.period == "2025", AdminUnit.code == "07795")
    ).one()
    assert nenh_2025.full_name == "Phường Nếnh" and str(nenh_2025.valid_from) == "2025-07-01"
    assert (
        nenh_2025.valid_to is None
        and nenh_2025.geom is not None
        and nenh_2025.parent.full_name == "Tỉnh Bắc Ninh"
    )
    quang_chau = session.scalars(
        select(AdminUnit).where(AdminUnit.period == "2022", AdminUnit.code == "07807")
    ).one()
    assert quang_chau.full_name == "Xã Quang Châu" and str(quang_chau.valid_to) == "2025-06-30"
    assert quang_chau.parent.full_name == "Huyện Việt Yên" and quang_chau.parent.district_id is not None
    assert [s.code for s in quang_chau.successors] == ["07795"]
    assert session.scalar(text("SELECT source FROM admin_unit_links LIMIT 1")).startswith(
        "NQ 1658/NQ-UBTVQH15"
    )
    counts = dict(session.execute(text("SELECT period || level, count(*) FROM admin_units GROUP BY 1")).all())
    assert counts == {
        "2022province": 1,
        "2022district": 10,
        "2022commune": 209,
        "2025province": 1,
        "2025commune": 99,
    }
    # the 2022 communes whose code left the register before 2025 stay unlinked: the data do not say where
    unlinked = {u.full_name for u in unlinked_2022_communes(session)}
    assert len(unlinked) == 17 and "Xã Vũ Xá" in unlinked


def test_reseeding_changes_nothing(session):
    report = seed(session)
    assert report.created["admin_units"] == 0 and report.created["admin_unit_links"] == 0
    assert report.existing["admin_units"] == 320


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Atlantis", "Atlantis"),
        ("Đồng Tiến", "07243"),  # two 2022 communes: Yên Thế and Hiệp Hòa
    ],
)
def test_unknown_and_ambiguous_names_are_refused(session, raw, message):
    with pytest.raises(BadRequest) as error:
        resolve_unit(session, raw)
    assert message in str(error.value.message)


def test_an_ambiguous_name_lists_the_candidates_with_their_districts(client):
    response = client.get("/api/zones", query_string={"unit": "Đồng Tiến"})
    assert response.status_code == 400
    body = response.get_json()["error"]["message"]
    for expected in ("07243", "Huyện Yên Thế", "07816", "Huyện Hiệp Hòa"):
        assert expected in body
    assert client.get("/api/zones", query_string={"unit": "Đồng Tiến, Hiệp Hòa"}).status_code == 200


def test_unknown_unit_is_a_400_naming_it(client):
    response = client.get("/api/zones", query_string={"unit": "Atlantis"})
    assert response.status_code == 400 and "Atlantis" in response.get_json()["error"]["message"]


# -- zones in both worlds --------------------------------------------------------------------------------------
def _feature(client, code: str) -> dict:
    response = client.get(f"/api/zones/{code}")
    assert response.status_code == 200
    return response.get_json()["properties"]


def test_zones_placed_by_the_crosswalk_of_the_communes_the_plan_names(client):
    quang_chau = _feature(client, "kcn-quang-chau")
    assert quang_chau["unit_codes"] == ["07795"]
    assert quang_chau["units"] == "Phường Nếnh (trước 01/7/2025: xã Quang Châu, huyện Việt Yên)"
    assert _feature(client, "kcn-hoa-phu")["unit_codes"] == ["07870"]
    assert _feature(client, "kcn-viet-han")["unit_codes"] == ["07777", "07795"]
    # names no 2022 register row resolves are placed as the data file says (by GADM point)
    assert _feature(client, "ccn-vu-xa")["unit_codes"] == ["07519"]
    assert _feature(client, "ccn-viet-nhat")["unit_codes"] == []
    assert _feature(client, "ccn-viet-nhat")["units"] is None


def test_the_placements_agree_with_the_data_file(client):
    import csv

    from khgeo.services.seed import DATA_DIR

    rows = list(
        csv.DictReader((DATA_DIR / "units-2025" / "bacgiang_zones_to_2025_units.csv").open(encoding="utf-8"))
    )
    expected = {row["zone"]: sorted(c[-6:-1] for c in row["new_units_2025"].split("; ") if c) for row in rows}
    served = {
        f["properties"]["name"]: f["properties"]["unit_codes"]
        for f in client.get("/api/zones").get_json()["features"]
    }
    assert served["Quang Châu"] == expected["KCN Quang Châu"]
    assert served["Tân Hưng"] == expected["KCN Tân Hưng"] == ["07375"]
    assert served["Lăng Cao"] == expected["CCN Lăng Cao"]
    assert served["Mỹ An"] == expected["CCN Mỹ An"]
    assert served["Già Khê"] == expected["CCN Già Khê"]


def _set_outline(db, code: str, wkt: str, source: str = "surveyed") -> None:
    with db.session() as session:
        session.execute(
            text(
                "UPDATE zones SET geom = ST_Multi(ST_GeomFromText(:wkt, 4326)), geometry_source = :source, "
                "version = version + 1 WHERE code = :code"
            ),
            {"wkt": wkt, "code": code, "source": source},
        )


def _inside(db, unit_code: str) -> tuple[float, float]:
    with db.session() as session:
        return session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM admin_units "
                "WHERE period = '2025' AND code = :code) s"
            ),
            {"code": unit_code},
        ).one()


def test_a_real_outline_places_the_zone_by_its_overlap_slivers_ignored(client, db):
    # KCN Hòa Phú surveyed inside Phường Nếnh: the outline, not the crosswalk, decides (and the label follows)
    lon, lat = _inside(db, "07795")
    square = f"POLYGON(({lon} {lat},{lon + 0.002} {lat},{lon + 0.002} {lat + 0.002},{lon} {lat + 0.002},{lon} {lat}))"
    _set_outline(db, "kcn-hoa-phu", square)
    props = _feature(client, "kcn-hoa-phu")
    assert props["unit_codes"] == ["07795"]
    assert props["units"].startswith("Phường Nếnh (trước 01/7/2025: xã Mai Đình")
    # an outline straddling a boundary touches both units; a 1 % sliver across it is ignored
    with db.session() as session:
        boundary = session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Intersection(ST_Boundary(a.geom), "
                "ST_Boundary(b.geom))) p FROM admin_units a, admin_units b WHERE a.period = '2025' "
                "AND b.period = '2025' AND a.code = '07795' AND b.code = '07777') s"
            )
        ).one()
    bx, by = boundary
    _set_outline(
        db, "kcn-hoa-phu", f"POINT({bx} {by})".replace("POINT", "POINT") and _buffer_wkt(db, bx, by, 0.004)
    )
    assert _feature(client, "kcn-hoa-phu")["unit_codes"] == ["07777", "07795"]
    # an illustrative outline does not count: the crosswalk decides again
    _set_outline(db, "kcn-hoa-phu", square, source="illustrative")
    assert _feature(client, "kcn-hoa-phu")["unit_codes"] == ["07870"]


def _buffer_wkt(db, lon: float, lat: float, radius: float) -> str:
    with db.session() as session:
        return session.scalar(
            text("SELECT ST_AsText(ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :r))"),
            {"x": lon, "y": lat, "r": radius},
        )


def test_slivers_are_ignored(client, db):
    lon, lat = _inside(db, "07870")
    with db.session() as session:
        # a zone almost wholly in Xã Xuân Cẩm poking 1 % of its area into a neighbour
        wkt = session.scalar(
            text(
                "WITH u AS (SELECT geom FROM admin_units WHERE period = '2025' AND code = '07870'), "
                "b AS (SELECT ST_Buffer(ST_ClosestPoint(ST_Boundary(u.geom), ST_SetSRID(ST_MakePoint(:x, :y), 4326)),"
                " 0.003) g FROM u) "
                "SELECT ST_AsText(ST_Union(ST_Intersection(b.g, u.geom), "
                "ST_Intersection(ST_Difference(b.g, u.geom), ST_Buffer(ST_Boundary(u.geom), 0.00004)))) FROM b, u"
            ),
            {"x": lon, "y": lat},
        )
    _set_outline(db, "kcn-hoa-phu", wkt)
    assert _feature(client, "kcn-hoa-phu")["unit_codes"] == ["07870"]


# -- filters -------------------------------------------------------------------------------------------------------
NENH = {"kcn-quang-chau", "kcn-dinh-tram", "kcn-van-trung", "kcn-viet-han"}


@pytest.mark.parametrize(
    "raw", ["Phường Nếnh", "phuong nenh", "07795", "xã Quang Châu", "Quang Chau", "Vân Trung", "07807"]
)
def test_the_unit_filter_takes_2025_and_2022_names_and_codes(client, raw):
    codes = {f["id"] for f in client.get("/api/zones", query_string={"unit": raw}).get_json()["features"]}
    assert codes == NENH


def test_the_unit_filter_on_every_channel(client):
    assert "kcn-hoa-phu" in {
        f["id"] for f in client.get("/api/zones", query_string={"unit": "Xuân Cẩm"}).get_json()["features"]
    }
    ogc = client.get("/ogcapi/collections/zones/items", query_string={"units": "Phường Nếnh", "f": "json"})
    assert ogc.status_code == 200
    assert {f["id"] for f in ogc.get_json()["features"]} == NENH
    assert (
        client.get("/ogcapi/collections/zones/items", query_string={"units": "Atlantis"}).status_code == 400
    )
    queryables = client.get("/ogcapi/collections/zones/queryables", query_string={"f": "json"}).get_json()
    assert "units" in queryables["properties"]
    exported = client.get("/export/zones.geojson", query_string={"unit": "xa quang chau"})
    assert exported.status_code == 200
    assert {f["properties"]["code"] for f in json.loads(exported.get_data())["features"]} == NENH
    listing = client.get("/", query_string={"unit": "Phường Nếnh"})
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert 'href="/zones/kcn-quang-chau"' in page and 'href="/zones/kcn-hoa-phu"' not in page
    assert client.get("/", query_string={"unit": "Atlantis"}).status_code == 400
    # district= keeps working
    assert {
        f["id"]
        for f in client.get("/api/zones", query_string={"district": "Việt Yên"}).get_json()["features"]
    } == NENH


def test_zone_page_and_popup_show_both_worlds(client):
    label = "Phường Nếnh (trước 01/7/2025: xã Quang Châu, huyện Việt Yên)"
    for url in ("/zones/kcn-quang-chau", "/zones/kcn-quang-chau/popup"):
        page = client.get(url).get_data(as_text=True)
        assert label in page


def test_the_map_draws_the_2025_units_and_offers_the_2022_districts(client):
    page = client.get("/").get_data(as_text=True)
    layers = {
        name: added
        for name, added in re.findall(
            r"var (districts_layer_\w+) = khgeo\.districtsLayer\([^)]*\)(\.addTo\(\w+\))?;", page
        )
    }
    overlays = dict(re.findall(r'"([^"]+)" : (districts_layer_\w+)', page))
    units = overlays[json.dumps("Ranh giới xã, phường (từ 01/7/2025)")[1:-1]]
    districts = overlays[json.dumps("Ranh giới huyện, thành phố (năm 2022)")[1:-1]]
    assert layers[units] and not layers[districts], "the 2025 units drawn, the 2022 districts a choice"
    assert '"name" : "Phường Nếnh"' in page and '"name" : "Huyện Việt Yên"' in page


def test_the_header_names_the_province_now_and_the_former_one(client):
    page = client.get("/").get_data(as_text=True)
    assert "tỉnh Bắc Ninh — địa bàn tỉnh Bắc Giang cũ" in page


def test_the_stored_features_follow_a_change_to_the_units(client, db):
    with db.session() as session:
        session.execute(
            text(
                "UPDATE admin_units SET full_name = 'Phường Nếnh Mới' WHERE period = '2025' AND code = '07795'"
            )
        )
        session.commit()
    assert _feature(client, "kcn-quang-chau")["units"].startswith("Phường Nếnh Mới (trước 01/7/2025")
    ogc = client.get("/ogcapi/collections/zones/items/kcn-quang-chau", query_string={"f": "json"}).get_json()
    assert ogc["properties"]["units"].startswith("Phường Nếnh Mới")


def test_the_yearly_report_names_the_province_now_and_its_issuer_from_settings(app, db):
    import io

    import docx

    from tests.test_report_documents import docx_text, record_year

    with app.app_context(), db.session() as session:
        record_year(session)
    admin = client_as(app, "admin")
    response = admin.get("/reports/2026/consolidated.docx")
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.data))
    left = [p.text for p in document.tables[0].rows[0].cells[0].paragraphs if p.text]
    assert left[:2] == ["UBND TỈNH BẮC NINH", "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"]
    text = docx_text(document)
    assert "(tỉnh Bắc Ninh — địa bàn tỉnh Bắc Giang cũ)" in text
    assert any(line.startswith("Bắc Ninh, ngày ") for line in text)
    # the plan's own words are not rewritten
    assert any("Nghị quyết số 24/NQ-HĐND ngày 12/7/2022 của HĐND tỉnh" in line for line in text)


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_the_yearly_report_groups_zones_by_2025_unit_or_2022_district(app, db, fmt):
    import io

    import docx
    import openpyxl

    from tests.test_report_documents import docx_text, record_year

    with app.app_context(), db.session() as session:
        record_year(session)
    admin = client_as(app, "admin")
    for group, expected, absent in (
        ("unit", "Phường Nếnh", "Huyện, TP"),
        ("district", "Việt Yên", "Xã, phường"),
    ):
        response = admin.get(f"/reports/2026/consolidated.{fmt}", query_string={"group": group})
        assert response.status_code == 200
        if fmt == "docx":
            text = "\n".join(docx_text(docx.Document(io.BytesIO(response.data))))
        else:
            book = openpyxl.load_workbook(io.BytesIO(response.data))
            text = "\n".join(
                str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value
            )
        assert expected in text
        if fmt == "docx":
            assert absent not in text
