"""Parcels at scale: 100,000 parcels in the seeded zones, as vector tiles and on the map, side by side in one run.

A throwaway PostGIS cluster is migrated, seeded and filled with 100,000 parcels: in each located zone a square grid
(in Web Mercator, cells shrunk by 4 % so neighbours do not touch) whose cells' centres fall inside the zone's
outline, sized so each zone gets about the same number, with stages and stage dates spread over them, and the
legal timers the migrations seed (migration 0024), so that ``overdue`` is computed for real. Then:

1. Tiles, z12–z16 (khgeo's kept tiles emptied, so each request builds its tile; then again with them, every
   request after the first a hit): for every zoom, the tile under each zone's point-on-surface, requested through khgeo
   (``GET /tiles/parcels/{z}/{x}/{y}.mvt`` with an API token, in-process: Flask, the read gate, the ETag's query,
   the tile's statement) and run as the bare statement (the same ST_AsMVT query over psycopg, the floor for any
   server of the same tile), interleaved and repeated: p50/p99 of each, the median of the pairs' ratios (target
   ≤ 1.2×; p99 ≤ 25 ms at z14), bytes per tile raw and brotli'd (what a browser gets), parcels per tile. Twice:
   without compression (the ratio of like with like) and with a browser's Accept-Encoding.
2. Chromium (Debian's, through Playwright), logged in: the main map set to a z14 view over a zone, time until
   the parcels are drawn from the tiles (target ≤ 1.0 s), then a pan of 400 px until the new tiles are drawn
   (target ≤ 0.3 s), JS heap after; the same view drawn from one GeoJSON FeatureCollection of the 100,000
   parcels (canvas renderer, as khgeo's zones layer draws large collections) to show why tiles.

Only 127.0.0.1 is contacted. Clients, server and PostgreSQL share the machine: the CPU count and load average are
printed; quote them with the figures.

    .venv/bin/python benchmarks/parcels_scale.py [--parcels 100000] [--repeat 5] [--browser-repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import shutil
import statistics
import threading
import time

import brotli
import psycopg
from throwaway import seeded_database
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from khgeo.app import create_app
from khgeo.codes import PARCEL_STAGE
from khgeo.services import accounts
from khgeo.services.parcels import tiles

TODAY = dt.date(2026, 11, 26)
ZOOMS = (12, 13, 14, 15, 16)
PASSWORD = "bench-only-mat-khau-10"

PARCELS_SQL = """
WITH located AS (
    SELECT id, row_number() OVER (ORDER BY code) AS k, ST_Transform(geom, 3857) AS merc
    FROM zones WHERE geom IS NOT NULL AND retired_at IS NULL
), sized AS (
    SELECT located.*, sqrt(ST_Area(merc) / %(per_zone)s) AS cell FROM located
), cells AS (
    SELECT s.id AS zone_id, s.k, s.cell, g.i, g.j, g.geom AS square
    FROM sized AS s, LATERAL ST_SquareGrid(s.cell, s.merc) AS g
    WHERE ST_Intersects(ST_Centroid(g.geom), s.merc)
), outlines AS (
    SELECT zone_id, k, i, j, ST_Transform(ST_Buffer(square, -0.02 * cell, 'join=mitre'), 4326) AS outline,
           row_number() OVER (PARTITION BY k ORDER BY i, j) AS n
    FROM cells
)
INSERT INTO parcels (uid, commune_code, sheet, number, land_type, address, land_user_kind, land_user_name,
                     households, people, zone_id, zone_overridden, geom, geometry_source, illustrative, stage,
                     stage_date, compulsory_inventory, enforcement, dispute, resettlement_needed, version, area_m2)
SELECT ST_GeoHash(ST_Centroid(outline), 12), lpad((10000 + k)::text, 5, '0'), (1 + n / 500)::text, n::text,
       'LUC', '', 'household', 'Hộ ông ' || n, 1 + n %% 3, 2 + n %% 5, zone_id, false, ST_Multi(outline),
       'illustrative', true, (%(stages)s::text[])[1 + abs(i * 7 + j * 13) %% 8],
       %(today)s::date - abs(i * 31 + j * 17) %% 420, false, false, false, false, 1, ST_Area(outline::geography)
