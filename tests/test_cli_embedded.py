"""The `khgeo` command against the embedded database, as `make run` uses it: created on first use, reused,
stopped cleanly; the schema from migrations; seed idempotent; `serve --upgrade --seed` migrates, seeds and serves
with one database start; serve runs gunicorn and stops the database on exit."""

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


class NewUser:
    """One embedded data directory, taken once through what a new user's first commands do, in this order:
    ``seed`` too early, ``db upgrade`` twice, ``serve --upgrade --seed`` (what ``make run`` runs), ``seed`` again.
    Each test checks one part of the story. (An embedded cluster costs an initdb, migrations and a seed: done once
    per module instead of once per test, the module took 16 s instead of 43 s.)"""

    def __init__(self, path: Path):
        self.path = path
        self.seed_first = khgeo(path, "seed")
        self.upgrade = khgeo(path, "db", "upgrade")
        self.running_after_upgrade = LocalCluster(path / "postgres").is_running()
        self.upgrade_again = khgeo(path, "db", "upgrade")
        self.starts_before_serve = self.database_starts()
        self.serve_health, self.serve_zones, self.serve_code, self.serve_output = self._serve_upgrade_seed()
        self.starts_by_serve = self.database_starts() - self.starts_before_serve
        self.running_after_serve = LocalCluster(path / "postgres").is_running()
        self.seed_again = khgeo(path, "seed")

    def database_starts(self) -> int:
        log = (self.path / "postgres" / "postgres.log").read_text(errors="replace")
        return log.count("database system is ready to accept connections")

    def _serve_upgrade_seed(self):
        port = helpers.free_port()
        env = {
            **os.environ,
            "KHGEO_DATA_DIR": str(self.path),
            "KHGEO_TILES_URL": "",
            "KHGEO_PUBLIC_READ": "true",
        }
        env.pop("KHGEO_DATABASE_URL", None)
        server, health = helpers.serve_until_healthy(
            [KHGEO, "serve", "--upgrade", "--seed", "--port", str(port), "--workers", "1"],
            env,
            port,
            seconds=120,
        )
        try:
            zones = requests.get(f"http://127.0.0.1:{port}/api/zones", timeout=10).json()
        finally:
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=60)
        return health.status_code, zones, server.returncode, output


@pytest.fixture(scope="module")
def new_user():
    path = Path(tempfile.mkdtemp(prefix="khgeo-embedded-"))
    path.chmod(0o755)
    yield NewUser(path)
    LocalCluster(path / "postgres").destroy()
    shutil.rmtree(path, ignore_errors=True)


def khgeo(data_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KHGEO_DATA_DIR": str(data_dir), "KHGEO_TILES_URL": ""}
    env.pop("KHGEO_DATABASE_URL", None)
    return subprocess.run([KHGEO, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_seed_before_upgrade_is_a_clear_error(new_user):
    result = new_user.seed_first
    assert result.returncode != 0
    assert "khgeo db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_upgrade_creates_the_schema_and_a_rerun_changes_nothing(new_user):
    first = new_user.upgrade
    assert first.returncode == 0, first.stderr
    assert f"→ {migrate.head_revision()}" in first.stdout
    cluster = LocalCluster(new_user.path / "postgres")
    assert cluster.initialized
    assert not new_user.running_after_upgrade, "a one-off command stops the cluster it started"
    if os.geteuid() == 0:
        assert (new_user.path / "postgres" / "pgdata").stat().st_uid != 0, "postgres must not run as root"
    secret = new_user.path / "secret_key"
    assert secret.exists() and oct(secret.stat().st_mode & 0o777) == "0o600"
    again = new_user.upgrade_again
    assert again.returncode == 0 and f"already at {migrate.head_revision()}" in again.stdout


def test_serve_upgrade_seed_does_all_three_with_one_database_start(new_user):
    assert new_user.serve_health == 200
    assert len(new_user.serve_zones["features"]) == 25, "seeded"
    assert new_user.serve_code == 0, new_user.serve_output
    assert f"already at {migrate.head_revision()}" in new_user.serve_output, "upgrade checked"
    assert "zones: 25 created" in new_user.serve_output, "seeded"
    assert new_user.starts_by_serve == 1
    assert not new_user.running_after_serve


def test_seed_again_creates_nothing(new_user):
    reseeded = new_user.seed_again
    assert reseeded.returncode == 0, reseeded.stderr
    assert "zones: 0 created, 25 already present" in reseeded.stdout
    assert "tasks: 0 created, 52 already present" in reseeded.stdout


def test_serve_runs_gunicorn_and_stops_the_database_on_exit(new_user):
    data_dir = new_user.path
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
