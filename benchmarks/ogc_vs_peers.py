"""khgeo's OGC API – Features against tipg and pygeoapi: the same 10,000 zones, the same machine, the same load.

A throwaway PostGIS cluster is migrated, seeded and filled with 10,000 synthetic zones (map_scale.py's generator),
each reshaped like the seeded outlines (a compact 33-vertex shape of the same area; ``--shape square`` keeps
map_scale's 5-point squares). tipg and pygeoapi read the same rows through a view exposing exactly the properties
khgeo serves. Each peer is installed from PyPI into its own venv under benchmarks/out/ (gitignored), kept for the
next run: pygeoapi (``pip install pygeoapi psycopg2-binary geoalchemy2 pygeofilter gunicorn``) and tipg
(``pip install tipg uvicorn``).

khgeo and pygeoapi run under gunicorn (``--workers`` processes × 4 threads, gthread), tipg under uvicorn with the
same number of worker processes; each as shipped, compression included (khgeo: brotli 1 / gzip 5; tipg:
starlette-cramjam at level 6; pygeoapi: its ``gzip`` setting). First all three must return the same features with
the same properties (every page, compared value by value). Then one load generator drives them in turn,
interleaved and repeated (``--rounds`` rounds, the order rotating): ``--clients`` keep-alive connections sending
``--requests`` GET …/items?limit=1000&offset=0…9000 (offsets cycling) per round, with the Accept-Encoding of
``--accept-encoding`` (a browser's by default). It prints req/s, p50 and p99, the server CPU per page (the server's
processes and their PostgreSQL backends, from /proc/<pid>/stat: unlike req/s it barely depends on what else runs
on the machine), the bytes per page on the wire, the ratios against the targets (khgeo ≥ 8× tipg and ≥ 10×
pygeoapi throughput, ≤ 1/8 of tipg's CPU per page) and the machine's load average. Only 127.0.0.1 is contacted
(pip aside, which uses your package index). Clients, servers and PostgreSQL share this machine: quote figures with
its CPU count and load.

    .venv/bin/python benchmarks/ogc_vs_peers.py [--requests 100] [--rounds 3] [--clients 8] [--workers 2]
                                                [--accept-encoding "gzip, deflate, br"] [--shape outline|square]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import functools
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import brotli
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
PYGEOAPI_PACKAGES = ["pygeoapi", "psycopg2-binary", "geoalchemy2", "pygeofilter", "gunicorn"]
TIPG_PACKAGES = ["tipg", "uvicorn"]
THREADS = 4  # gunicorn threads per worker (khgeo, pygeoapi); tipg is asynchronous

# exactly the properties of /api/zones and khgeo's OGC API (khgeo.services.zones._feature_properties); pygeoapi
# and tipg take their id field out of the properties, hence the code twice (as the id, and as the property)
PYGEOAPI_VIEW = """
CREATE VIEW bench_ogc_zones AS
SELECT z.code AS id, z.code, z.name, z.aliases, z.kind, d.name AS district, d.code AS district_code, z.communes,
       z.stated_area_ha AS area_ha, round(z.computed_area_ha::numeric, 2) AS computed_area_ha, z.clearance_pct,
       CASE WHEN z.clearance_pct IS NOT NULL THEN z.clearance_pct < 100 ELSE z.clearance_incomplete END
         AS clearance_incomplete, z.cleared_area_ha, z.clearance_area_ha, z.households_total, z.households_agreed,
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


OUT = Path(__file__).resolve().parent / "out"
PEERS = {
    # name: (packages, the module to ask for its version, an executable the venv must have)
    "pygeoapi": (PYGEOAPI_PACKAGES, "pygeoapi", "gunicorn"),
    "tipg": (TIPG_PACKAGES, "tipg", "uvicorn"),
}


