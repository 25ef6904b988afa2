"""How much CPU each compression level costs on a 1,000-feature OGC API page, and how small it makes it.

The page is the one benchmarks/ogc_vs_peers.py loads (10,000 zones shaped like the seeded outlines, limit=1000):
for gzip 1–9 and brotli 0–6 it prints the bytes on the wire and the CPU ms to compress one page (best of
``--repeat``, process CPU time, so other load on the machine barely moves it). khgeo.compression's levels were
chosen from this table: the smallest CPU cost that brings a page under 250 KiB.

    .venv/bin/python benchmarks/compression_levels.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import time

import psycopg
from map_scale import SYNTHETIC_ZONES_SQL
from ogc_vs_peers import OUTLINES_SQL, PAGE, ZONES
from throwaway import seeded_database

from khgeo.app import create_app

try:
    import brotli
except ImportError:  # pragma: no cover
    brotli = None


def cpu_ms(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, (time.process_time() - started) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with seeded_database("khgeo-bench-") as (cluster, url):
        with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
            conn.execute(SYNTHETIC_ZONES_SQL.replace("%(n)s", str(ZONES)))
            conn.execute(OUTLINES_SQL)
        app = create_app(
            {
                "KHGEO_DATABASE_URL": url,
                "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
                "KHGEO_PUBLIC_READ": "true",
            }
        )
        body = app.test_client().get(f"/ogcapi/collections/zones/items?f=json&limit={PAGE}&offset=0").data
        app.extensions["khgeo.db"].engine.dispose()
    print(f"one page: {PAGE} features, {len(body) / 1024:.0f} KiB uncompressed; best of {options.repeat}")
    print(f"{'encoding':<10} {'level':>5} {'KiB':>7} {'ratio':>6} {'CPU ms':>7}")
    for level in range(1, 10):
        size = len(gzip.compress(body, level))
        ms = cpu_ms(lambda level=level: gzip.compress(body, level), options.repeat)
        print(f"{'gzip':<10} {level:>5} {size / 1024:>7.0f} {len(body) / size:>6.1f} {ms:>7.1f}")
    if brotli is None:
        print("brotli: not installed")
        return
    for quality in range(0, 7):
        size = len(brotli.compress(body, quality=quality))
        ms = cpu_ms(lambda quality=quality: brotli.compress(body, quality=quality), options.repeat)
        print(f"{'br':<10} {quality:>5} {size / 1024:>7.0f} {len(body) / size:>6.1f} {ms:>7.1f}")


if __name__ == "__main__":
    main()
