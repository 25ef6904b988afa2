"""Concurrent field updates through the JSON API, served by gunicorn as in production, and a lost-update check.

A throwaway PostGIS cluster is migrated and seeded, synthetic CCN zones in Việt Yên bring it to at least 200
zones, and ``khgeo serve --workers 2 --threads 4`` serves it on 127.0.0.1. Two scenarios, one after the other:

- A "different zones": each client loops over zones of its own: GET /api/zones/<code> (ETag), then PATCH with
  If-Match and a new cleared_area_ha. Targets: ≥ 200 updates/s and PATCH p99 ≤ 100 ms.
- B "same zone": every client updates ONE zone the same way; a 412 (someone saved first) is retried — re-GET,
  PATCH again — until it succeeds. Afterwards the database must show no lost update: one new history row per
  200 (carrying the value that client sent, at the version its ETag named) and final version = 1 + successes.

Latencies are seen by the client (keep-alive requests.Session per client, Bearer token); "server" columns come
from gunicorn's access log (time in the app). Clients, server and database share this machine: quote figures
with its core count.

    .venv/bin/python benchmarks/updates_load.py [--clients 16] [--seconds 20] [--zones 200]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
import requests

from khgeo import migrate
from khgeo.db import Database
from khgeo.pgcluster import LocalCluster
from khgeo.services import accounts
from khgeo.services.seed import seed

HOST = "127.0.0.1"
# Squares of ~10 ha on a grid near Việt Yên; nothing is deleted: the seeded zones stay.
SYNTHETIC_ZONES_SQL = """
INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source, geometry_note,
                   stated_area_ha, developer, infrastructure_pct, clearance_area_ha, cleared_area_ha, wwtp_status,
                   occupancy_pct, notes, sources, osm_ref, version, district_id)
SELECT 'syn-' || i, 'Cụm tổng hợp ' || i, ARRAY[]::text[], 'CCN', ARRAY['Xã Hồng Thái'],
       ST_Multi(ST_MakeEnvelope(lon, lat, lon + 0.003, lat + 0.003, 4326)), 'illustrative', '',
       10, 'Công ty ' || (i %% 97), (i * 37) %% 101, 100, 0, 'planned', (i * 7) %% 101, '', '{}'::jsonb, '', 1,
       %(district_id)s
FROM (SELECT i, 106.02 + (i %% 25) * 0.004 AS lon, 21.22 + (i / 25) * 0.004 AS lat
      FROM generate_series(0, %(n)s - 1) AS i) AS cells
