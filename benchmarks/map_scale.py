"""How the map scales: 60, 1,000 and 10,000 synthetic zones, side by side, in one run.

For each size it prints the map page's server time and size, /api/zones against the raw SQL that builds the same
GeoJSON (the ratio is the figure: targets API ≤ 1.2× raw SQL; the two are timed alternately and the ratio is the
median of the pairs' ratios, so other load on the machine moves both alike), and the time until the polygons are
drawn in headless Chromium (target: 10k zones ≤ 1 s). Absolute times vary from machine to machine; quote ratios.

    .venv/bin/python benchmarks/map_scale.py [--sizes 60,1000,10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import threading
import time

import psycopg
from throwaway import seeded_database
from werkzeug.serving import make_server

from khgeo.app import create_app

# Squares of ~20–60 ha on a grid over the province's bounding box, with varied figures.
SYNTHETIC_ZONES_SQL = """
DELETE FROM task_zones; DELETE FROM zones;
INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source, geometry_note,
                   stated_area_ha, developer, infrastructure_pct, clearance_area_ha, cleared_area_ha, wwtp_status,
                   occupancy_pct, notes, sources, osm_ref, version, district_id)
SELECT 'syn-' || i, 'Khu tổng hợp ' || i, ARRAY[]::text[], CASE WHEN i % 3 = 0 THEN 'KCN' ELSE 'CCN' END,
       ARRAY['Xã ' || (i % 200)],
       ST_Multi(ST_MakeEnvelope(lon, lat, lon + side, lat + side, 4326)), 'illustrative', '',
       round((side * side * 1.1e4 * 100)::numeric, 2), 'Công ty ' || (i % 97),
       (i * 37) % 101, 100, (i * 13) % 101,
       (ARRAY['none', 'planned', 'under_construction', 'operating', NULL])[1 + i % 5],
       (i * 7) % 101, '', '{}'::jsonb, '', 1, (SELECT id FROM districts ORDER BY code OFFSET i % 10 LIMIT 1)
FROM (
    SELECT i, 105.9 + (i % cols) * (1.1 / cols) AS lon, 21.15 + (i / cols) * (0.45 / rows) AS lat,
           0.002 + (i % 5) * 0.0012 AS side
    FROM generate_series(0, %(n)s - 1) AS i,
         LATERAL (SELECT ceil(sqrt(%(n)s * 2.4))::int AS cols, ceil(sqrt(%(n)s / 2.4))::int + 1 AS rows) AS grid
) AS cells;
ANALYZE zones;
"""

# The same FeatureCollection /api/zones returns, written by hand: the floor for any implementation. /api/zones
# joins the Features the database keeps (zones.feature_json, khgeo.services.stored_features), so this does too.
RAW_SQL = """
SELECT concat('{"type":"FeatureCollection","features":[',
              coalesce(string_agg(feature_json, ',' ORDER BY kind DESC, search_text, code), ''), ']}')
FROM zones WHERE retired_at IS NULL
"""


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def interleaved_ms(first, second, repeat: int) -> tuple[float, float, float]:
    """Median ms of ``first`` and of ``second`` run alternately (in turn first, then second first), and the median
    of their ratios pair by pair: load from elsewhere on the machine hits both alike, which timing one after the
    other (all of first, then all of second) did not: that ratio swung 0.73–2.50× under load."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            start = time.perf_counter()
            (first, second)[which]()
            times[which].append((time.perf_counter() - start) * 1000)
    ratios = [a / b for a, b in zip(*times, strict=True)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def browser_draw_ms(url: str, repeat: int) -> float:
    from playwright.sync_api import sync_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    samples = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector("html[data-zones-ready]", state="attached", timeout=120_000)
            # ms from navigation start until every zone layer has been painted
            samples.append(page.evaluate("khgeo.readyAt"))
            page.close()
        browser.close()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="60,1000,10000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--browser-repeat", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with seeded_database("khgeo-bench-") as (cluster, url):
        app = create_app(
            {
                "KHGEO_DATABASE_URL": url,
                "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
                "KHGEO_TILES_URL": "https://tiles.invalid/{z}/{x}/{y}.png",
                # the figures are about drawing zones, not logging in: read anonymously
                "KHGEO_PUBLIC_READ": "true",
            }
        )
        client = app.test_client()
        assert client.get("/api/zones").status_code == 200
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"

        rows = []
        with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
            for n in sizes:
                conn.execute(SYNTHETIC_ZONES_SQL.replace("%(n)s", str(int(n))))
                page_ms = median_ms(lambda: client.get("/"), options.repeat)
                page_bytes = len(client.get("/").data)
                api_ms, raw_ms, ratio = interleaved_ms(
                    lambda: client.get("/api/zones").data,
                    lambda: conn.execute(RAW_SQL).fetchone()[0],
                    options.repeat,
                )
                api_body = client.get("/api/zones").data
                assert json.loads(api_body) == json.loads(conn.execute(RAW_SQL).fetchone()[0])
                draw_ms = browser_draw_ms(base + "/", options.browser_repeat)
                mode = "embedded" if n <= app.config["KHGEO_EMBED_MAX_FEATURES"] else "fetched+canvas"
                rows.append((n, mode, page_ms, page_bytes, api_ms, raw_ms, ratio, len(api_body), draw_ms))
        server.shutdown()
        app.extensions["khgeo.db"].engine.dispose()

    print(
        f"khgeo map scale benchmark (median of {options.repeat} runs, browser median of {options.browser_repeat})"
    )
    header = (
        "zones",
        "map mode",
        "page ms",
        "page KB",
        "api ms",
        "raw SQL ms",
        "api/raw",
        "api KB",
        "drawn ms",
    )
    print("{:>6}  {:<15} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8} {:>9}".format(*header))
    for n, mode, page_ms, page_bytes, api_ms, raw_ms, ratio, api_bytes, draw_ms in rows:
        print(
            f"{n:>6}  {mode:<15} {page_ms:>8.1f} {page_bytes / 1024:>8.1f} {api_ms:>8.1f} {raw_ms:>10.1f} "
            f"{ratio:>7.2f}× {api_bytes / 1024:>8.0f} {draw_ms:>9.0f}"
        )
    print("targets: api/raw ≤ 1.20×; 10,000 zones drawn ≤ 1000 ms")


if __name__ == "__main__":
    main()
