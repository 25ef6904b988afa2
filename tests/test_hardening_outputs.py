"""Hardening of what khgeo writes out and takes in: spreadsheet cells, the map's search, agency reports,
restores, public links and error logs. One test (or one parametrised family) per attack."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from khgeo.cli import main
from khgeo.models import Zone
from khgeo.services import accounts, audit
from khgeo.services.interop.spreadsheet import csv_guard, csv_unguard
from tests.conftest import LiveServer, make_app
from tests.helpers import login

HOSTILE_NAMES = ["=1+1", "+SUM(A1)", "-2+3", "@x", "\tx", "\rx"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# -- 1. spreadsheet formulas ----------------------------------------------------------------------------------------
@pytest.fixture
def hostile_zones(app, db) -> dict[str, str]:
    """Every zone renamed to a formula-looking name (the first six exactly the hostile names); code → name."""
    from tests.test_report_documents import record_year  # something recorded this year, for the yearly report

    with app.app_context(), db.session() as session:
        record_year(session)
        zones = list(session.scalars(select(Zone).order_by(Zone.code)))
        names = {}
        for index, zone in enumerate(zones):
            zone.name = HOSTILE_NAMES[index % 6] + ("" if index < 6 else f" {index}")
            names[zone.code] = zone.name
        audit.record(session, None, "zone.rename", "zone", "=1+1", {"name": ["a", "-2+3"]}, {"note": "@x"})
        session.commit()
    return names


def _xlsx_cells(body: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", archive.read(member)), f"a formula in {member}"
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def _audit_csv(client, db) -> bytes:
    with db.session() as session:
        return audit.to_csv(audit.list_events(session, limit=None)).encode()


SPREADSHEETS = {
    "export.xlsx": lambda client, db: client.get("/export/zones.xlsx").data,
    "planning wwtp.xlsx": lambda client, db: client.get("/planning/wwtp.xlsx").data,
    "planning infrastructure.xlsx": lambda client, db: client.get("/planning/infrastructure.xlsx").data,
    "planning stalled.xlsx": lambda client, db: client.get("/planning/stalled.xlsx?days=1").data,
    "consolidated report.xlsx": lambda client, db: client.get("/reports/2026/consolidated.xlsx").data,
}
CSVS = {
    "export.csv": lambda client, db: client.get("/export/zones.csv").data,
    "audit.csv": _audit_csv,
}


@pytest.mark.parametrize("output", SPREADSHEETS)
def test_no_xlsx_cell_is_a_formula_and_names_show_exactly(client, db, hostile_zones, output):
    with db.session() as session:  # planning sheets and the consolidated report are for logged-in users
        accounts.create_user(session, "bql-sheets", "correct horse battery", "admin")
    assert login(client, "bql-sheets", "correct horse battery").status_code == 302
    body = SPREADSHEETS[output](client, db)
    assert body.startswith(b"PK")
    cells = _xlsx_cells(body)
    assert all(cell.data_type != "f" for cell in cells)
    texts = [cell for cell in cells if isinstance(cell.value, str)]
    shown = {cell.value for cell in texts}
    assert shown & set(hostile_zones.values()), "the zones' names are in the sheet"
    assert not any(value.startswith("'") for value in shown), "no stray apostrophe"
    # Excel keeps a text that starts like a formula as text, even when someone edits the cell
    assert all(cell.quotePrefix for cell in texts if cell.value.startswith(TRIGGERS))


@pytest.mark.parametrize("output", CSVS)
def test_no_csv_cell_starts_like_a_formula(client, db, hostile_zones, output):
    text = CSVS[output](client, db).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    for cell in cells:
        if cell.startswith(TRIGGERS):
            float(cell)  # only a number may start with "-" or "+"
    expected = set(hostile_zones.values()) if output == "export.csv" else {"=1+1"}
    assert {"'" + name for name in expected} <= set(cells)


def test_negative_numbers_stay_numbers_and_the_csv_guard_round_trips():
    assert csv_guard(-2.5) == -2.5 and csv_guard(-2) == -2
    for text in [*HOSTILE_NAMES, "'=x", "''-1", "'", "'abc", "abc", ""]:
        assert not str(csv_guard(text)).startswith(TRIGGERS)
        assert csv_unguard(csv_guard(text)) == text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_khgeos_own_export_with_formula_names_imports_back_unchanged(app, db, hostile_zones, tmp_path, fmt):
    exported = tmp_path / f"zones.{fmt}"
    result = app.test_cli_runner().invoke(main, ["export", "--format", fmt, "--output", str(exported)])
    assert result.exit_code == 0, result.output
    dry = app.test_cli_runner().invoke(main, ["import", str(exported), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"0 to create, 0 to update, {len(hostile_zones)} unchanged, 0 rejected" in dry.output
    with db.session() as session:
        assert dict(session.execute(select(Zone.code, Zone.name)).all()) == hostile_zones


def test_doubled_quotes_inside_quoted_csv_cells_import_right(app, db, tmp_path):
    with db.session() as session:
        code = session.scalar(select(Zone.code).order_by(Zone.code).limit(1))
    path = tmp_path / "zones.csv"
    path.write_text(f'code,developer\n{code},"Công ty ""Hưng Phát"", Bắc Giang"\n', "utf-8")
    result = app.test_cli_runner().invoke(main, ["import", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    with db.session() as session:
        developer = session.scalar(select(Zone.developer).where(Zone.code == code))
    assert developer == 'Công ty "Hưng Phát", Bắc Giang'


# -- 2. the map's search control ------------------------------------------------------------------------------------
@pytest.mark.browser
def test_the_map_search_shows_a_zone_name_as_text(database_url, page):
    name = '<img src=x class="injected" onerror="window.pwned=1">'
    server = LiveServer(make_app(database_url))
    try:
        with server.app.extensions["khgeo.db"].session() as session:
            session.scalars(select(Zone).where(Zone.code == "ccn-doan-bai")).one().name = name
            session.commit()
        page.goto_map(server.url + "/")
        page.page.locator(".leaflet-control-search .search-button").click()
        page.page.locator(".leaflet-control-search input.search-input").type("img src", delay=20)
        tip = page.page.locator(".leaflet-control-search .search-tip").first
        tip.wait_for()
        assert tip.inner_text() == f"CCN {name}"
        assert page.page.locator(".leaflet-control-search img, img.injected").count() == 0
        assert page.page.evaluate("window.pwned") is None
    finally:
        server.stop()


# -- 3. agency reports ----------------------------------------------------------------------------------------------
def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def _real_docx() -> bytes:
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Báo cáo năm 2026")
    document.save(buffer)
    return buffer.getvalue()


def _real_xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


ODT_CONTENT = (
    b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body/></office:document-content>'
)
ODT_MIME = b"application/vnd.oasis.opendocument.text"
DOCUMENTS = {
    "real.docx": (_real_docx, True),
    "real.xlsx": (_real_xlsx, True),
    "real.odt": (lambda: _zip({"mimetype": ODT_MIME, "content.xml": ODT_CONTENT}), True),
    "fake.docx": (lambda: _zip({"word/document.xml": b"not xml at all", "word/x.exe": b"MZ"}), False),
    "fake.xlsx": (lambda: _zip({"xl/workbook.xml": b"<nope"}), False),
    "fake.odt": (lambda: _zip({"mimetype": ODT_MIME, "content.xml": b"<unclosed"}), False),
    "sheet-as-text.odt": (
        lambda: _zip(
            {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": ODT_CONTENT}
        ),
        False,
    ),
    "docx-as-xlsx.xlsx": (_real_docx, False),
}


@pytest.fixture
def reporter(app, db):
    """(session, agency, user) of the provincial Department of Industry and Trade, in an English request."""
    from khgeo.models import Agency
    from khgeo.services import accounts

    with app.test_request_context("/?lang=en"), db.session() as session:
        user = accounts.create_user(session, "sct-hardening", "correct horse battery", "viewer", agency="SCT")
        agency = session.scalars(select(Agency).where(Agency.code == "SCT")).one()
        yield session, agency, user


def _submit(reporter, **fields):
    import datetime as dt

    from khgeo.services.reports import cycle as reporting

    session, agency, user = reporter
    values = {"summary": "Báo cáo", "items": {}, "attachment": None} | fields
    return reporting.submit_report(session, agency, 2026, user, today=dt.date(2026, 11, 26), **values)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_office_attachments_must_open_as_the_document_they_claim_to_be(reporter, name):
    from khgeo.errors import ValidationFailed

    build, accepted = DOCUMENTS[name]
    if accepted:
        report = _submit(reporter, attachment=(build(), name))
        assert report.attachment_name == name
        return
    with pytest.raises(ValidationFailed) as raised:
        _submit(reporter, attachment=(build(), name))
    assert name in str(raised.value.errors["attachment"])
    assert "document" in str(raised.value.errors["attachment"])


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("bao\x00cao\x07.pdf", "baocao.pdf"),
        ("bao-cao\u202egpj.pdf", "bao-caogpj.pdf"),  # would read "bao-caofdp.jpg"
        ("\u2066tai-lieu\u2069\u200f.pdf", "tai-lieu.pdf"),
        ("C:\\Users\\x\\..\\bao cao.pdf", "bao cao.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("\x00\u202e.pdf", "tep-dinh-kem.pdf"),
        ("Báo cáo " + "rất dài " * 60 + ".pdf", None),
    ],
)
def test_attachment_names_lose_control_and_bidi_characters_and_keep_their_extension(reporter, given, kept):
    report = _submit(reporter, attachment=(b"%PDF-1.7\n%%EOF", given))
    stored = report.attachment_name
    assert stored.endswith(".pdf") and len(stored) <= 120
    assert not any(
        ord(char) < 32 or 0x202A <= ord(char) <= 0x202E or 0x2066 <= ord(char) <= 0x2069 for char in stored
    )
    if kept is not None:
        assert stored == kept
    else:
        assert stored.startswith("Báo cáo rất dài")


def test_summaries_and_items_have_a_length_cap_with_a_clear_message(reporter):
    from khgeo.errors import ValidationFailed
    from khgeo.models import AgencyReport
    from khgeo.services.reports import cycle as reporting

    session = reporter[0]
    with pytest.raises(ValidationFailed) as raised:
        _submit(reporter, summary="x" * (reporting.MAX_SUMMARY_TEXT + 1), items={"II.3.4.2": "y" * 9000})
    assert (
        str(raised.value.errors["summary"]) == f"Too long ({reporting.MAX_SUMMARY_TEXT} characters at most)."
    )
    assert "Too long" in str(raised.value.errors["item-II.3.4.2"])
    assert session.scalar(select(AgencyReport.id)) is None


# -- 4. restore -----------------------------------------------------------------------------------------------------
def _scratch_copy(pg_cluster, db, tmp_path, sql: str = "") -> Path:
    """A backup of a copy of the test database after running ``sql`` on it (as a hostile source would)."""
    from khgeo import backup
    from khgeo.db import Database
    from tests.conftest import new_database

    source = Database(pg_cluster.url(new_database(pg_cluster)))
    try:
        if sql:
            with source.engine.begin() as conn:
                conn.exec_driver_sql(sql)
        dump = tmp_path / "hostile.dump"
        backup.backup(source, dump)
        return dump
    finally:
        source.engine.dispose()


HOSTILE_SQL = """
CREATE FUNCTION public.evil() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  COPY (SELECT 1) TO PROGRAM 'touch /tmp/khgeo-restore-pwned';
  RETURN NEW;