def peer_venv(name: str) -> tuple[Path, str]:
    """benchmarks/out/<name>-venv, installed from PyPI the first time; (its path, the peer's version)."""
    packages, module, executable = PEERS[name]
    path = OUT / f"{name}-venv"
    if not (path / "bin" / executable).exists():
        print(f"installing {name} into {path} …", flush=True)
        subprocess.run(["python3", "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *packages], check=True)
    version = subprocess.run(
        [str(path / "bin" / "python"), "-c", f"import importlib.metadata as m; print(m.version('{module}'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return path, version


def pygeoapi_config(cluster: LocalCluster, port: int) -> dict:
    """A minimal pygeoapi configuration (JSON is YAML) for the zones view, limits as khgeo's (100, 10,000)."""
    return {
        "server": {
            "bind": {"host": HOST, "port": port},
            "url": f"http://{HOST}:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": True,  # compress when the client accepts gzip, as khgeo and tipg do
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


def start_khgeo(cluster: LocalCluster, root: Path, workers: int) -> tuple[subprocess.Popen, str]:
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
    command += ["--workers", str(workers), "--threads", str(THREADS)]
    log = root / "khgeo.log"
    process = start(command, env, log)
    base = f"http://{HOST}:{port}/ogcapi"
    wait_until_up(f"{base}/collections/zones/items?limit=1", process, log)
    return process, base


def start_pygeoapi(
    cluster: LocalCluster, root: Path, venv: Path, workers: int
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = root / "pygeoapi-config.yml"
    config.write_text(json.dumps(pygeoapi_config(cluster, port), indent=2))
    openapi = root / "pygeoapi-openapi.yml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update({"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi), "PGAPPNAME": "pygeoapi"})
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
    command = [str(venv / "bin" / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    command += ["--threads", str(THREADS), "--worker-class", "gthread", "--timeout", "120"]
    command += ["pygeoapi.flask_app:APP"]
    log = root / "pygeoapi.log"
    process = start(command, env, log)
    base = f"http://{HOST}:{port}"
    wait_until_up(f"{base}/collections/zones/items?f=json&limit=1", process, log)
    return process, base


def start_tipg(cluster: LocalCluster, root: Path, venv: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        {
            "DATABASE_URL": f"postgresql://{SUPERUSER}@{quote(str(cluster.socket_dir), safe='')}/bench"
            "?application_name=tipg",  # the socket directory as the host; the name as a server setting
            "TIPG_DB_TABLES": json.dumps(["public.bench_ogc_zones"]),
            "TIPG_TABLE_CONFIG__public_bench_ogc_zones__PK": "id",
            "TIPG_MAX_FEATURES_PER_QUERY": str(ZONES),
            "TIPG_DB_SPATIAL_EXTENT": "false",
            "TIPG_DB_DATETIME_EXTENT": "false",
            "TIPG_DB_MAX_CONN_SIZE": str(THREADS),
        }
    )
    command = [str(venv / "bin" / "uvicorn"), "tipg.main:app", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    log = root / "tipg.log"
    process = start(command, env, log)
    base = f"http://{HOST}:{port}"
    wait_until_up(f"{base}/collections/public.bench_ogc_zones/items?limit=1", process, log)
    return process, base


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen
    items: str  # the items URL, without the query
    fmt: str  # the value of f= for GeoJSON


def _same_value(value):
    """A property value as all three servers can agree on: numbers as floats (tipg writes PostgreSQL numerics as
    strings, "4.40"), instants as instants (each writes its own time zone and precision)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def features_of(session: requests.Session, server: Server, accept_encoding: str) -> tuple[dict, float]:
    """Every feature of every page, by code: (code → (properties, first vertex)), and the mean bytes per page."""
    found, sizes = {}, []
    for offset in range(0, ZONES, PAGE):
        url = f"{server.items}?f={server.fmt}&limit={PAGE}&offset={offset}"
        response = session.get(url, headers={"Accept-Encoding": accept_encoding}, timeout=300, stream=True)
        response.raise_for_status()
        raw = response.raw.read(decode_content=False)
        sizes.append(len(raw))
        page = json.loads(_decode(raw, response.headers))
        assert len(page["features"]) == PAGE, (server.name, offset, len(page["features"]))
        for feature in page["features"]:
            properties = {k: _same_value(v) for k, v in feature["properties"].items() if k != "id"}
            ring = feature["geometry"]["coordinates"][0][0] if feature["geometry"] else [[None, None]]
            vertex = tuple(ring[0]) if ring[0][0] is not None else None
            found[properties["code"]] = (properties, vertex)
    return found, statistics.mean(sizes)


def _decode(raw: bytes, headers) -> bytes:
    encoding = headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "br":
        return brotli.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    assert encoding in ("", "identity"), encoding
    return raw


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


def load(
    server: Server, total: int, clients: int, accept_encoding: str, snapshot, first_offset: int
) -> tuple[float, list[float], dict[str, float], int]:
    """``total`` page requests from ``clients`` threads: (seconds, latencies in ms, server CPU seconds, bytes).

    ``snapshot()`` reads the server's CPU counters before and after the measured requests: CPU per request does
    not depend on what else the machine is doing, throughput and latency do. Each client keeps one HTTP/1.1
    connection (http.client, which never decompresses: the load tool costs little CPU on a machine it shares with
    the servers); every response is read in full and its status checked.
    """
    parts = urlsplit(server.items)
    paths = [
        f"{parts.path}?f={server.fmt}&limit={PAGE}&offset={((first_offset + i) * PAGE) % ZONES}"
        for i in range(total)
    ]
    local = threading.local()
    reconnects: list[str] = []
    headers = {"Accept": "application/geo+json", "Accept-Encoding": accept_encoding}

    def fetch(path: str) -> tuple[float, int]:
        started = time.perf_counter()
        for attempt in (1, 2):
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
            try:
                local.connection.request("GET", path, headers=headers)
                response = local.connection.getresponse()
                body = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                # a kept-alive connection the server closed as the request went out: reconnect, once
                local.connection.close()
                del local.connection
                if attempt == 2:
                    raise
                reconnects.append(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or not body:
            raise RuntimeError(f"{server.name} {path}: {response.status} {body[:300]!r}")
        return elapsed, len(body)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(fetch, paths[:clients]))  # warm-up: every connection open
        cpu_before = snapshot()
        started = time.perf_counter()
        results = list(pool.map(fetch, paths))
        elapsed = time.perf_counter() - started
        cpu = cpu_used(cpu_before, snapshot())
    if reconnects:
        print(f"  {server.name}: {len(reconnects)} request(s) sent again on a new connection", flush=True)
    return elapsed, [ms for ms, _ in results], cpu, sum(size for _, size in results)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="page requests per server and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each loading every server in turn")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (each server)")
    parser.add_argument("--accept-encoding", default="gzip, deflate, br", help="what the clients accept")
    parser.add_argument(
        "--shape",
        choices=("outline", "square"),
        default="outline",
        help="zones shaped like the seeded outlines (33 vertices, default) or map_scale.py's squares (5)",
    )
    options = parser.parse_args()
    venvs = {name: peer_venv(name) for name in PEERS}
    for name, (path, version) in venvs.items():
        print(f"{name} {version} in {path}", flush=True)

    root = Path(tempfile.mkdtemp(prefix="khgeo-ogc-bench-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "pg", fast=True)
    servers: list[Server] = []
    totals: dict[str, list] = {}
    load_before = os.getloadavg()
    try:
        cluster.start()
        vertices = prepare_database(cluster, options.shape)
        process, base = start_khgeo(cluster, root, options.workers)
        servers.append(Server("khgeo", process, f"{base}/collections/zones/items", "json"))
        process, base = start_tipg(cluster, root, venvs["tipg"][0], options.workers)
        servers.append(Server("tipg", process, f"{base}/collections/public.bench_ogc_zones/items", "geojson"))
        process, base = start_pygeoapi(cluster, root, venvs["pygeoapi"][0], options.workers)
        servers.append(Server("pygeoapi", process, f"{base}/collections/zones/items", "json"))

        with requests.Session() as session:
            session.trust_env = False
            served = {s.name: features_of(session, s, options.accept_encoding) for s in servers}
        reference = served["khgeo"][0]
        assert len(reference) == ZONES
        for name, (features, _size) in served.items():
            assert features.keys() == reference.keys(), f"{name} serves other features"
            for code, (properties, vertex) in features.items():
                assert properties == reference[code][0], (name, code, properties, reference[code][0])
                same_vertex = vertex == reference[code][1] or all(
                    abs(a - b) <= 1e-6 for a, b in zip(vertex, reference[code][1], strict=True)
                )  # khgeo writes 6 decimals (~0.1 m), the others every digit
                assert same_vertex, (name, code, vertex, reference[code][1])
        print(
            f"all three serve the same {ZONES:,} features with the same {len(next(iter(reference.values()))[0])} "
            "properties",
            flush=True,
        )

        conninfo = cluster.conninfo("bench")
        for server in servers:
            totals[server.name] = [0.0, [], {"app": 0.0, "db": 0.0}, 0]
        for round_number in range(options.rounds):
            order = servers[round_number % len(servers) :] + servers[: round_number % len(servers)]
            for server in order:
                print(f"round {round_number + 1}/{options.rounds}: {server.name} …", flush=True)
                snapshot = functools.partial(server_cpu, server.process, conninfo, server.name)
                elapsed, latencies, cpu, size = load(
                    server, options.requests, options.clients, options.accept_encoding, snapshot, round_number
                )
                total = totals[server.name]
                total[0] += elapsed
                total[1] += latencies
                total[2] = {part: total[2][part] + cpu[part] for part in cpu}
                total[3] += size
    finally:
        for server in servers:
            stop(server.process)
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()

    print(
        f"\nOGC API – Features items?limit={PAGE} (offsets 0…{ZONES - PAGE}), {ZONES:,} zones ({options.shape}s, "
        f"{vertices:.0f} vertices on average); {options.rounds} rounds × {options.requests} requests per server, "
        f"interleaved, {options.clients} clients, Accept-Encoding: {options.accept_encoding}; {options.workers} "
        f"worker processes each (gunicorn × {THREADS} threads for khgeo and pygeoapi, uvicorn for tipg); "
        f"{os.cpu_count()} CPUs shared by servers, PostgreSQL, clients and whatever else runs"
    )
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    header = ("server", "req/s", "p50 ms", "p99 ms", "KiB/page", "CPU ms/page", "(app", "PostgreSQL)")
    print("{:<10} {:>8} {:>8} {:>8} {:>9} {:>12} {:>8} {:>11}".format(*header))
    figures = {}
    for name, (elapsed, latencies, cpu, size) in totals.items():
        rate = len(latencies) / elapsed
        per_page = {part: seconds * 1000 / len(latencies) for part, seconds in cpu.items()}
        figures[name] = (rate, statistics.median(latencies), sum(per_page.values()))
        print(
            f"{name:<10} {rate:>8.1f} {statistics.median(latencies):>8.1f} {percentile(latencies, 99):>8.1f} "
            f"{size / len(latencies) / 1024:>9.0f} {sum(per_page.values()):>12.1f} {per_page['app']:>8.1f} "
            f"{per_page['db']:>11.1f}"
        )
    khgeo = figures["khgeo"]
    for peer, target in (("tipg", 8), ("pygeoapi", 10)):
        rate, p50, cpu = figures[peer]
        print(
            f"khgeo / {peer}: {khgeo[0] / rate:.1f}× the throughput (target ≥ {target}×), p50 {p50 / khgeo[1]:.1f}× "
            f"lower, {cpu / khgeo[2]:.1f}× less server CPU per page"
            + (" (target ≥ 8×)" if peer == "tipg" else "")
        )
    print(
        "CPU ms/page: the server's processes + their PostgreSQL backends; unlike req/s, not skewed by other load"
    )


if __name__ == "__main__":
    main()
