"""A batch stage update of 1,000 parcels, and the zone figures derived after it, at 100,000 parcels.

A throwaway PostGIS cluster is migrated and seeded; 100,000 synthetic parcels (4,000 in each of the 25 seeded
zones, ~20 m squares near the zone, stage "plan approved") are added and the zones' figures derived. Then, rounds
of (each rolled back, so every round starts from the same data):

- khgeo: ``stages.apply_stage`` of 1,000 parcels of one zone to "paid" — the parcels' rows locked and checked
  (version, forward only, date, permission), the parcels, their steps, 1,000 history events and 1,000 audit rows
  written, and the zone's figures derived (one set-based statement) — what POST /api/parcels/stage does minus HTTP;
- derive: ``derive.refresh_zones`` of that zone alone, after the batch (the figures from 4,000 parcels);
- peer: the bare SQL ``UPDATE parcels SET stage, stage_date, version WHERE id = ANY(…)`` of the same 1,000.

Targets (issue 14): the batch ≤ 1 s, the derived figures ≤ 20 ms.

    .venv/bin/python benchmarks/parcels_batch.py [--parcels 100000] [--batch 1000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import time

from sqlalchemy import select, text

from benchmarks.throwaway import seeded_database
from khgeo.app import create_app
from khgeo.models import Parcel, User, Zone
from khgeo.services import accounts
from khgeo.services.parcels import derive, stages

TODAY = dt.date(2026, 11, 26)
ZONE = "kcn-quang-chau"
PARCELS_SQL = text("""
INSERT INTO parcels (uid, commune_code, sheet, number, land_type, area_m2, address, land_user_kind, land_user_name,
                     households, people, zone_id, zone_overridden, geom, geometry_source, illustrative, stage,
                     stage_date, compulsory_inventory, enforcement, dispute, resettlement_needed, version)
SELECT ST_GeoHash(ST_Centroid(g), 12), '07456', 'B' || z.id, n::text, 'LUC', 400, '', 'household',
       'Hộ ' || n, 1 + n % 3, 3, z.id, false, ST_Multi(g), 'illustrative', true, 'plan_approved',
       DATE '2026-10-01', false, false, false, false, 1
FROM (SELECT id, ST_PointOnSurface(geom) AS p, row_number() OVER (ORDER BY id) AS k
      FROM zones WHERE geom IS NOT NULL AND retired_at IS NULL) AS z,
     generate_series(1, :per_zone) AS n,
     LATERAL (SELECT ST_MakeEnvelope(ST_X(z.p) + (n % 64) * 0.0002, ST_Y(z.p) + (n / 64) * 0.0002,
                                      ST_X(z.p) + (n % 64) * 0.0002 + 0.00018,
                                      ST_Y(z.p) + (n / 64) * 0.0002 + 0.00018, 4326) AS g) AS cell
""")


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with seeded_database("khgeo-bench-parcels-") as (_cluster, url):
        app = create_app(
            {"KHGEO_DATABASE_URL": url, "KHGEO_SECRET_KEY": secrets.token_urlsafe(48), "KHGEO_TODAY": TODAY}
        )
        db = app.extensions["khgeo.db"]
        with app.app_context():
            with db.session() as session:
                zones = session.scalar(
                    text("SELECT count(*) FROM zones WHERE geom IS NOT NULL AND retired_at IS NULL")
                )
                per_zone = -(-args.parcels // zones)
                started = time.perf_counter()
                session.execute(PARCELS_SQL, {"per_zone": per_zone})
                derive.refresh_zones(session, session.scalars(select(Zone.id)).all(), today=TODAY)
                accounts.create_user(session, "bench-admin", "mat-khau-dai-du-10", "admin")
                loaded = time.perf_counter() - started
            with db.session() as session:
                session.execute(text("ANALYZE"))
                total = session.scalar(text("SELECT count(*) FROM parcels"))
            print(
                f"{total:,} parcels in {zones} zones loaded in {loaded:.1f} s; CPUs {os.cpu_count()}, "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            batch_ms, derive_ms, peer_ms = [], [], []
            for _ in range(args.rounds):
                session = db.sessions()
                try:
                    user = session.scalars(select(User).where(User.username == "bench-admin")).one()
                    zone_id = session.scalars(select(Zone.id).where(Zone.code == ZONE)).one()
                    rows = session.execute(
                        select(Parcel.id, Parcel.uid, Parcel.version)
                        .where(Parcel.zone_id == zone_id)
                        .order_by(Parcel.id)
                        .limit(args.batch)
                    ).all()
                    items = [(row.uid, row.version) for row in rows]
                    change = stages.StageChange(
                        "paid", TODAY, stages.Document("1/QĐ", TODAY, "Chủ tịch"), "bench"
                    )
                    started = time.perf_counter()
                    result = stages.apply_stage(session, user, items, change, today=TODAY)
                    session.flush()
                    batch_ms.append(_ms(time.perf_counter() - started))
                    assert len(result.saved) == len(items) and not result.conflicts
                    started = time.perf_counter()
                    session.execute(
                        text("UPDATE parcels SET stage = 'handed_over' WHERE id = :id"), {"id": rows[0].id}
                    )
                    derive.refresh_zones(session, [zone_id], today=TODAY)
                    derive_ms.append(_ms(time.perf_counter() - started))
                    session.rollback()
                    started = time.perf_counter()
                    session.execute(
                        text(
                            "UPDATE parcels SET stage = 'paid', stage_date = :d, version = version + 1 WHERE id = ANY(:ids)"
                        ),
                        {"d": TODAY, "ids": [row.id for row in rows]},
                    )
                    peer_ms.append(_ms(time.perf_counter() - started))
                    session.rollback()
                finally:
                    session.close()
        db.engine.dispose()
    p50 = statistics.median
    print(f"{'':32} {'p50 ms':>9} {'max ms':>9}")
    print(f"{'khgeo batch of ' + str(args.batch):32} {p50(batch_ms):9.1f} {max(batch_ms):9.1f}")
    print(f"{'derived zone figures':32} {p50(derive_ms):9.1f} {max(derive_ms):9.1f}")
    print(f"{'peer: bare SQL UPDATE':32} {p50(peer_ms):9.1f} {max(peer_ms):9.1f}")
    print(
        f"ratio khgeo batch / bare UPDATE: {p50(batch_ms) / p50(peer_ms):.1f}x "
        f"(the batch also writes {args.batch:,} steps, events and audit rows and derives the zone)"
    )
    print(
        f"targets: batch <= 1000 ms: {'met' if max(batch_ms) <= 1000 else 'MISSED'}; "
        f"derived figures <= 20 ms: {'met' if p50(derive_ms) <= 20 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
