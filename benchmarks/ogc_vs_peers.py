"""khgeo's OGC API – Features against pygeoapi: the same 10,000 zones, the same machine, the same load.

A throwaway PostGIS cluster is migrated, seeded and filled with 10,000 synthetic zones (map_scale.py's generator),
each reshaped like the seeded outlines (a compact 33-vertex shape of the same area; ``--shape square`` keeps
map_scale's 5-point squares, which flatter pygeoapi's per-coordinate Python).
pygeoapi (its PostgreSQL provider) reads the same rows through a view exposing exactly the properties khgeo serves.
pygeoapi is installed into a separate venv (``python3 -m venv``; ``pip install pygeoapi psycopg2-binary geoalchemy2
pygeofilter gunicorn``) under the temp directory, or in ``--pygeoapi-venv DIR``, kept for the next run.

Both servers run under gunicorn on 127.0.0.1 with the same shape (2 workers × 4 threads, gthread), and one load
generator drives each in turn: a Python thread pool of ``--clients`` keep-alive connections sending ``--requests``
GET …/collections/zones/items?f=json&limit=1000&offset=0…9000 (offsets cycling), after a warm-up pass. It prints
requests/s, p50 and p99 for each, the server CPU per page (gunicorn processes and their PostgreSQL backends,
read from /proc: unlike requests/s it does not depend on what else runs on the machine), and the ratios
(target: khgeo ≥ 6× pygeoapi). Only 127.0.0.1 is contacted (pip aside, which uses your package index). Clients,
servers and PostgreSQL share this machine: quote figures with its CPU count and load.

    .venv/bin/python benchmarks/ogc_vs_pygeoapi.py [--requests 200] [--clients 8] [--shape outline|square]
                                                   [--pygeoapi-venv DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests
from map_scale import SYNTHETIC_ZONES_SQL

from khgeo import migrate
from khgeo.db import Database
from khgeo.pgcluster import SUPERUSER, LocalCluster
from khgeo.services.seed import seed

HOST = "127.0.0.1"
ZONES = 10_000
PAGE = 1000
WORKERS, THREADS = 2, 4
PYGEOAPI_PACKAGES = ["pygeoapi", "psycopg2-binary", "geoalchemy2", "pygeofilter", "gunicorn"]

# exactly the properties of /api/zones and khgeo's OGC API (khgeo.services.zones._feature_properties); pygeoapi
# moves its id field out of the properties, hence the code twice (as the id, and as the property)
PYGEOAPI_VIEW = """
CREATE VIEW bench_ogc_zones AS
SELECT z.code AS id, z.code, z.name, z.aliases, z.kind, d.name AS district, d.code AS district_code, z.communes,
       z.stated_area_ha AS area_ha, round(z.computed_area_ha::numeric, 2) AS computed_area_ha, z.clearance_pct,
       z.clearance_incomplete, z.cleared_area_ha, z.clearance_area_ha, z.households_total, z.households_agreed,
       z.wwtp_status, z.wwtp_capacity_m3_day, z.infrastructure_pct,
       z.occupancy_pct, z.operating_status, z.developer, z.geometry_source, z.as_of, z.version, z.updated_at, z.geom
FROM zones z LEFT JOIN districts d ON z.district_id = d.id
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# The seeded (illustrative) outlines are compact shapes of 33 vertices; map_scale.py's synthetic zones are 5-point
# squares. "outline" turns each square into such a shape of the same area and centre, "square" keeps them.
OUTLINES_SQL = """
UPDATE zones SET geom = ST_Multi(ST_Buffer(ST_Centroid(geom)::geography, sqrt(ST_Area(geom::geography) / pi()),
                                           'quad_segs=8')::geometry);
ANALYZE zones;
"""


def prepare_database(cluster: LocalCluster, shape: str) -> float:
    """Migrate, seed, make the 10,000 zones and pygeoapi's view; returns the mean number of vertices."""
    cluster.create_database("bench")
    database = Database(cluster.url("bench"))
    migrate.upgrade(database)
    with database.session() as session:
        seed(session)
    database.engine.dispose()
    with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
        conn.execute(SYNTHETIC_ZONES_SQL.replace("%(n)s", str(ZONES)))
        if shape == "outline":
            conn.execute(OUTLINES_SQL)
        conn.execute(PYGEOAPI_VIEW)
        assert conn.execute("SELECT count(*) FROM bench_ogc_zones").fetchone()[0] == ZONES
        return float(conn.execute("SELECT avg(ST_NPoints(geom)) FROM zones").fetchone()[0])


