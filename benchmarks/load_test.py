"""Load test: the map page, /api/zones and the update API at once, against the production server.

khgeo is served exactly as in production (`khgeo serve`, gunicorn, 2 workers × 4 threads) on loopback over a
throwaway PostgreSQL+PostGIS cluster with the seeded zones plus 200 synthetic ones. For --seconds (default 60)
three kinds of clients run together — officials opening the map, programs reading /api/zones, field staff
saving updates (GET the zone, PATCH it with If-Match) — and the script prints, per kind: requests, throughput,
p50/p99 latency and errors. Errors must be 0. Only 127.0.0.1 is contacted; every loop stops by itself.

    .venv/bin/python benchmarks/load_test.py [--seconds 60] [--map-clients 4] [--api-clients 4] [--update-clients 8]

The machine has 2 cores shared by the server, PostgreSQL and the clients: quote the figures with that.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass, field

import requests
from throwaway import seeded_database
from updates_load import SYNTHETIC_ZONES_SQL, free_port, percentile, start_server, stop_server

from khgeo.db import Database
from khgeo.services import accounts

HOST = "127.0.0.1"
MAX_REQUESTS_PER_CLIENT = 50_000


@dataclass
class Kind:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, response: requests.Response | None, ok: bool, what: str = "") -> None:
        with self.lock:
            self.latencies.append((time.perf_counter() - started) * 1000)
            if not ok:
                self.errors += 1
                if len(self.samples) < 3:
                    self.samples.append(
                        what or (f"{response.status_code}" if response is not None else "no answer")
                    )


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.trust_env = False
    return session


def reader(base: str, token: str, path: str, kind: Kind, deadline: float) -> None:
    session = _session(token)
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if time.perf_counter() >= deadline:
            return
        started = time.perf_counter()
        try:
            response = session.get(base + path, timeout=30)
            kind.record(started, response, response.status_code == 200)
        except requests.RequestException as exc:
            kind.record(started, None, False, type(exc).__name__)


def updater(base: str, token: str, codes: list[str], kind: Kind, deadline: float) -> None:
    session = _session(token)
    for count in range(MAX_REQUESTS_PER_CLIENT):
        if time.perf_counter() >= deadline:
            return
        code = codes[count % len(codes)]
        started = time.perf_counter()
        try:
            current = session.get(f"{base}/api/zones/{code}", timeout=30)
            if current.status_code != 200:
                kind.record(started, current, False)
                continue
            response = session.patch(
                f"{base}/api/zones/{code}",
                timeout=30,
                headers={"If-Match": current.headers["ETag"]},
                json={"cleared_area_ha": count % 100, "note": f"load test {count}"},
            )
            kind.record(started, response, response.status_code == 200)
        except requests.RequestException as exc:
            kind.record(started, None, False, type(exc).__name__)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--map-clients", type=int, default=4)
    parser.add_argument("--api-clients", type=int, default=4)
    parser.add_argument("--update-clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    server = None
    with seeded_database("khgeo-load-", "load") as (cluster, url):
        try:
            database = Database(url)
            with database.session() as session:
                district_id = accounts.resolve_districts(session, ["Việt Yên"])[0].id
            with database.engine.begin() as conn:
                conn.exec_driver_sql(SYNTHETIC_ZONES_SQL, {"n": 200, "district_id": district_id})
            with database.session() as session:
                accounts.create_user(session, "load-admin", "load-password-1", "admin")
            with database.session() as session:
                token = accounts.new_token(session, "load-admin")
            database.engine.dispose()

            port = free_port()
            server = start_server(url, port, cluster.root.parent / "server.log", options.workers, 4)
            base = f"http://{HOST}:{port}"
            kinds = {
                "map page": Kind("map page"),
                "/api/zones": Kind("/api/zones"),
                "updates": Kind("updates"),
            }
            deadline = time.perf_counter() + options.seconds
            threads = [
                threading.Thread(target=reader, args=(base, token, "/", kinds["map page"], deadline))
                for _ in range(options.map_clients)
            ]
            threads += [
                threading.Thread(
                    target=reader, args=(base, token, "/api/zones", kinds["/api/zones"], deadline)
                )
                for _ in range(options.api_clients)
            ]
            threads += [
                threading.Thread(
                    target=updater,
                    args=(
                        base,
                        token,
                        [f"syn-{i}" for i in range(n, 200, options.update_clients)],
                        kinds["updates"],
                        deadline,
                    ),
                )
                for n in range(options.update_clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            if server is not None:
                stop_server(server)

    print(
        f"khgeo load test: {elapsed:.0f} s, gunicorn {options.workers} workers × 4 threads, "
        f"{os.cpu_count()} CPUs shared by server, PostgreSQL and clients"
    )
    print(
        f"{'traffic':<12} {'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    clients = {
        "map page": options.map_clients,
        "/api/zones": options.api_clients,
        "updates": options.update_clients,
    }
    total_errors = 0
    for name, kind in kinds.items():
        total_errors += kind.errors
        print(
            f"{name:<12} {clients[name]:>7} {len(kind.latencies):>9} {len(kind.latencies) / elapsed:>8.1f} "
            f"{percentile(kind.latencies, 50):>8.1f} {percentile(kind.latencies, 99):>8.1f} {kind.errors:>7}"
            + (f"  e.g. {', '.join(kind.samples)}" if kind.samples else "")
        )
    print("updates = one GET (ETag) + one PATCH (If-Match) per request; errors must be 0")
    return 1 if total_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