END $$;
CREATE TRIGGER evil BEFORE INSERT OR UPDATE ON public.zones FOR EACH ROW EXECUTE FUNCTION public.evil();
CREATE VIEW public.zone_names AS SELECT name FROM public.zones;
"""


def _routines_and_triggers(database) -> tuple[list, list]:
    from sqlalchemy import text

    with database.engine.connect() as conn:
        routines = conn.execute(
            text(
                "SELECT proname FROM pg_proc p WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
            )
        ).all()
        triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).all()
    return routines, triggers


def _assert_only_khgeo_code(database) -> None:
    """No routine or trigger but khgeo's own: those keeping the stored Features (khgeo.services.stored_features),
    which the restore installs itself."""
    from khgeo.services import stored_features
    from khgeo.services.units import sql as units_sql

    routines, triggers = _routines_and_triggers(database)
    # exactly khgeo's own: the stored Features' functions and triggers, the search text's folding functions
    assert {name for (name,) in routines} == {
        "khgeo_store_zone_features",
        *stored_features.TRIGGER_FUNCTIONS.values(),
        "khgeo_fold",
        "khgeo_zone_search_text",
        *units_sql.ROUTINES,  # the zones' units (issue 13), installed again by the restore
    }
    assert {name for (name,) in triggers} == {
        *stored_features.TRIGGERS,
        *stored_features.CONSTRAINT_TRIGGERS,
        *units_sql.TRIGGER_NAMES,
    }


@pytest.mark.plain_database
def test_a_restore_leaves_out_functions_triggers_and_views_of_a_hostile_dump(pg_cluster, db, tmp_path):
    from khgeo import backup
    from khgeo.db import Database
    from tests.conftest import new_database
    from tests.test_operations import snapshot

    dump = _scratch_copy(pg_cluster, db, tmp_path, HOSTILE_SQL)
    target = Database(pg_cluster.url(new_database(pg_cluster, template=None)))
    try:
        plan = backup.restore(target, dump)
        assert any(entry.startswith("FUNCTION public evil") for entry in plan.skipped)
        assert any(entry.startswith("TRIGGER public zones evil") for entry in plan.skipped)
        assert any(entry.startswith("VIEW public zone_names") for entry in plan.skipped)
        _assert_only_khgeo_code(target)
        assert snapshot(target) == snapshot(db)
        with target.engine.begin() as conn:  # a write after the restore runs no code from the dump
            conn.exec_driver_sql("UPDATE zones SET name = name || ''")
    finally:
        target.engine.dispose()


@pytest.mark.plain_database
def test_a_dump_with_code_inside_a_kept_object_is_refused_and_changes_nothing(pg_cluster, db, tmp_path):
    from khgeo import backup
    from tests.test_operations import snapshot

    dump = _scratch_copy(
        pg_cluster, db, tmp_path, "COMMENT ON TABLE public.zones IS $$x'; COPY zones TO PROGRAM 'id'; --$$"
    )
    before = snapshot(db)
    with pytest.raises(backup.BackupError, match="PROGRAM"):
        backup.restore(db, dump, force=True)
    assert snapshot(db) == before


@pytest.mark.plain_database
def test_a_dump_from_a_newer_schema_is_refused_naming_both_revisions(pg_cluster, db, tmp_path):
    from khgeo import backup, migrate
    from tests.test_operations import snapshot

    dump = _scratch_copy(pg_cluster, db, tmp_path, "UPDATE alembic_version SET version_num = '9999_future'")
    before = snapshot(db)
    with pytest.raises(backup.BackupError) as raised:
        backup.restore(db, dump, force=True)
    assert "9999_future" in str(raised.value) and migrate.head_revision() in str(raised.value)
    assert snapshot(db) == before


@pytest.mark.plain_database
def test_a_restore_drops_tables_the_dump_does_not_have(pg_cluster, db, tmp_path):
    from khgeo import backup
    from tests.test_operations import snapshot

    dump = _scratch_copy(pg_cluster, db, tmp_path)
    with db.engine.begin() as conn:  # as a newer migration would have left it, with a key into zones
        conn.exec_driver_sql("CREATE TABLE zone_leftovers (zone_id int REFERENCES zones(id), note text)")
        conn.exec_driver_sql("INSERT INTO zone_leftovers SELECT id, 'x' FROM zones")
    backup.restore(db, dump, force=True)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT to_regclass('public.zone_leftovers')").scalar() is None
    _assert_only_khgeo_code(db)
    assert snapshot(db)["zones"]


# -- 5. KHGEO_PUBLIC_URL --------------------------------------------------------------------------------------------
PUBLIC = "https://khgeo.bacgiang.example/gis"


@pytest.mark.parametrize(
    "path",
    [
        "/ogcapi/",
        "/ogcapi/?f=html",
        "/ogcapi/conformance",
        "/ogcapi/collections",
        "/ogcapi/collections/zones",
        "/ogcapi/collections/zones/items?limit=2",
        "/ogcapi/collections/zones/items?limit=2&f=html",
        "/ogcapi/collections/zones/items/kcn-van-trung",
        "/ogcapi/api",
    ],
)
def test_with_a_public_url_links_never_follow_the_host_header(database_url, path):
    app = make_app(database_url, KHGEO_PUBLIC_URL=PUBLIC + "/")
    try:
        response = app.test_client().get(path, headers={"Host": "evil.example"})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "evil.example" not in body
        urls = set(re.findall(r"https?://[^\"'<>\s]+", body))
        ours = {
            url for url in urls if "/ogcapi" in url and "opengis.net" not in url
        }  # not the standards' URIs
        assert ours, "the document links to itself"
        assert all(url.startswith(PUBLIC + "/ogcapi") for url in ours)
    finally:
        app.extensions["khgeo.db"].engine.dispose()


def test_a_public_url_must_be_an_address():
    from khgeo.config import load_settings
    from khgeo.errors import ConfigError

    for bad in ("khgeo.example", "ftp://x.example", "https://x.example/?a=1"):
        with pytest.raises(ConfigError, match="KHGEO_PUBLIC_URL"):
            load_settings(environ={"KHGEO_PUBLIC_URL": bad})
    assert load_settings(environ={"KHGEO_PUBLIC_URL": PUBLIC + "/"})["KHGEO_PUBLIC_URL"] == PUBLIC


# -- 6. error logs --------------------------------------------------------------------------------------------------
SECRET = "BÍ MẬT 123"


def _logged(caplog) -> str:
    return "\n".join(
        f"{record.getMessage()}\n{record.exc_text or ''}\n{record.exc_info or ''}"
        for record in caplog.records
    )


def test_a_failing_update_logs_where_and_what_shape_but_never_the_note(app, db, caplog):
    from khgeo.services import accounts

    with db.session() as session:
        accounts.create_user(session, "bql-logs", "correct horse battery", "admin")
        token = accounts.new_token(session, "bql-logs")
    with db.engine.begin() as conn:  # the database refuses the row, quoting it: "Failing row contains (…)"
        conn.exec_driver_sql(
            "ALTER TABLE zone_updates ADD CONSTRAINT no_secrets CHECK (position('BÍ MẬT' in note) = 0)"
        )
    caplog.set_level(logging.DEBUG)
    etag = app.test_client().get("/api/zones/kcn-van-trung").headers["ETag"]
    response = app.test_client().patch(
        "/api/zones/kcn-van-trung",
        json={"note": SECRET, "infrastructure_pct": 55, "as_of": "2026-11-20"},
        headers={"Authorization": f"Bearer {token}", "If-Match": etag, "X-Request-ID": "req-42"},
    )
    assert response.status_code == 500 and SECRET not in response.get_data(as_text=True)
    logged = _logged(caplog)
    assert "IntegrityError" in logged and "/api/zones/kcn-van-trung" in logged and "req-42" in logged
    assert f"note:json:{len(json.dumps(SECRET))}" in logged
    assert SECRET not in logged and "BÍ" not in logged and json.dumps(SECRET) not in logged


def test_a_failing_form_with_a_photo_logs_sizes_not_the_text_or_the_bytes(app, caplog):
    photo = b"\xff\xd8\xff\xe0PHOTO-BYTES-" + b"x" * 100
    caplog.set_level(logging.DEBUG)
    with app.test_request_context(
        "/zones/kcn-van-trung/update",
        method="POST",
        data={"note": SECRET, "photos": (io.BytesIO(photo), "anh.jpg")},
        content_type="multipart/form-data",
    ):
        try:
            raise RuntimeError(f"could not save {SECRET}")  # an exception that quotes what it was given
        except RuntimeError as exc:
            response = app.handle_user_exception(exc)
    assert response[1] == 500
    logged = _logged(caplog)
    assert (
        "RuntimeError" in logged
        and f"note:{len(SECRET)}" in logged
        and f"photos:file:{len(photo)}B" in logged
    )
    assert SECRET not in logged and "PHOTO-BYTES" not in logged and "anh.jpg" not in logged
