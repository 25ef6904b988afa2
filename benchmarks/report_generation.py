"""How long the consolidated yearly report takes: gather + Word (with its map) + Excel, for 100 zones.

A throwaway PostGIS cluster is migrated and seeded (25 zones, the plan's 52 tasks), synthetic CCN bring it to 100
zones, every zone gets a history in the year (an entry in 2025 for the start figures, two in 2026), and three
agencies submit their 2026 reports through the service. Then `gather`, `render_map_png`, `render_docx` (which
draws the map itself) and `render_xlsx` are timed separately, and gather + DOCX + XLSX together, as the median
of --repeat runs after one warm-up. Target: total ≤ 3 s.

    .venv/bin/python benchmarks/report_generation.py [--zones 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import psycopg
from sqlalchemy import select
from throwaway import seeded_database

from khgeo.app import create_app
from khgeo.models import Agency
from khgeo.services import accounts
from khgeo.services.reports import cycle as reporting
from khgeo.services.reports.data import gather
from khgeo.services.reports.docx import render_docx
from khgeo.services.reports.map_figure import render_map_png
from khgeo.services.reports.xlsx import render_xlsx

YEAR, TODAY = 2026, dt.date(2026, 11, 26)
TARGET_S = 3.0
# Squares of ~10–40 ha on a grid over the province; each takes the district its centre falls in.
SYNTHETIC_ZONES_SQL = """
INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source, geometry_note,
                   stated_area_ha, developer, infrastructure_pct, clearance_area_ha, cleared_area_ha, wwtp_status,
                   occupancy_pct, notes, sources, osm_ref, version, district_id)
SELECT 'syn-' || i, 'Cụm tổng hợp ' || i, ARRAY[]::text[], 'CCN', ARRAY[]::text[],
       ST_Multi(ST_MakeEnvelope(lon, lat, lon + side, lat + side, 4326)), 'illustrative', '',
       round((side * side * 1.1e4 * 100)::numeric, 2), 'Công ty ' || (i % 97), (i * 37) % 101, 100,
       (i * 13) % 101, (ARRAY['none', 'planned', 'under_construction', 'operating', NULL])[1 + i % 5],
       (i * 7) % 101, '', '{}'::jsonb, '', 1,
       (SELECT d.id FROM districts d
        WHERE ST_Contains(d.geom, ST_SetSRID(ST_MakePoint(lon + side / 2, lat + side / 2), 4326)) LIMIT 1)
FROM (SELECT i, 106.0 + (i % 10) * 0.085 AS lon, 21.18 + (i / 10) * 0.045 AS lat, 0.003 + (i % 3) * 0.0015 AS side
      FROM generate_series(0, %(n)s - 1) AS i) AS cells;
"""
# A 2025 entry (the start of the year) and two in 2026 for every zone, with figures that move.
ZONE_HISTORY_SQL = """
INSERT INTO zone_updates (zone_id, zone_version, kind, as_of, source, note, clearance_area_ha, cleared_area_ha,
                          wwtp_status, infrastructure_pct, occupancy_pct, changes)
SELECT z.id, z.version, 'status', day, 'bench', 'Cập nhật định kỳ', 100,
       least(100, (z.id * 11) % 60 + step * 15),
       (ARRAY['none', 'planned', 'under_construction', 'operating'])[1 + least(3, (z.id % 3) + step)],
       least(100, (z.id * 7) % 50 + step * 20), (z.id * 5) % 90, '{}'::jsonb
FROM zones z,
     (VALUES (0, DATE '2025-11-30'), (1, DATE '2026-04-15'), (2, DATE '2026-10-20')) AS steps(step, day);
"""
REPORTING_AGENCIES = ("SCT", "SKHDT", "SXD")


def seed_activity(app, zones: int, conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        existing = conn.execute("SELECT count(*) FROM zones").fetchone()[0]
        conn.execute(SYNTHETIC_ZONES_SQL.replace("%(n)s", str(max(zones - existing, 0))))
        conn.execute(ZONE_HISTORY_SQL)
        conn.execute("ANALYZE")
    database = app.extensions["khgeo.db"]
    with app.app_context(), database.session() as session:
        for code in REPORTING_AGENCIES:
            agency = session.scalars(select(Agency).where(Agency.code == code)).one()
            user = accounts.create_user(session, f"bench-{code.lower()}", "mat-khau-dai-du-10", role="viewer")
            user.agency = agency
            items = {
                task.id: f"{agency.name} đã triển khai nhiệm vụ {task.id} theo kế hoạch năm {YEAR}."
                for task in reporting.agency_tasks(session, agency)
            }
            reporting.submit_report(
                session, agency, YEAR, user, summary="Báo cáo năm", items=items, attachment=None, today=TODAY
            )


def median_s(fn, repeat: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zones", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    with seeded_database("khgeo-bench-report-") as (cluster, url):
        app = create_app(
            {
                "KHGEO_DATABASE_URL": url,
                "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
                "KHGEO_TILES_URL": "",
            }
        )
        seed_activity(app, options.zones, cluster.conninfo("bench"))
        db = app.extensions["khgeo.db"]

        def collect():
            with app.app_context(), db.session() as session:
                return gather(session, YEAR, TODAY)

        data = collect()
        sizes = {
            "docx": len(render_docx(data)),
            "xlsx": len(render_xlsx(data)),
            "png": len(render_map_png(data)),
        }
        timings = {
            "gather": median_s(collect, options.repeat),
            "map (PNG)": median_s(lambda: render_map_png(data), options.repeat),
            "DOCX (with map)": median_s(lambda: render_docx(data), options.repeat),
            "XLSX": median_s(lambda: render_xlsx(data), options.repeat),
            "total": median_s(lambda: (render_docx(d := collect()), render_xlsx(d)), options.repeat),
        }
        db.engine.dispose()

    counts = data.counts
    print(
        f"khgeo report generation: {counts['zones']} zones, {counts['tasks']} tasks, "
        f"{sum(zone.updates_in_year for zone in data.zones)} zone updates in {YEAR}, "
        f"{counts['agencies_submitted']} agency reports (median of {options.repeat} runs)"
    )
    for name, seconds in timings.items():
        print(f"  {name:<16} {seconds * 1000:>8.0f} ms")
    print(
        f"  sizes: DOCX {sizes['docx'] / 1024:.0f} KB, XLSX {sizes['xlsx'] / 1024:.0f} KB, map {sizes['png'] / 1024:.0f} KB"
    )
    verdict = "met" if timings["total"] <= TARGET_S else "MISSED"
    print(f"target: gather + DOCX + XLSX ≤ {TARGET_S:.0f} s — {verdict} ({timings['total']:.2f} s)")


if __name__ == "__main__":
    main()
