"""Responses are compressed by khgeo itself (no proxy in front) when, and only when, the client accepts it."""

from __future__ import annotations

import gzip
import json
import re
import uuid

import brotli
import pytest
from sqlalchemy import text

from khgeo.services import accounts
from tests.conftest import LiveServer, make_app
from tests.test_ogcapi import ogrinfo

PAGE = "/ogcapi/collections/zones/items?f=json&limit=1000"
ZONE = "kcn-quang-chau"

# 1,000 more zones as benchmarks/ogc_vs_peers.py makes them (map_scale.py's grid of 20–60 ha squares with varied
# figures, each made a compact 33-vertex outline of the same area, like the seeded ones)
THOUSAND_ZONES_SQL = """
INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source, geometry_note,
                   stated_area_ha, developer, infrastructure_pct, clearance_area_ha, cleared_area_ha, wwtp_status,
                   occupancy_pct, notes, sources, osm_ref, version, district_id)
SELECT 'syn-' || i, 'Khu tổng hợp ' || i, ARRAY[]::text[],
       CASE WHEN i % 3 = 0 THEN 'KCN' ELSE 'CCN' END, ARRAY['Xã ' || (i % 200)],
       ST_Multi(ST_Buffer(ST_Centroid(square)::geography, sqrt(ST_Area(square::geography) / pi()),
                          'quad_segs=8')::geometry),
       'illustrative', '', round((side * side * 1.1e4 * 100)::numeric, 2), 'Công ty ' || (i % 97),
       (i * 37) % 101, 100, (i * 13) % 101,
       (ARRAY['none', 'planned', 'under_construction', 'operating', NULL])[1 + i % 5],
       (i * 7) % 101, '', '{}'::jsonb, '', 1, (SELECT id FROM districts ORDER BY code OFFSET i % 10 LIMIT 1)
FROM generate_series(0, 999) AS i,
     LATERAL (SELECT 0.002 + (i % 5) * 0.0012 AS side) AS size,
     LATERAL (SELECT ST_MakeEnvelope(105.9 + (i % 155) * (1.1 / 155), 21.15 + (i / 155) * (0.45 / 66),
                                     105.9 + (i % 155) * (1.1 / 155) + side,
                                     21.15 + (i / 155) * (0.45 / 66) + side, 4326) AS square) AS cell
"""


@pytest.fixture
def thousand_zones(db):
    with db.session() as session:
        session.execute(text(THOUSAND_ZONES_SQL))


def test_a_1000_zone_page_is_at_most_250_kib_compressed_and_the_same_json(client, thousand_zones):
    plain = client.get(PAGE)
    assert "Content-Encoding" not in plain.headers, "no Accept-Encoding: never compressed"
    assert "Accept-Encoding" in plain.headers["Vary"]
    document = json.loads(plain.data)
    assert document["numberReturned"] == 1000 and len(plain.data) > 1024 * 1024
    del document["timeStamp"]
    for accept, encoding, decompress in (
        ("gzip", "gzip", gzip.decompress),
        ("gzip, deflate, br", "br", brotli.decompress),
        ("br;q=0.5, gzip", "gzip", gzip.decompress),
    ):
        response = client.get(PAGE, headers={"Accept-Encoding": accept})
        assert response.headers["Content-Encoding"] == encoding, accept
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["Content-Type"] == "application/geo+json"
        assert len(response.data) <= 250 * 1024, f"{accept}: {len(response.data) / 1024:.0f} KiB"
        assert int(response.headers["Content-Length"]) == len(response.data)
        unpacked = json.loads(decompress(response.data))
        del unpacked["timeStamp"]
        assert unpacked == document


@pytest.mark.parametrize(
    "accept", ["identity", "gzip;q=0", "gzip;q=0, br;q=0", "*;q=0", "compress", "gzip;q=0, br;q=0, *"]
)
def test_refused_or_unknown_encodings_are_not_used(client, accept):
    response = client.get("/api/zones", headers={"Accept-Encoding": accept})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert len(json.loads(response.data)["features"]) == 25


def test_a_wildcard_allows_brotli_unless_it_is_refused_by_name(client):
    assert (
        client.get("/api/zones", headers={"Accept-Encoding": "gzip;q=0, *"}).headers["Content-Encoding"]
        == "br"
    )
    response = client.get("/api/zones", headers={"Accept-Encoding": "br;q=0, *"})
    assert response.headers["Content-Encoding"] == "gzip"


def test_html_pages_are_compressed_small_bodies_and_compressed_formats_are_not(client):
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "<html" in gzip.decompress(page.data).decode()
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "Content-Encoding" not in small.headers
    assert len(small.data) < 1024
    xlsx = client.get("/export/zones.xlsx", headers={"Accept-Encoding": "gzip, br"})
    assert xlsx.status_code == 200 and "Content-Encoding" not in xlsx.headers
    assert xlsx.data[:2] == b"PK"


def test_etags_name_the_encoding_and_conditional_requests_still_work(app, db, client):
    plain = client.get(f"/api/zones/{ZONE}")
    version = plain.headers["ETag"]
    packed = client.get(f"/api/zones/{ZONE}", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["ETag"] == version[:-1] + '-gzip"', "another representation, another strong ETag"
    assert json.loads(gzip.decompress(packed.data)) == json.loads(plain.data)

    unchanged = client.get(
        f"/api/zones/{ZONE}", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == packed.headers["ETag"]
    assert client.get(f"/api/zones/{ZONE}", headers={"If-None-Match": version}).status_code == 304

    username = f"admin-{uuid.uuid4().hex[:8]}"
    with db.session() as session:
        accounts.create_user(session, username, "mat-khau-dai-du-10", "admin")
        token = accounts.new_token(session, username)
    # a client that read the compressed representation sends its ETag back: it names the same version
    response = client.patch(
        f"/api/zones/{ZONE}",
        json={"infrastructure_pct": 62},
        headers={
            "Authorization": f"Bearer {token}",
            "If-Match": packed.headers["ETag"],
            "Accept-Encoding": "br",
        },
    )
    assert response.status_code == 200, response.data
    assert response.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(response.data))["properties"]["infrastructure_pct"] == 62
    stale = client.patch(
        f"/api/zones/{ZONE}",
        json={"infrastructure_pct": 63},
        headers={"Authorization": f"Bearer {token}", "If-Match": packed.headers["ETag"]},
    )
    assert stale.status_code == 412


def test_static_files_are_compressed_and_revalidate(client):
    css = next(iter(re.findall(r'href="(/static/[^"]+\.css)[^"]*"', client.get("/").get_data(as_text=True))))
    first = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.data) == client.get(css).data
    again = client.get(css, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_gdal_reads_the_compressed_api(database_url):
    """GDAL (ogrinfo's OAPIF driver) sends Accept-Encoding and reads what khgeo compresses."""
    app = make_app(database_url)
    seen: list[tuple[str, str]] = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        def record(status, headers, *rest):
            encoding = dict(headers).get("Content-Encoding", "")
            seen.append((environ.get("HTTP_ACCEPT_ENCODING", ""), encoding))
            return start_response(status, headers, *rest)

        return inner(environ, record)

    app.wsgi_app = recording
    server = LiveServer(app)
    try:
        listing = ogrinfo("-ro", f"OAPIF:{server.url}/ogcapi", "zones")
    finally:
        server.stop()
    assert len(re.findall(r"^OGRFeature\(zones\):", listing, flags=re.M)) == 25
    assert any(encoding for _accept, encoding in seen), seen