def pygeoapi_venv(path: Path) -> Path:
    if not (path / "bin" / "gunicorn").exists() or not (path / "bin" / "pygeoapi").exists():
        print(f"installing pygeoapi into {path} …", flush=True)
        subprocess.run(["python3", "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *PYGEOAPI_PACKAGES], check=True)
    version = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import pygeoapi; print(pygeoapi.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"pygeoapi {version} in {path}", flush=True)
    return path


def pygeoapi_config(cluster: LocalCluster, port: int) -> dict:
    """A minimal pygeoapi configuration (JSON is YAML) for the zones view, limits as khgeo's (100, 10,000)."""
    return {
        "server": {
            "bind": {"host": HOST, "port": port},
            "url": f"http://{HOST}:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 100, "max_items": 10_000},
            "map": {"url": "https://tiles.invalid/{z}/{x}/{y}.png", "attribution": "none"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "benchmark",
                "description": "khgeo benchmark",
                "keywords": ["benchmark"],
                "url": f"http://{HOST}:{port}",
                "terms_of_service": f"http://{HOST}:{port}",
            },
            "license": {"name": "none", "url": f"http://{HOST}:{port}"},
            "provider": {"name": "khgeo benchmark"},
            "contact": {"name": "khgeo benchmark"},
        },
        "resources": {
            "zones": {
                "type": "collection",
                "title": "zones",
                "description": "the same zones khgeo serves",
                "keywords": ["zones"],
                "extents": {
                    "spatial": {
                        "bbox": [105.8, 21.0, 107.1, 21.7],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    }
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": {
                            "host": str(cluster.socket_dir),
                            "port": 5432,
                            "dbname": "bench",
                            "user": SUPERUSER,
                            "password": "",
                            "search_path": ["public"],
                        },
                        "id_field": "id",
                        "table": "bench_ogc_zones",
                        "geom_field": "geom",
                    }
                ],
            }
        },
    }


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within 90 s: {log.read_text()[-3000:]}")


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_khgeo(cluster: LocalCluster, root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "KHGEO_DATABASE_URL": cluster.url("bench"),
            "KHGEO_SECRET_KEY": "bench-only-Zq8vN3rT6yLm1Kp0Xw4Hd9Bs2Gf7Jc5U",
            "KHGEO_PUBLIC_READ": "true",
            "KHGEO_LOG_LEVEL": "WARNING",
        }
    )
    khgeo = Path(sys.executable).parent / "khgeo"
    command = [str(khgeo), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(WORKERS), "--threads", str(THREADS)]
    log = root / "khgeo.log"
    process = start(command, env, log)
    base = f"http://{HOST}:{port}/ogcapi"
    wait_until_up(f"{base}/collections/zones/items?limit=1", process, log)
    return process, base


