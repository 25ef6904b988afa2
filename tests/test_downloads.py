"""Downloads: one charset in a CSV's Content-Type, and file names that say what was filtered (ASCII for old clients,
Vietnamese in RFC 5987 ``filename*``)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from khgeo.text import ascii_file_name, file_name
from tests.helpers import add_user, login


def disposition(response) -> tuple[str, str | None]:
    """(filename, filename*) of an attachment, filename* decoded."""
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment;"), header
    plain = re.search(r'filename="([^"]*)"', header)
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert plain, header
    assert plain.group(1).isascii()
    return plain.group(1), unquote(extended.group(1)) if extended else None


@pytest.mark.parametrize(
    ("query", "ascii_name", "vietnamese"),
    [
        ("kind=CCN", "khu-cum-CCN.xlsx", "khu-cụm-CCN.xlsx"),
        ("kind=CCN&wwtp=none", "khu-cum-CCN-chua-co-XLNT.xlsx", "khu-cụm-CCN-chưa-có-XLNT.xlsx"),
        ("kind=KCN&district=viet+yen", "khu-cum-KCN-Viet-Yen.xlsx", "khu-cụm-KCN-Việt-Yên.xlsx"),
        ("", "khu-cum.xlsx", "khu-cụm.xlsx"),
    ],
)
def test_the_zones_export_is_named_after_its_filter(client, query, ascii_name, vietnamese):
    response = client.get(f"/export/zones.xlsx?{query}")
    assert response.status_code == 200
    assert disposition(response) == (ascii_name, vietnamese)


def test_every_export_format_keeps_the_filter_in_its_name(client):
    for fmt, extension in [("geojson", "geojson"), ("gpkg", "gpkg"), ("shp", "shp.zip"), ("csv", "csv")]:
        response = client.get(f"/export/zones.{fmt}?kind=CCN&wwtp=none")
        assert disposition(response)[0] == f"khu-cum-CCN-chua-co-XLNT.{extension}"


def test_csv_has_exactly_one_charset(client, db):
    export = client.get("/export/zones.csv?kind=CCN")
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    admin = add_user(db, "admin")
    login(client, admin)
    audit = client.get("/admin/audit.csv")
    assert audit.status_code == 200
    assert audit.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert disposition(audit)[0] == "nhat-ky.csv"
    filtered = client.get(f"/admin/audit.csv?username={admin}")
    assert disposition(filtered) == (f"nhat-ky-{admin}.csv", f"nhật-ký-{admin}.csv")


def test_the_planners_list_of_clusters_without_wastewater_treatment_says_so(client, db):
    login(client, add_user(db, "planner"))
    response = client.get("/planning/wwtp.xlsx")
    assert response.status_code == 200
    assert disposition(response) == ("khu-cum-CCN-chua-co-XLNT.xlsx", "khu-cụm-CCN-chưa-có-XLNT.xlsx")
    stalled = client.get("/planning/stalled.xlsx?days=90")
    assert disposition(stalled)[0] == "khu-cum-GPMB-cham-90-ngay.xlsx"


def test_file_names_are_safe_in_a_header():
    hostile = file_name('khu cụm "x"; filename=evil.exe\r\nSet-Cookie: a=b')
    assert '"' not in hostile and ";" not in hostile and "\n" not in hostile and "\r" not in hostile
    assert ascii_file_name("Đồng Đình/../x.xlsx") == "Dong-Dinh-..-x.xlsx"
    assert "/" not in ascii_file_name("a/b")
