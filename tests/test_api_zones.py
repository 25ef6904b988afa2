"""GET /api/zones and /api/zones/<code>: GeoJSON for programs, same filters as the map."""

from __future__ import annotations

import pytest

REQUIRED_PROPERTIES = {
    "code",
    "name",
    "kind",
    "district",
    "area_ha",
    "clearance_pct",
    "wwtp_status",
    "infrastructure_pct",
    "occupancy_pct",
    "geometry_source",
    "version",
    "updated_at",
}


def codes(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {feature["properties"]["code"] for feature in response.get_json()["features"]}


def test_collection_has_every_zone_with_the_documented_properties(client):
    response = client.get("/api/zones")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    collection = response.get_json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 25
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert REQUIRED_PROPERTIES <= set(feature["properties"]), feature["properties"].keys()
        assert feature["properties"]["kind"] in ("KCN", "CCN")
        geometry = feature["geometry"]
        assert geometry is None or geometry["type"] == "MultiPolygon"


def test_one_feature_with_plan_facts(client):
    response = client.get("/api/zones/ccn-dong-dinh")
    assert response.status_code == 200
    props = response.get_json()["properties"]
    assert props["name"] == "Đồng Đình"
    assert props["kind"] == "CCN"
    assert props["infrastructure_pct"] == 45
    assert props["wwtp_status"] == "none"
    assert props["version"] == 1


def test_unknown_zone_is_a_json_404(client):
    response = client.get("/api/zones/kcn-khong-co")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404
    assert "kcn-khong-co" in response.get_json()["error"]["message"]


def test_planners_view_clusters_without_wastewater_treatment(client):
    assert codes(client.get("/api/zones?kind=CCN&wwtp=none")) == {
        "ccn-dong-dinh",
        "ccn-doan-bai",
        "ccn-my-an",
    }


def test_filters_by_kind_and_district_by_code_or_folded_name(client):
    kcn = codes(client.get("/api/zones?kind=kcn"))
    assert "kcn-quang-chau" in kcn and not any(code.startswith("ccn-") for code in kcn)
    viet_yen = codes(client.get("/api/zones?district=222"))
    assert viet_yen == codes(client.get("/api/zones?district=viet%20yen"))
    assert {"kcn-quang-chau", "kcn-dinh-tram", "kcn-van-trung", "kcn-viet-han"} <= viet_yen
    assert "kcn-hoa-phu" not in viet_yen


@pytest.mark.parametrize("query", ["dong dinh", "Đồng Đình", "DONG DINH", "đồng đình", "dong  dinh"])
def test_search_ignores_diacritics_and_case(client, query):
    assert codes(client.get("/api/zones", query_string={"q": query})) == {"ccn-dong-dinh"}


@pytest.mark.parametrize("query", ["Đoàn Bái", "Đoan Bái", "doan bai"])
def test_both_spellings_of_doan_bai_find_it(client, query):
    assert codes(client.get("/api/zones", query_string={"q": query})) == {"ccn-doan-bai"}


def test_search_treats_like_wildcards_literally(client):
    assert codes(client.get("/api/zones", query_string={"q": "%"})) == set()
    assert codes(client.get("/api/zones", query_string={"q": "_"})) == set()


def test_bbox_keeps_only_zones_intersecting_it(client):
    everything = client.get("/api/zones").get_json()["features"]
    quang_chau = next(f for f in everything if f["properties"]["code"] == "kcn-quang-chau")
    ring = quang_chau["geometry"]["coordinates"][0][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    bbox = f"{min(lons)},{min(lats)},{max(lons)},{max(lats)}"
    found = codes(client.get("/api/zones", query_string={"bbox": bbox}))
    assert "kcn-quang-chau" in found
    assert len(found) < 5
    assert codes(client.get("/api/zones?bbox=100,8,100.5,8.5")) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=XYZ", "kind"),
        ("wwtp=broken", "wwtp"),
        ("district=Atlantis", "district"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=106,21,105,22", "bbox"),
        ("bbox=106,21,nan,22", "bbox"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_bad_filters_are_a_clear_400(client, query, field):
    response = client.get(f"/api/zones?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == field
    assert error["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_colour_indicator_on_the_map_is_a_400_page(client):
    response = client.get("/?color=rainbow")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "rainbow" in response.get_data(as_text=True)


def test_geometry_uses_six_decimals(client):
    feature = client.get("/api/zones/kcn-quang-chau").get_json()
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert len(str(lon).split(".")[1]) <= 6 and len(str(lat).split(".")[1]) <= 6
