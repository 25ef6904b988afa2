"""The `khgeo` command never answers a user's mistake with a traceback: one line in the default language
(Vietnamese unless KHGEO_DEFAULT_LOCALE says otherwise), a non-zero exit, nothing changed.

Also: `khgeo users list` names agencies and districts, and `khgeo --help` loads none of the heavy libraries.
(`khgeo serve --upgrade --seed` is in test_cli_embedded.py, with the embedded database's other first steps.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from khgeo import migrate
from khgeo.services import accounts
from tests.conftest import TEST_SECRET_KEY, make_app

KHGEO = str(Path(sys.executable).parent / "khgeo")
PASSWORD = "mat-khau-dai-du-10"
CLOSED_PORT_URL = "postgresql+psycopg://khgeo@127.0.0.1:1/khgeo"


def run(app, *args: str, input: str | None = None):
    from khgeo.cli import main

    return app.test_cli_runner().invoke(main, list(args), input=input)


def assert_one_line_error(result, *fragments: str) -> str:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def users_table(db) -> list[tuple]:
    with db.session() as session:
        return [(u.username, u.role, u.active) for u in accounts.list_users(session)]


# --- mistakes, one per command, answered in Vietnamese (the default) ------------------------------------------------

MISTAKES = [
    pytest.param(
        ("users", "token", "ghost"), ["Lỗi: Không tìm thấy người dùng ghost"], id="token-unknown-user"
    ),
    pytest.param(
        ("users", "disable", "ghost"), ["Không tìm thấy người dùng ghost"], id="disable-unknown-user"
    ),
    pytest.param(
        ("users", "create", "lan", "--role", "boss", "--password-stdin"),
        ["Vai trò boss không hợp lệ", "viewer"],
        id="create-bad-role",
    ),
    pytest.param(
        ("users", "create", "lan", "--role", "field", "--district", "Hà Nội", "--password-stdin"),
        ["Không tìm thấy huyện, thành phố Hà Nội"],
        id="create-unknown-district",
    ),
    pytest.param(
        ("users", "create", "lan", "--role", "viewer", "--agency", "NASA", "--password-stdin"),
        ["Không tìm thấy cơ quan NASA"],
        id="create-unknown-agency",
    ),
    pytest.param(
        ("report", "--year", "2015", "--format", "docx", "--output", "{tmp}/r.docx"),
        ["Chỉ có báo cáo cho các năm từ"],
        id="report-year-out-of-range",
    ),
    pytest.param(
        ("report", "--year", "2026", "--format", "xlsx", "--output", "{tmp}/r.xlsx"),
        ["Chưa có dữ liệu nào được ghi nhận cho năm 2026"],
        id="report-year-with-no-data",
    ),
    pytest.param(
        ("import", "{tmp}/missing.geojson", "--yes"), ["Không mở được tệp"], id="import-missing-file"
    ),
    pytest.param(("import", "{tmp}/corrupt.geojson", "--yes"), ["Lỗi: "], id="import-corrupt-file"),
    pytest.param(
        ("export", "--format", "csv", "--output", "{tmp}/no/such/folder/zones.csv"),
        ["{tmp}/no/such/folder/zones.csv: không có tệp hoặc thư mục này"],
        id="export-unwritable-path",
    ),
    pytest.param(
        ("export", "--format", "csv", "--output", "{tmp}/z.csv", "--district", "Hà Nội"),
        ["Không tìm thấy huyện, thành phố Hà Nội"],
        id="export-unknown-district",
    ),
    pytest.param(
        ("restore", "{tmp}/missing.dump", "--force"),
        ["{tmp}/missing.dump", "không có tệp hoặc thư mục này"],
        id="restore-missing-file",
    ),
    pytest.param(
        ("restore", "{tmp}/corrupt.dump", "--force"),
        ["corrupt.dump không phải là bản sao lưu của khgeo"],
        id="restore-corrupt-file",
    ),
    pytest.param(
        ("backup", "--output", "{tmp}/no/such/folder/b.dump"),
        ["pg_dump bị lỗi"],
        id="backup-unwritable-path",
    ),
    pytest.param(
        ("db", "downgrade", "zzz"),
        ["Không có phiên bản lược đồ zzz", "base"],
        id="downgrade-unknown-revision",
    ),
    pytest.param(
        (
            "db",
            "start",
        ),
        ["Đã đặt KHGEO_DATABASE_URL"],
        id="db-start-external-server",
    ),
]


@pytest.mark.parametrize(("args", "fragments"), MISTAKES)
def test_a_mistake_is_one_line_in_vietnamese_and_changes_nothing(app, db, tmp_path, args, fragments):
    (tmp_path / "corrupt.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    (tmp_path / "corrupt.dump").write_bytes(b"not a dump at all")
    before_users = users_table(db)
    before_schema = migrate.current_revision(db)
    result = run(app, *(arg.replace("{tmp}", str(tmp_path)) for arg in args), input=PASSWORD + "\n")
    assert_one_line_error(result, *(fragment.replace("{tmp}", str(tmp_path)) for fragment in fragments))
    assert users_table(db) == before_users
    assert migrate.current_revision(db) == before_schema
    assert not any(path.name.startswith(".khgeo-export-") for path in tmp_path.rglob("*"))


def test_a_duplicate_user_is_refused_once_created(app, db):
    assert (
        run(app, "users", "create", "lan", "--role", "viewer", "--password-stdin", input=PASSWORD).exit_code
        == 0
    )
    before = users_table(db)
    again = run(app, "users", "create", "lan", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert_one_line_error(again, "Tên đăng nhập lan đã được sử dụng")
    assert users_table(db) == before


def test_errors_speak_english_when_that_is_the_default(database_url):
    app = make_app(database_url, KHGEO_DEFAULT_LOCALE="en")
    try:
        assert_one_line_error(run(app, "users", "token", "ghost"), "Error: No user ghost")
        assert_one_line_error(run(app, "db", "downgrade", "zzz"), "Unknown schema revision zzz")
    finally:
        app.extensions["khgeo.db"].engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ("users", "list"),
        ("db", "current"),
        ("db", "upgrade"),
        ("seed",),
        ("report", "--year", "2026", "--format", "docx", "--output", "r.docx"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unreachable_database_is_one_line(args):
    app = make_app(CLOSED_PORT_URL)
    try:
        result = run(app, *args)
    finally:
        app.extensions["khgeo.db"].engine.dispose()
    assert_one_line_error(result, "Không kết nối được cơ sở dữ liệu", "KHGEO_DATABASE_URL")


def _khgeo(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([KHGEO, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_the_real_command_prints_no_traceback(tmp_path):
    env = {**os.environ, "KHGEO_DATABASE_URL": CLOSED_PORT_URL, "KHGEO_SECRET_KEY": TEST_SECRET_KEY}
    env.pop("KHGEO_DEFAULT_LOCALE", None)
    unreachable = _khgeo("users", "list", env=env)
    assert unreachable.returncode != 0
    assert "Traceback" not in unreachable.stderr
    assert unreachable.stderr.strip().count("\n") == 0, unreachable.stderr
    assert unreachable.stderr.startswith("Lỗi: Không kết nối được cơ sở dữ liệu")

    misconfigured = _khgeo("users", "list", env={**env, "KHGEO_TIMEZONE": "Mars/Olympus_Mons"})
    assert misconfigured.returncode != 0
    assert "Traceback" not in misconfigured.stderr
    assert misconfigured.stderr.strip().count("\n") == 0, misconfigured.stderr
    assert "KHGEO_TIMEZONE" in misconfigured.stderr


# --- users list --------------------------------------------------------------------------------------------------


def test_users_list_names_the_agency_and_districts(app, db):
    with db.session() as session:
        accounts.create_user(
            session,
            "lan",
            PASSWORD,
            "field",
            districts=["Việt Yên", "Lục Nam"],
            display_name="Lan",
            agency="SCT",
        )
        accounts.create_user(session, "minh", PASSWORD, "viewer")
        agency_name = accounts.get_user(session, "lan").agency.name
        codes = [d.code for d in accounts.get_user(session, "lan").districts]
    run(app, "users", "disable", "minh")
    result = run(app, "users", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    lan = rows["lan"]
    assert lan[1:4] == ["field", "đang dùng", agency_name]
    assert set(lan[4].split(", ")) == {"Việt Yên", "Lục Nam"}
    assert not any(code in result.stdout.split("\t") for code in codes)
    assert rows["minh"][2:] == ["đã khóa", "—", "—"]


# --- khgeo --help loads nothing heavy ---------------------------------------------------------------------------

HEAVY = ["geopandas", "folium", "matplotlib", "docx", "openpyxl", "pyogrio", "shapely", "PIL", "khgeo.app"]


def test_help_imports_no_heavy_module():
    probe = (
        "import json, sys\n"
        "from khgeo.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "users" in result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