def start_pygeoapi(cluster: LocalCluster, root: Path, venv: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = root / "pygeoapi-config.yml"
    config.write_text(json.dumps(pygeoapi_config(cluster, port), indent=2))
    openapi = root / "pygeoapi-openapi.yml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update({"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)})
    generate = [
        str(venv / "bin" / "pygeoapi"),
        "openapi",
        "generate",
        str(config),
        "--output-file",
        str(openapi),
    ]
    result = subprocess.run(generate, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed: {result.stderr[-3000:]}")
    command = [str(venv / "bin" / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(WORKERS)]
    command += ["--threads", str(THREADS), "--worker-class", "gthread", "--timeout", "120"]
    command += ["pygeoapi.flask_app:APP"]
    log = root / "pygeoapi.log"
    process = start(command, env, log)
    base = f"http://{HOST}:{port}"
    wait_until_up(f"{base}/collections/zones/items?f=json&limit=1", process, log)
    return process, base


def check_page(session: requests.Session, base: str) -> tuple[set[str], int]:
    """What a page holds: every feature's property names, and the body size."""
    response = session.get(f"{base}/collections/zones/items?f=json&limit={PAGE}&offset=0", timeout=120)
    response.raise_for_status()
    page = response.json()
    assert page["numberMatched"] == ZONES, page.get("numberMatched")
    assert len(page["features"]) == PAGE, len(page["features"])
    keys = set()
    for feature in page["features"]:
        keys |= set(feature["properties"])
    return keys, len(response.content)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (/proc/<pid>/stat fields 14 and 15); 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(
    process: subprocess.Popen, conninfo: str, application_name: str
) -> dict[str, dict[int, float]]:
    """CPU seconds so far of a server's gunicorn master and workers ("app") and its PostgreSQL backends ("db")."""
    app = [process.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == process.pid:
                app.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    with psycopg.connect(conninfo, autocommit=True) as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        db = [row[0] for row in conn.execute(query, (application_name,))]
    return {"app": {pid: _cpu_seconds(pid) for pid in app}, "db": {pid: _cpu_seconds(pid) for pid in db}}


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    return {
        part: sum(seconds - before[part].get(pid, 0.0) for pid, seconds in after[part].items())
        for part in after
    }


def load(base: str, total: int, clients: int, snapshot) -> tuple[float, list[float], dict[str, float]]:
    """``total`` page requests from ``clients`` threads: (elapsed seconds, latencies in ms, server CPU seconds).

    ``snapshot()`` reads the server's CPU counters before and after the measured requests: CPU per request does
    not depend on what else the machine is doing, throughput and latency do.

    Each client keeps one HTTP/1.1 connection (http.client: the load tool costs little CPU on a machine it shares
    with the servers); every response is read in full and checked.
    """
    parts = urlsplit(base)
    paths = [
        f"{parts.path}/collections/zones/items?f=json&limit={PAGE}&offset={(i * PAGE) % ZONES}"
        for i in range(total)
    ]
    local = threading.local()

    def fetch(path: str) -> float:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        started = time.perf_counter()
        local.connection.request("GET", path, headers={"Accept": "application/geo+json"})
        response = local.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or not body.endswith(b"}"):
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        return elapsed

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(fetch, paths[: ZONES // PAGE]))  # warm-up: every offset once
        cpu_before = snapshot()
        started = time.perf_counter()
        latencies = list(pool.map(fetch, paths))
        elapsed = time.perf_counter() - started
        return elapsed, latencies, cpu_used(cpu_before, snapshot())


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pygeoapi-venv", type=Path, help="reuse (or create and keep) pygeoapi's venv here")
    parser.add_argument(
        "--shape",
        choices=("outline", "square"),
        default="outline",
        help="zones shaped like the seeded outlines (33 vertices, default) or map_scale.py's squares (5)",
    )
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="khgeo-ogc-bench-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "pg", fast=True)
    servers: list[subprocess.Popen] = []
    results = {}
    try:
        venv = pygeoapi_venv(
            options.pygeoapi_venv.resolve() if options.pygeoapi_venv else root / "pygeoapi-venv"
        )
        cluster.start()
        vertices = prepare_database(cluster, options.shape)
        khgeo, khgeo_base = start_khgeo(cluster, root)
        servers.append(khgeo)
        pygeoapi, pygeoapi_base = start_pygeoapi(cluster, root, venv)
        servers.append(pygeoapi)
        with requests.Session() as session:
            session.trust_env = False
            khgeo_keys, khgeo_bytes = check_page(session, khgeo_base)
            pygeoapi_keys, pygeoapi_bytes = check_page(session, pygeoapi_base)
        assert khgeo_keys == pygeoapi_keys, khgeo_keys ^ pygeoapi_keys
        conninfo = cluster.conninfo("bench")
        for name, process, base, size in (
            ("khgeo", khgeo, khgeo_base, khgeo_bytes),
            ("pygeoapi", pygeoapi, pygeoapi_base, pygeoapi_bytes),
        ):
            print(f"loading {name} …", flush=True)
            snapshot = functools.partial(server_cpu, process, conninfo, name)  # name = application_name
            elapsed, latencies, cpu = load(base, options.requests, options.clients, snapshot)
            per_page = {part: seconds * 1000 / len(latencies) for part, seconds in cpu.items()}
            results[name] = (len(latencies) / elapsed, latencies, size, per_page)
    finally:
        for process in servers:
            stop(process)
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"\nOGC API – Features items?limit={PAGE} (offsets 0…{ZONES - PAGE}), {ZONES:,} zones ({options.shape}s, "
        f"{vertices:.0f} vertices on average) with the same {len(khgeo_keys)} properties; "
        f"{options.requests} requests, {options.clients} clients; gunicorn "
        f"{WORKERS} workers × {THREADS} threads each; {os.cpu_count()} CPUs shared by servers, PostgreSQL and clients"
    )
    header = ("server", "req/s", "p50 ms", "p99 ms", "KB/page", "CPU ms/page", "(Python", "PostgreSQL)")
    print("{:<10} {:>8} {:>8} {:>8} {:>8} {:>12} {:>8} {:>11}".format(*header))
    for name, (rate, latencies, size, cpu) in results.items():
        p50, p99 = statistics.median(latencies), percentile(latencies, 99)
        print(
            f"{name:<10} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {size / 1024:>8.0f} {cpu['app'] + cpu['db']:>12.1f} "
            f"{cpu['app']:>8.1f} {cpu['db']:>11.1f}"
        )
    khgeo, pygeoapi = results["khgeo"], results["pygeoapi"]
    print(
        f"khgeo / pygeoapi: {khgeo[0] / pygeoapi[0]:.1f}× the throughput, "
        f"p50 {statistics.median(pygeoapi[1]) / statistics.median(khgeo[1]):.1f}× lower, "
        f"{sum(pygeoapi[3].values()) / sum(khgeo[3].values()):.1f}× less server CPU per page (target ≥ 6×)"
    )
    print(
        "CPU ms/page: gunicorn processes + their PostgreSQL backends; unlike req/s, not skewed by other load"
    )


if __name__ == "__main__":
    main()
