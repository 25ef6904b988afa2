"""OGC API pages kept in memory (khgeo.services.interop.page_cache): served again only while the zones are unchanged.

Every kind of write must reach the next page at once, in this process and in another one (a second gunicorn
worker is a second app on the same database): API edits, retirement, raw SQL, district renames, deletions.
"""

from __future__ import annotations

import json

from sqlalchemy import select, text

from khgeo.models import District
from khgeo.services.interop.page_cache import PageCache, features_token
from tests.conftest import make_app
from tests.test_stored_features import admin_token, patch

ZONE = "kcn-quang-chau"
ITEMS = "/ogcapi/collections/zones/items?f=json&limit=50"


def page(client, url: str = ITEMS) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = json.loads(response.get_data())
    body.pop("timeStamp")
    return body


def properties(body: dict, code: str = ZONE) -> dict | None:
    return next((f["properties"] for f in body["features"] if f["id"] == code), None)


def cache_of(app) -> PageCache:
    return app.extensions["khgeo.ogc_pages"]


def test_a_page_asked_again_is_served_from_memory_and_is_the_same_page(app, client):
    first = page(client)
    assert (cache_of(app).hits, cache_of(app).misses) == (0, 2)  # the page and its filter's leaders
    assert page(client) == first
    assert cache_of(app).hits == 1
    # other offsets are other pages with the same leaders; another filter has its own; another CRS is computed
    # (its leaders are kept)
    page(client, ITEMS + "&offset=3")
    assert (cache_of(app).hits, cache_of(app).misses) == (2, 3)
    page(client, ITEMS + "&kind=CCN")
    assert (cache_of(app).hits, cache_of(app).misses) == (2, 5)
    crs = page(client, ITEMS + "&crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    assert (cache_of(app).hits, cache_of(app).misses, len(cache_of(app))) == (3, 5, 5)
    assert crs["numberMatched"] == first["numberMatched"]


def test_every_write_reaches_the_next_page_in_this_worker_and_another(app, db, client, database_url):
    other = make_app(database_url)  # a second gunicorn worker: its own memory, the same database
    other_client = other.test_client()
    try:
        for served in (client, other_client):
            assert properties(page(served))["infrastructure_pct"] != 61
        headers = admin_token(db)
        patch(
            client, headers, ZONE, {"infrastructure_pct": 61}
        )  # written through the API of the first worker
        for served in (client, other_client):
            assert properties(page(served))["infrastructure_pct"] == 61

        with db.session() as session:  # an operator in psql
            session.execute(text("UPDATE zones SET occupancy_pct = 12.5 WHERE code = :c"), {"c": ZONE})
        assert properties(page(other_client))["occupancy_pct"] == 12.5

        with db.session() as session:  # a district rename changes its zones' "district"
            session.scalars(select(District).where(District.code == "222")).one().name = "Việt Yên Mới"
        assert properties(page(client))["district"] == "Việt Yên Mới"
        assert properties(page(other_client))["district"] == "Việt Yên Mới"

        matched = page(client)["numberMatched"]
        patch(client, headers, ZONE, {"retired": True})
        for served in (client, other_client):
            body = page(served)
            assert properties(body) is None and body["numberMatched"] == matched - 1

        with db.session() as session:  # deleted rows (no trigger stores a Feature for them)
            code = session.execute(
                text("SELECT code FROM zones WHERE retired_at IS NULL ORDER BY id DESC")
            ).first()
            session.execute(text("DELETE FROM zones WHERE code = :c"), {"c": code[0]})
        for served in (client, other_client):
            body = page(served)
            assert properties(body, code[0]) is None and body["numberMatched"] == matched - 2
        # only `matched` was asked with no write since the page before it
        assert (cache_of(app).hits, cache_of(other).hits) == (1, 0)
    finally:
        other.extensions["khgeo.db"].engine.dispose()


def test_a_page_read_while_a_write_commits_is_not_kept(app, db):
    """The page may hold the data from before or after the write: kept under either token it could be wrong."""
    cache = PageCache(1 << 20)

    class Read:
        size = 10

    def read_during_a_write():
        with db.session() as writer:
            writer.execute(text("UPDATE zones SET occupancy_pct = 3 WHERE code = :c"), {"c": ZONE})
        return Read()

    with db.session() as session:
        before = features_token(session)
        cache.through(session, "page", read_during_a_write)
        session.commit()  # a new transaction, as the next request has
        assert features_token(session) != before
        assert len(cache) == 0
        cache.through(session, "page", Read)
        assert len(cache) == 1 and cache.hits == 0
        cache.through(session, "page", Read)
        assert cache.hits == 1


def test_the_memory_is_bounded_and_zero_turns_it_off(database_url):
    app = make_app(database_url, KHGEO_OGC_PAGE_CACHE_MB=0)
    try:
        client = app.test_client()
        assert page(client) == page(client)
        assert (cache_of(app).hits, len(cache_of(app))) == (0, 0)
    finally:
        app.extensions["khgeo.db"].engine.dispose()

    class Sized:
        def __init__(self, size: int):
            self.size = size

    cache = PageCache(100)
    db_app = make_app(database_url)
    try:
        with db_app.extensions["khgeo.db"].session() as session:
            for key in "abc":
                cache.through(session, key, lambda: Sized(40))
            assert len(cache) == 2  # the least recently used went first
            cache.through(session, "big", lambda: Sized(101))
            assert len(cache) == 2  # larger than the whole memory: served, not kept
    finally:
        db_app.extensions["khgeo.db"].engine.dispose()