FROM outlines
"""
TRIM_SQL = "DELETE FROM parcels WHERE id IN (SELECT id FROM parcels ORDER BY id OFFSET %(parcels)s)"
GEOJSON_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'geometry', ST_AsGeoJSON(p.geom, 7)::json,
    'properties', json_build_object('uid', p.uid, 'zone', z.code, 'stage', p.stage, 'area_m2',
                                    round(p.area_m2::numeric, 1), 'sheet', p.sheet, 'number', p.number))), '[]'))::text
FROM parcels AS p LEFT JOIN zones AS z ON z.id = p.zone_id
"""

TILES_OF_ZONES_SQL = "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) AS c FROM zones WHERE geom IS NOT NULL AND retired_at IS NULL ORDER BY code) s"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bare_sql() -> str:
    """The tile's statement as psycopg takes it (:name → %(name)s; casts ``::`` untouched)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", tiles.tile_sql(tiles.TileFilter()))


def same_features(first: bytes, second: bytes) -> bool:
    import mapbox_vector_tile  # the test extra's decoder

    def features(data: bytes) -> set:
        if not data:
            return set()
        return {
            tuple(sorted(feature["properties"].items()))
            for feature in mapbox_vector_tile.decode(data)["parcels"]["features"]
        }

    return features(first) == features(second)


def time_tiles(
    client, token: str, conn, points, repeat: int, encoding: str, kept: bool = False
) -> list[tuple]:
    """``kept``: with khgeo's kept tiles (every request after the warm-up a hit); otherwise every request builds its
    tile (the cache emptied), the like-for-like comparison with the bare statement."""
    client.application.extensions["khgeo.tile_cache"] = tiles.TileCache(tiles.CACHE_MB * 2**20 if kept else 0)
    sql = bare_sql()
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    rows = []
    for z in ZOOMS:
        addresses = sorted({(z, *tile_of(lon, lat, z)) for lon, lat in points})
        app_ms, bare_ms, ratios, raw_bytes, br_bytes = [], [], [], [], []
        for zz, x, y in addresses:  # warm-up, and the sizes
            body = client.get(f"/tiles/parcels/{zz}/{x}/{y}.mvt", headers=headers).get_data()
            data = conn.execute(
                sql, tiles.tile_params(zz, x, y, TODAY, tiles.TileFilter()), prepare=True
            ).fetchone()[0]
            raw = bytes(data or b"")
            raw_bytes.append(len(raw))
            br_bytes.append(len(brotli.compress(raw, quality=1)) if raw else 0)
            if encoding == "identity":  # the same features (their order in the tile may differ between plans)
                assert same_features(body, raw), (
                    f"khgeo's tile {zz}/{x}/{y} differs from the bare statement's"
                )
        for i in range(repeat):
            for zz, x, y in addresses:
                pair = [0.0, 0.0]
                for which in (0, 1) if i % 2 == 0 else (1, 0):
                    start = time.perf_counter()
                    if which == 0:
                        response = client.get(f"/tiles/parcels/{zz}/{x}/{y}.mvt", headers=headers)
                        assert response.status_code == 200, response.status_code
                        response.get_data()
                    else:
                        conn.execute(
                            sql, tiles.tile_params(zz, x, y, TODAY, tiles.TileFilter()), prepare=True
                        ).fetchone()
                    pair[which] = (time.perf_counter() - start) * 1000
                app_ms.append(pair[0])
                bare_ms.append(pair[1])
                ratios.append(pair[0] / pair[1])
        rows.append((z, len(addresses), app_ms, bare_ms, ratios, raw_bytes, br_bytes))
    return rows


def parcels_per_tile(conn, points) -> dict[int, float]:
    result = {}
    for z in ZOOMS:
        counts = []
        for zz, x, y in sorted({(z, *tile_of(lon, lat, z)) for lon, lat in points}):
            counts.append(
                conn.execute(
                    "SELECT count(*) FROM parcels WHERE geom && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326) "
                    "AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326))",
                    (zz, x, y, zz, x, y),
                ).fetchone()[0]
            )
        result[z] = statistics.median(counts)
    return result


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

MAP = "window[document.querySelector('.folium-map').id]"
TILES_VIEW_JS = f"""([lat, lon]) => new Promise(resolve => {{
    const map = {MAP}, layer = khgeo.parcels.layer;
    const t0 = performance.now();
    layer.once('khgeo:parcels', e => resolve([performance.now() - t0, e.count]));
    map.setView([lat, lon], 14, {{animate: false}});
}})"""
TILES_PAN_JS = f"""() => new Promise(resolve => {{
    const map = {MAP}, layer = khgeo.parcels.layer;
    const t0 = performance.now();
    layer.once('khgeo:parcels', e => resolve([performance.now() - t0, e.count]));
    map.panBy([400, 0], {{animate: false}});
}})"""
GEOJSON_VIEW_JS = f"""([lat, lon, colours]) => new Promise(resolve => {{
    const map = {MAP};
    khgeo.parcels.layer.remove();
    map.setView([lat, lon], 14, {{animate: false}});
    const t0 = performance.now();
    fetch('/bench/parcels.geojson').then(r => r.json()).then(collection => {{
        window.benchGeoJSON = L.geoJSON(collection, {{
            renderer: L.canvas({{padding: 0.5}}),
            style: f => ({{fillColor: colours[f.properties.stage], fillOpacity: 0.8, color: '#37474f', weight: 0.7}})
        }}).addTo(map);
        requestAnimationFrame(() => requestAnimationFrame(() => resolve([performance.now() - t0, collection.features.length])));
    }});
}})"""
GEOJSON_PAN_JS = f"""() => new Promise(resolve => {{
    const map = {MAP};
    const t0 = performance.now();
    map.once('moveend', () => requestAnimationFrame(() => requestAnimationFrame(() => resolve([performance.now() - t0, 0]))));
    map.panBy([400, 0], {{animate: false}});
}})"""


def heap_mb(page) -> float:
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")
    used = session.send("Runtime.getHeapUsage")["usedSize"]
    session.detach()
    return used / 2**20


def browser_figures(base: str, username: str, centre: tuple[float, float], repeat: int) -> dict[str, list]:
    from playwright.sync_api import sync_playwright

    colours = {code.key: code.colour for code in PARCEL_STAGE}
    lon, lat = centre
    figures: dict[str, list] = {
        key: []
        for key in (
            "tiles",
            "tiles_pan",
            "tiles_heap",
            "tiles_count",
            "geojson",
            "geojson_pan",
            "geojson_heap",
        )
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        login = browser.new_context()
        page = login.new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        state = login.storage_state()
        login.close()
        for _ in range(repeat):
            for kind in ("tiles", "geojson"):
                context = browser.new_context(viewport={"width": 1366, "height": 768}, storage_state=state)
                page = context.new_page()
                page.goto(base + "/")
                page.wait_for_selector("html[data-zones-ready]", state="attached", timeout=120_000)
                if kind == "tiles":
                    ms, count = page.evaluate(TILES_VIEW_JS, [lat, lon])
                    figures["tiles"].append(ms)
                    figures["tiles_count"].append(count)
                    figures["tiles_pan"].append(page.evaluate(TILES_PAN_JS)[0])
                    figures["tiles_heap"].append(heap_mb(page))
                else:
                    ms, _count = page.evaluate(GEOJSON_VIEW_JS, [lat, lon, colours])
                    figures["geojson"].append(ms)
                    figures["geojson_pan"].append(page.evaluate(GEOJSON_PAN_JS)[0])
                    figures["geojson_heap"].append(heap_mb(page))
                context.close()
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--browser-repeat", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    options = parser.parse_args()
    load_before = os.getloadavg()
    started = time.strftime("%d/%m/%Y %H:%M")

    with seeded_database("khgeo-bench-parcels-") as (cluster, url):
        with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
            zones = conn.execute(
                "SELECT count(*) FROM zones WHERE geom IS NOT NULL AND retired_at IS NULL"
            ).fetchone()[0]
            start = time.perf_counter()
            conn.execute(
                PARCELS_SQL,
                {
                    "per_zone": math.ceil(options.parcels / zones * 1.08),
                    "stages": list(PARCEL_STAGE.keys),
                    "today": TODAY,
                },
            )
            conn.execute(TRIM_SQL, {"parcels": options.parcels})
            conn.execute("ANALYZE parcels")
            made = conn.execute("SELECT count(*) FROM parcels").fetchone()[0]
            print(f"{made:,} parcels in {zones} zones generated in {time.perf_counter() - start:.1f} s")
            points = conn.execute(TILES_OF_ZONES_SQL).fetchall()
            per_tile = parcels_per_tile(conn, points)
            geojson = conn.execute(GEOJSON_SQL).fetchone()[0].encode()

            app = create_app(
                {
                    "KHGEO_DATABASE_URL": url,
                    "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
                    "KHGEO_TILES_URL": "https://tiles.invalid/{z}/{x}/{y}.png",
                    "KHGEO_TODAY": TODAY,
                    "KHGEO_PUBLIC_READ": False,
                }
            )
            with app.extensions["khgeo.db"].session() as session:
                accounts.create_user(session, "bench-admin", PASSWORD, "admin")
                token = accounts.new_token(session, "bench-admin")
            client = app.test_client()
            plain = time_tiles(client, token, conn, points, options.repeat, "identity")
            packed = time_tiles(client, token, conn, points, options.repeat, "gzip, deflate, br")
            hits = time_tiles(client, token, conn, points, options.repeat, "gzip, deflate, br", kept=True)
            client.application.extensions["khgeo.tile_cache"] = tiles.TileCache(
                0
            )  # the browser's first views

            browser = None
            if not options.no_browser:

                def geojson_app(environ, start_response):
                    return Response(geojson, mimetype="application/geo+json")(environ, start_response)

                server = make_server(
                    "127.0.0.1",
                    0,
                    DispatcherMiddleware(app, {"/bench/parcels.geojson": geojson_app}),
                    threaded=True,
                )
                threading.Thread(target=server.serve_forever, daemon=True).start()
                biggest = conn.execute(
                    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(z.geom) AS c, count(*) AS n FROM parcels p "
                    "JOIN zones z ON z.id = p.zone_id GROUP BY z.id ORDER BY count(*) DESC, z.code LIMIT 1) s"
                ).fetchone()
                browser = browser_figures(
                    f"http://127.0.0.1:{server.server_port}", "bench-admin", biggest, options.browser_repeat
                )
                server.shutdown()
            app.extensions["khgeo.db"].engine.dispose()

    print(f"\nkhgeo parcels scale benchmark, {started}, {os.cpu_count()} CPUs")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    for title, rows in (
        ("built on each request, no compression (Accept-Encoding: identity)", plain),
        ("built on each request, a browser's Accept-Encoding (brotli 1)", packed),
        ("kept tiles (every request after the first a hit), a browser's Accept-Encoding", hits),
    ):
        print(f"\ntiles, {title}: {options.repeat} rounds over the tiles under each zone, interleaved")
        print(
            f"{'zoom':>4} {'tiles':>5} {'parcels/tile':>12} {'khgeo p50':>9} {'p99':>7} {'bare p50':>8} {'p99':>7} "
            f"{'khgeo/bare':>10} {'KiB raw':>8} {'KiB br':>7}"
        )
        for z, count, app_ms, bare_ms, ratios, raw_bytes, br_bytes in rows:
            print(
                f"{z:>4} {count:>5} {per_tile[z]:>12,.0f} {statistics.median(app_ms):>9.2f} {percentile(app_ms, 0.99):>7.2f} "
                f"{statistics.median(bare_ms):>8.2f} {percentile(bare_ms, 0.99):>7.2f} {statistics.median(ratios):>9.2f}× "
                f"{statistics.median(raw_bytes) / 1024:>8.1f} {statistics.median(br_bytes) / 1024:>7.1f}"
            )
    print("targets: khgeo/bare ≤ 1.20×; khgeo p99 ≤ 25 ms at z14")
    if browser:
        med = {key: statistics.median(values) for key, values in browser.items()}
        print(
            f"\nChromium, 1366×768, a z14 view over the zone with the most parcels (median of {options.browser_repeat}):"
        )
        print(
            f"  vector tiles : drawn {med['tiles']:.0f} ms ({med['tiles_count']:.0f} parcels in the tiles of the view), "
            f"pan 400 px redrawn {med['tiles_pan']:.0f} ms, JS heap {med['tiles_heap']:.0f} MiB"
        )
        print(
            f"  one GeoJSON  : drawn {med['geojson']:.0f} ms ({len(geojson) / 2**20:.0f} MiB, {made:,} parcels), "
            f"pan 400 px redrawn {med['geojson_pan']:.0f} ms, JS heap {med['geojson_heap']:.0f} MiB"
        )
        print("targets: tiles drawn ≤ 1000 ms, pan redrawn ≤ 300 ms")


if __name__ == "__main__":
    main()