"""
ACCESS_LINE = re.compile(r'"(GET|PATCH) /api/zones/\S+ HTTP/[\d.]+" (\d{3}) \S+ (\d+)ms')


@dataclass
class Tally:
    """What one client saw."""

    patch_ms: list[float] = field(default_factory=list)  # every PATCH answered (200 or 412)
    round_ms: list[float] = field(default_factory=list)  # A: GET+PATCH; B: first GET until the 200
    get_ms: list[float] = field(default_factory=list)
    successes: list[tuple[str, Decimal, str, int]] = field(default_factory=list)  # code, value, note, version
    conflicts: int = 0
    errors: int = 0
    abandoned: int = 0  # B: an update still being retried when time ran out
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_clients(worker, clients: int) -> tuple[list[Tally], float]:
    """Start ``clients`` threads together; the wall time from the start until the last one finished."""
    tallies = [Tally() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    threads = [
        threading.Thread(target=worker, args=(index, tallies[index], barrier), daemon=True)
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return tallies, time.perf_counter() - start


def make_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.trust_env = False  # 127.0.0.1 only: no proxy from the environment
    return session


def etag_version(response: requests.Response) -> int:
    return int(response.headers["ETag"].strip('"'))


def scenario_a(base: str, token: str, zones: list[list[str]], seconds: float, max_requests: int):
    def worker(index: int, tally: Tally, barrier: threading.Barrier) -> None:
        session = make_session(token)
        barrier.wait()
        deadline = time.perf_counter() + seconds
        own = zones[index]
        k = 0
        while time.perf_counter() < deadline and k < max_requests:
            code = own[k % len(own)]
            url = f"{base}/api/zones/{code}"
            value = Decimal((k * 37 + index) % 10001) / 100
            note = f"A c{index} u{k}"
            k += 1
            try:
                t0 = time.perf_counter()
                read = session.get(url, timeout=10)
                t1 = time.perf_counter()
                tally.get_ms.append((t1 - t0) * 1000)
                if read.status_code != 200:
                    tally.error(f"GET {read.status_code}")
                    continue
                answer = session.patch(
                    url,
                    json={"cleared_area_ha": float(value), "note": note},
                    headers={"If-Match": read.headers["ETag"]},
                    timeout=10,
                )
                t2 = time.perf_counter()
            except requests.RequestException as exc:
                tally.error(type(exc).__name__)
                continue
            if answer.status_code == 200:
                tally.patch_ms.append((t2 - t1) * 1000)
                tally.round_ms.append((t2 - t0) * 1000)
                tally.successes.append((code, value, note, etag_version(answer)))
            elif answer.status_code == 412:
                tally.patch_ms.append((t2 - t1) * 1000)
                tally.conflicts += 1
            else:
                tally.error(f"PATCH {answer.status_code} {answer.text[:120]}")
        session.close()

    return worker


def scenario_b(base: str, token: str, code: str, seconds: float, max_requests: int):
    url = f"{base}/api/zones/{code}"

    def worker(index: int, tally: Tally, barrier: threading.Barrier) -> None:
        session = make_session(token)
        barrier.wait()
        deadline = time.perf_counter() + seconds
        sent = 0
        update = 0
        while time.perf_counter() < deadline and sent < max_requests:
            # one logical update: the same value and note until a 200, re-reading the ETag after each 412
            value = Decimal((update * 97 + index) % 10001) / 100
            note = f"B c{index} u{update}"
            update += 1
            started = time.perf_counter()
            done = False
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 2
                try:
                    t0 = time.perf_counter()
                    read = session.get(url, timeout=10)
                    t1 = time.perf_counter()
                    tally.get_ms.append((t1 - t0) * 1000)
                    if read.status_code != 200:
                        tally.error(f"GET {read.status_code}")
                        continue
                    answer = session.patch(
                        url,
                        json={"cleared_area_ha": float(value), "note": note},
                        headers={"If-Match": read.headers["ETag"]},
                        timeout=10,
                    )
                    t2 = time.perf_counter()
                except requests.RequestException as exc:
                    tally.error(type(exc).__name__)
                    continue
                if answer.status_code == 200:
                    tally.patch_ms.append((t2 - t1) * 1000)
                    tally.round_ms.append((t2 - started) * 1000)
                    tally.successes.append((code, value, note, etag_version(answer)))
                    done = True
                    break
                if answer.status_code == 412:
                    tally.patch_ms.append((t2 - t1) * 1000)
                    tally.conflicts += 1
                else:
                    tally.error(f"PATCH {answer.status_code} {answer.text[:120]}")
            if not done:
                tally.abandoned += 1
        session.close()

    return worker


def history_rows(conn: psycopg.Connection, codes: list[str], after_id: int) -> list[tuple]:
    return conn.execute(
        "SELECT z.code, u.cleared_area_ha, u.note, u.zone_version FROM zone_updates u JOIN zones z "
        "ON z.id = u.zone_id WHERE u.kind = 'status' AND u.id > %s AND z.code = ANY(%s)",
        (after_id, codes),
    ).fetchall()


def check_no_lost_updates(
    conn: psycopg.Connection, tallies: list[Tally], codes: list[str], after_id: int, base_versions: dict
) -> dict:
    """Compare what clients were told (200s) with the zones' history and versions in the database."""
    successes = [s for tally in tallies for s in tally.successes]
    rows = history_rows(conn, codes, after_id)
    recorded = {(code, Decimal(value), note, version) for code, value, note, version in rows}
    missing = [s for s in successes if s not in recorded]  # a 200 whose value/version is not in the history
    per_zone: dict[str, int] = {}
    for code, *_ in successes:
        per_zone[code] = per_zone.get(code, 0) + 1
    versions = dict(conn.execute("SELECT code, version FROM zones WHERE code = ANY(%s)", (codes,)).fetchall())
    bad_versions = [c for c in codes if versions[c] != base_versions[c] + per_zone.get(c, 0)]
    told = [(code, version) for code, _, _, version in successes]
    return {
        "successes": len(successes),
        "history_rows": len(rows),
        "lost": len(successes) - len(rows),
        "missing_values": len(missing),
        "duplicate_versions": len(told) - len(set(told)),  # two clients told they wrote the same version
        "bad_versions": bad_versions,
        "final_versions": {c: versions[c] for c in codes[:1]},
    }


