"""HTML pages without a browser: status codes, language, dates, and no external hosts but the tiles."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_TILES_URL


def test_map_page_is_vietnamese_by_default_and_lists_zones(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "25 khu, cụm công nghiệp" in html
    assert "KCN Quang Châu" in html


def test_english_on_request(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "25 zones" in html


def test_no_page_refers_to_an_external_host_except_the_tiles(client):
    tile_host = TEST_TILES_URL.split("/{z}")[0]
    for path in ("/", "/?kind=CCN&wwtp=none", "/zones/kcn-quang-chau", "/zones/ccn-dong-dinh"):
        html = client.get(path).get_data(as_text=True)
        hosts = set(re.findall(r"""(?:src|href)=["'](https?://[^"'/]+)""", html))
        urls_in_scripts = set(re.findall(r"https?://[a-z0-9.-]+", html))
        allowed = {tile_host, "https://www.openstreetmap.org"}  # tiles and their attribution link
        # a zone page links the documents it cites, in its list of sources, and nowhere else
        cited = re.findall(r'<li class="source"[^>]*><a href="(https?://[^"/]+)', html)
        if path == "/zones/kcn-quang-chau":
            assert cited, "the zone page links the sources it cites (so the check above means something)"
        assert hosts - allowed - set(cited) == set(), path
        assert {u for u in urls_in_scripts if "cdn" in u or "unpkg" in u or "jquery" in u} == set(), path


def test_zone_page_404_is_a_page(client):
    response = client.get("/zones/khong-co")
    assert response.status_code == 404
    assert "khong-co" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/?kind=XYZ", "/?bbox=1,2", "/?district=Atlantis", "/?wwtp=maybe"])
def test_bad_filters_on_the_map_are_a_400_page_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-message"' in html
    assert "Traceback" not in html


def test_dates_are_dd_mm_yyyy(client):
    html = client.get("/zones/ccn-doan-bai").get_data(as_text=True)
    assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", html)
    visible = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    visible = re.sub(r'<input[^>]*type="date"[^>]*>', "", visible)  # date inputs carry ISO values by standard
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", visible)


def test_zone_page_lists_its_sources_and_says_the_outline_is_illustrative(client):
    html = client.get("/zones/ccn-doan-bai").get_data(as_text=True)
    assert "KH-NQ24" in html
    assert "minh họa" in html


def test_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}, "anonymous callers learn ok / not ok only"
