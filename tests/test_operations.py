"""Operations: backups that restore exactly, surviving a PostgreSQL restart, two app instances behaving as one."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from khgeo import backup, migrate
from khgeo.db import Database
from khgeo.pgcluster import LocalCluster
from khgeo.services import accounts
from khgeo.services.seed import seed
from tests.conftest import LiveServer, make_app, new_database
from tests.helpers import csrf_of

TABLES = (
    "districts",
    "communes",
    "agencies",
    "zones",
    "tasks",
    "task_zones",
    "task_coordinators",
    "users",
    "user_districts",
    "api_tokens",
    "zone_updates",
    "photos",
    "audit_events",
    "task_progress",
    "agency_reports",
    "agency_report_items",
    "alembic_version",
)


def snapshot(database: Database) -> dict[str, str]:
    """Row count and a digest of every row, per table."""
    digest = (
        "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t"
    )
    with database.engine.connect() as conn:
        return {table: conn.execute(text(digest.format(table))).scalar() for table in TABLES}


def _login(base: str, username: str, password: str) -> requests.Session:
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=10).text
    token = csrf_of(page)
    response = client.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return client


def _update_through_form(client: requests.Session, base: str, code: str, cleared: str) -> requests.Response:
    form = client.get(f"{base}/zones/{code}/update", timeout=10).text
    fields = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', form).group(1)
        for name in ("csrf_token", "version", "request_id")
    }
    return client.post(
        f"{base}/zones/{code}/update",
        timeout=10,
        allow_redirects=False,
        data={
            **fields,
            "as_of": "2026-11-20",
            "clearance_area_ha": "300",
            "cleared_area_ha": cleared,
            "note": "Đợt chi trả bồi thường",
        },
    )


@pytest.fixture
def populated(db: Database, app):
    """A database with more than the seed: users, a token, a field update with history and audit."""
    with db.session() as session:
        accounts.create_user(session, "lan", "correct horse battery", "field", districts=["Việt Yên"])
        accounts.new_token(session, "lan")
    server = LiveServer(app)
    try:
        client = _login(server.url, "lan", "correct horse battery")
        assert _update_through_form(client, server.url, "kcn-van-trung", "120").status_code == 303
    finally:
        server.stop()
    return db


@pytest.mark.plain_database
def test_backup_then_restore_into_an_empty_database_gives_back_everything(populated, pg_cluster, tmp_path):
    before = snapshot(populated)
    assert before["zone_updates"].split(":")[0] != "0" and before["audit_events"].split(":")[0] != "0"
    dump = tmp_path / "khgeo.dump"
    assert backup.backup(populated, dump) > 0

    target = Database(pg_cluster.url(new_database(pg_cluster, template=None)))
    try:
        backup.restore(target, dump)
        assert snapshot(target) == before
        with pytest.raises(backup.BackupError, match="--force"):
            backup.restore(target, dump)
        backup.restore(target, dump, force=True)  # over itself: still identical
        assert snapshot(target) == before
    finally:
        target.engine.dispose()


@pytest.mark.plain_database
def test_a_damaged_backup_changes_nothing(populated, tmp_path):
    before = snapshot(populated)
    dump = tmp_path / "khgeo.dump"
    backup.backup(populated, dump)
    damaged = tmp_path / "damaged.dump"
    data = dump.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    with pytest.raises(backup.BackupError):
        backup.restore(populated, damaged, force=True)
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    with pytest.raises(backup.BackupError, match="not a khgeo backup"):
        backup.restore(populated, not_a_dump, force=True)
    assert snapshot(populated) == before


@pytest.fixture
def own_cluster():
    """A cluster this test may stop and start without disturbing the others."""
    root = Path(tempfile.mkdtemp(prefix="khgeo-restart-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "cluster", fast=True)
    cluster.start()
    cluster.create_database("khgeo")
    database = Database(cluster.url("khgeo"))
    migrate.upgrade(database)
    with database.session() as session:
        seed(session)
    database.engine.dispose()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


def test_the_app_survives_a_database_restart_without_being_restarted(own_cluster):
    server = LiveServer(make_app(own_cluster.url("khgeo")))
    try:
        assert requests.get(f"{server.url}/api/zones", timeout=10).status_code == 200
        own_cluster.stop()
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        api = requests.get(f"{server.url}/api/zones", timeout=10)
        assert api.status_code == 503 and api.json()["error"]["status"] == 503
        page = requests.get(f"{server.url}/zones/kcn-quang-chau", timeout=10)
        assert page.status_code == 503 and "Traceback" not in page.text and "psycopg" not in page.text
        own_cluster.start()
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        again = requests.get(f"{server.url}/api/zones", timeout=10)
        assert again.status_code == 200 and len(again.json()["features"]) == 25
    finally:
        server.stop()


def test_two_app_instances_on_one_database_behave_as_one(database_url, db):
    with db.session() as session:
        accounts.create_user(session, "lan", "correct horse battery", "field", districts=["Việt Yên"])
    first, second = LiveServer(make_app(database_url)), LiveServer(make_app(database_url))
    try:
        client = _login(first.url, "lan", "correct horse battery")
        # the login made on the first instance is valid on the second: sessions are signed cookies
        response = _update_through_form(client, second.url, "kcn-van-trung", "150")
        assert response.status_code == 303
        # what one instance saved, the other serves
        feature = requests.get(f"{first.url}/api/zones/kcn-van-trung", timeout=10).json()
        assert feature["properties"]["cleared_area_ha"] == 150
        assert "Đợt chi trả bồi thường" in client.get(f"{first.url}/zones/kcn-van-trung", timeout=10).text
    finally:
        first.stop()
        second.stop()