def server_times(log_path: Path, start: int, end: int) -> dict[str, list[int]]:
    """App time (ms) per method from gunicorn's access log between two byte offsets."""
    with open(log_path, "rb") as handle:
        handle.seek(start)
        text = handle.read(end - start).decode(errors="replace")
    times: dict[str, list[int]] = {"GET": [], "PATCH": []}
    for match in ACCESS_LINE.finditer(text):
        times[match.group(1)].append(int(match.group(3)))
    return times


def start_server(url: str, port: int, log_path: Path, workers: int, threads: int) -> subprocess.Popen:
    khgeo = Path(sys.executable).with_name("khgeo")
    if not khgeo.exists():
        khgeo = Path(shutil.which("khgeo") or "khgeo")
    env = dict(os.environ)
    env.update(
        {
            "KHGEO_DATABASE_URL": url,
            "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
            "KHGEO_LOG_LEVEL": "WARNING",
        }
    )
    command = [str(khgeo), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"khgeo serve exited ({process.returncode}): {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"khgeo serve did not answer /healthz within 60 s: {log_path.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each scenario")
    parser.add_argument("--zones", type=int, default=200, help="synthetic zones to add (at least 200)")
    parser.add_argument("--max-requests", type=int, default=20000, help="per client and scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args()
    clients, seconds = options.clients, options.seconds
    n_synthetic = max(options.zones, 200)
    if clients < 1 or n_synthetic - 1 < clients:
        parser.error("need 1 ≤ clients < zones")

    root = Path(tempfile.mkdtemp(prefix="khgeo-bench-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "pg", fast=True)
    server = None
    results = []
    try:
        cluster.start()
        cluster.create_database("bench")
        url = cluster.url("bench")
        database = Database(url)
        migrate.upgrade(database)
        with database.session() as session:
            seed(session)
            district_id = accounts.resolve_districts(session, ["Việt Yên"])[0].id
        with database.session() as session:
            accounts.create_user(session, "bench-admin", "bench-password-1", "admin")
            token = accounts.new_token(session, "bench-admin")
        database.engine.dispose()

        conn = psycopg.connect(cluster.conninfo("bench"), autocommit=True)
        conn.execute(SYNTHETIC_ZONES_SQL, {"n": n_synthetic, "district_id": district_id})
        conn.execute("ANALYZE")
        total_zones = conn.execute("SELECT count(*) FROM zones").fetchone()[0]
        # A: syn-0 … syn-(n-2) dealt round-robin to the clients; B: the last one, untouched by A
        codes_a = [f"syn-{i}" for i in range(n_synthetic - 1)]
        zones_a = [codes_a[index::clients] for index in range(clients)]
        code_b = f"syn-{n_synthetic - 1}"

        port = free_port()
        log_path = root / "server.log"
        server = start_server(url, port, log_path, options.workers, options.threads)
        base = f"http://{HOST}:{port}"
        load_before = os.getloadavg()[0]  # other work on the machine skews every figure below

        for name, codes, worker in (
            ("A different zones", codes_a, scenario_a(base, token, zones_a, seconds, options.max_requests)),
            ("B same zone", [code_b], scenario_b(base, token, code_b, seconds, options.max_requests)),
        ):
            after_id = conn.execute("SELECT coalesce(max(id), 0) FROM zone_updates").fetchone()[0]
            base_versions = dict(
                conn.execute("SELECT code, version FROM zones WHERE code = ANY(%s)", (codes,)).fetchall()
            )
            log_start = log_path.stat().st_size
            tallies, elapsed = run_clients(worker, clients)
            time.sleep(0.3)  # let the access log lines of the last requests land
            server_ms = server_times(log_path, log_start, log_path.stat().st_size)
            check = check_no_lost_updates(conn, tallies, codes, after_id, base_versions)
            results.append((name, tallies, elapsed, check, server_ms))
        conn.close()
    finally:
        if server is not None:
            stop_server(server)
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"khgeo concurrent updates benchmark: {total_zones} zones, gunicorn {options.workers} workers × "
        f"{options.threads} threads, {os.cpu_count()} CPUs shared by server, PostgreSQL and clients "
        f"(1-min load average before the run {load_before:.2f})"
    )
    header = ("scenario", "clients", "s", "updates", "upd/s", "PATCH p50", "p99", "round p50", "p99")
    header += ("412", "errors", "lost")
    print("{:<18} {:>7} {:>5} {:>7} {:>7} {:>9} {:>6} {:>9} {:>6} {:>6} {:>6} {:>5}".format(*header))
    failed = False
    for name, tallies, elapsed, check, _ in results:
        patch_ms = [x for t in tallies for x in t.patch_ms]
        round_ms = [x for t in tallies for x in t.round_ms]
        successes = check["successes"]
        conflicts = sum(t.conflicts for t in tallies)
        errors = sum(t.errors for t in tallies)
        print(
            f"{name:<18} {len(tallies):>7} {elapsed:>5.1f} {successes:>7} {successes / elapsed:>7.1f} "
            f"{percentile(patch_ms, 50):>9.1f} {percentile(patch_ms, 99):>6.1f} "
            f"{percentile(round_ms, 50):>9.1f} {percentile(round_ms, 99):>6.1f} "
            f"{conflicts:>6} {errors:>6} {check['lost']:>5}"
        )
    print(
        "latencies in ms seen by the clients; B's round is from the first GET until the 200, retries included"
    )
    print()
    print("where the time goes (ms, p50 / p99 / mean)")
    for name, tallies, _, _, server_ms in results:
        get_ms = [x for t in tallies for x in t.get_ms]
        patch_ms = [x for t in tallies for x in t.patch_ms]
        for label, samples in (
            ("client GET", get_ms),
            ("client PATCH", patch_ms),
            ("server GET", server_ms["GET"]),
            ("server PATCH", server_ms["PATCH"]),
        ):
            mean = statistics.fmean(samples) if samples else float("nan")
            print(
                f"  {name:<18} {label:<13} {percentile(samples, 50):>7.1f} {percentile(samples, 99):>7.1f} "
                f"{mean:>7.1f}   n={len(samples)}"
            )
    print()
    print("lost-update check (database against the 200s the clients received)")
    for name, tallies, _, check, _ in results:
        ok = not (
            check["lost"] or check["missing_values"] or check["duplicate_versions"] or check["bad_versions"]
        )
        failed |= not ok
        abandoned = sum(t.abandoned for t in tallies)
        print(
            f"  {name:<18} 200s {check['successes']}, new history rows {check['history_rows']}, lost "
            f"{check['lost']}, 200-values missing from history {check['missing_values']}, versions told twice "
            f"{check['duplicate_versions']}, zones with wrong final version {len(check['bad_versions'])}"
            + (
                f", final version {next(iter(check['final_versions'].values()))}"
                if name.startswith("B")
                else ""
            )
            + (f", updates still retrying at the deadline {abandoned}" if name.startswith("B") else "")
            + ("  OK" if ok else "  FAIL")
        )
        samples = [s for t in tallies for s in t.error_samples][:3]
        if samples:
            print(f"    error samples: {samples}")
    print("targets: A ≥ 200 updates/s and PATCH p99 ≤ 100 ms; lost updates 0 in both")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
