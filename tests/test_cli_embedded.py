"""The `khgeo` command against the embedded database, as `make run` uses it: created on first use, reused,
stopped cleanly; the schema from migrations; seed idempotent; serve refuses an unmigrated database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from khgeo import migrate
from khgeo.pgcluster import LocalCluster
from tests import helpers

KHGEO = str(Path(sys.executable).parent / "khgeo")


@pytest.fixture
def data_dir():
    path = Path(tempfile.mkdtemp(prefix="khgeo-embedded-"))
    path.chmod(0o755)
    yield path
    LocalCluster(path / "postgres").destroy()
    shutil.rmtree(path, ignore_errors=True)


def khgeo(data_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KHGEO_DATA_DIR": str(data_dir), "KHGEO_TILES_URL": ""}
    env.pop("KHGEO_DATABASE_URL", None)
    return subprocess.run([KHGEO, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_upgrade_seed_and_rerun_against_the_embedded_database(data_dir):
    first = khgeo(data_dir, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"→ {migrate.head_revision()}" in first.stdout
    cluster = LocalCluster(data_dir / "postgres")
    assert cluster.initialized
    assert not cluster.is_running(), "a one-off command stops the cluster it started"
    if os.geteuid() == 0:
        assert (data_dir / "postgres" / "pgdata").stat().st_uid != 0, "postgres must not run as root"
    secret = data_dir / "secret_key"
    assert secret.exists() and oct(secret.stat().st_mode & 0o777) == "0o600"

    again = khgeo(data_dir, "db", "upgrade")
    assert again.returncode == 0 and f"already at {migrate.head_revision()}" in again.stdout

    seeded = khgeo(data_dir, "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert "zones: 25 created" in seeded.stdout
    reseeded = khgeo(data_dir, "seed")
    assert "zones: 0 created, 25 already present" in reseeded.stdout
    assert "tasks: 0 created, 52 already present" in reseeded.stdout


def test_seed_before_upgrade_is_a_clear_error(data_dir):
    result = khgeo(data_dir, "seed")
    assert result.returncode != 0
    assert "khgeo db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_runs_gunicorn_and_stops_the_database_on_exit(data_dir):
    assert khgeo(data_dir, "db", "upgrade").returncode == 0
    assert khgeo(data_dir, "seed").returncode == 0
    port = helpers.free_port()
    env = {**os.environ, "KHGEO_DATA_DIR": str(data_dir), "KHGEO_TILES_URL": ""}
    env.pop("KHGEO_DATABASE_URL", None)
    server, health = helpers.serve_until_healthy(
        [KHGEO, "serve", "--port", str(port), "--workers", "2"], env, port, seconds=60
    )
    try:
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}  # details only for admins and `khgeo health`
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.url.endswith("/login?next=/"), "reading needs a login by default"
        assert "gunicorn" in requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).headers.get(
            "Server", ""
        )
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert '"GET /healthz HTTP/1.1" 200' in output, "one access-log line per request"
    assert not LocalCluster(data_dir / "postgres").is_running()
