"""Test fixtures: a throwaway PostgreSQL+PostGIS cluster started by the suite itself, one database per test.

The cluster is the same LocalCluster class the embedded default database uses. A template database is migrated
and seeded once per session; each test gets its own copy (CREATE DATABASE … TEMPLATE, ~0.1 s; or the previous
test's copy when that test changed nothing in it), so tests may commit freely and never see each other's changes.

`make test` runs the suite on every core with pytest-xdist (``-n auto --dist loadfile``): each worker process
starts its own cluster and browser (session fixtures are per process), and a module's tests run on one worker, so
a module-scoped fixture (a live server, a module database) is built once. (``--dist loadgroup`` would split
modules finer, but pytest-xdist 3.8 cannot tag the test ids of pytest 9, so its groups are silently ignored.)
Helpers and factories (users, login with CSRF, tokens, zones) live in tests/helpers.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing.rules import Rule
from werkzeug.serving import make_server

from khgeo import migrate
from khgeo.app import create_app
from khgeo.db import Database
from khgeo.pgcluster import LocalCluster
from khgeo.services import accounts
from khgeo.services.seed import seed

TEMPLATE_DB = "khgeo_template"
# Tests never reach the internet: tiles point at a reserved name that cannot resolve (RFC 2606)
TEST_TILES_URL = "https://tiles.invalid/{z}/{x}/{y}.png"
FROZEN_TODAY = dt.date(2026, 11, 26)
# long and random-looking, as the app demands of KHGEO_SECRET_KEY (a constant: live servers of one test share it)
TEST_SECRET_KEY = "t3St-Kq9vN2rW7yLm4Xp0Hd8Bs1Gf6Jc5UeZa"
_counter = itertools.count()


# -- the suite's own speed ---------------------------------------------------------------------------------------
# Each test makes its own app, and Werkzeug compiles two URL builders (Python source, through ast and compile())
# for each of the app's ~250 routes: ~80 ms of every app. A builder depends only on the rule's text, its parsed
# parts and its defaults (converters are looked up on the bound rule when it runs), so the compiled function is
# the same for every app and is kept here. The app itself is unchanged: this only skips compiling it again.
_compiled_builders: dict[tuple, object] = {}
_compile_builder = Rule._compile_builder


def _cached_compile_builder(self: Rule, append_unknown: bool = True):
    key = (self.rule, repr(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
    builder = _compiled_builders.get(key)
    if builder is None:
        builder = _compiled_builders[key] = _compile_builder(self, append_unknown)
    return builder


Rule._compile_builder = _cached_compile_builder


# Passwords: werkzeug's scrypt is slow on purpose (~0.1 s of CPU per hash or check), and the suite makes and logs
# in users by the hundred: that was a third of an in-process test's time. Checking is a pure function of (hash,
# password), so its answers are kept; hashing is done for real once per password, and that hash (a genuine scrypt
# hash, salt and all) serves every user given the same password in this run. Only the salts' uniqueness between
# test users is lost; the code under test and the stored format are unchanged.
accounts.check_password_hash = functools.lru_cache(maxsize=None)(accounts.check_password_hash)
_password_hashes: dict[tuple, str] = {}
_generate_password_hash = accounts.generate_password_hash


def _hash_once_per_password(password: str, *args, **kwargs) -> str:
    key = (password, args, tuple(sorted(kwargs.items())))
    if key not in _password_hashes:
        _password_hashes[key] = _generate_password_hash(password, *args, **kwargs)
    return _password_hashes[key]


accounts.generate_password_hash = _hash_once_per_password


class _TemplateBytecode(BytecodeCache):
    """Compiled Jinja templates shared by the suite's apps (each test makes its own app, and each app would
    compile every template it renders again: ~15 ms apiece). A template whose source changed is compiled again
    (the cache compares a checksum of the source); every test app has the same Jinja settings."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = _TemplateBytecode()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    # outside pytest's tmp_path: that lives under a root-only directory the postgres user cannot enter
    root = Path(tempfile.mkdtemp(prefix="khgeo-test-pg-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "cluster", fast=True)
    cluster.start()
    cluster.create_database(TEMPLATE_DB)
    template = Database(cluster.url(TEMPLATE_DB))
    migrate.upgrade(template)
    with template.session() as session:
        seed(session)
    template.engine.dispose()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


def new_database(cluster: LocalCluster, *, template: str | None = TEMPLATE_DB) -> str:
    name = f"khgeo_t{os.getpid()}_{next(_counter)}"
    cluster.create_database(name, template=template)
    return name


class _UntouchedCopies:
    """Copies of the template that a test gave back exactly as it got them, for the next test.

    Copying the template costs ~0.1 s of CPU, and many tests only read. A copy is handed on only if, between the
    moment the test got it and the moment it gave it back, the cluster wrote no WAL at all (every change to a
    table, an index, a sequence's logged state or the catalogue writes WAL; reads do not), its sequences are
    where they were (a sequence may advance without WAL), and nobody is still connected to it. Each worker has its
    own cluster, so no other test writes to it meanwhile; background writes (autovacuum, a checkpoint) only mean
    the copy is dropped as before. Anything in doubt is dropped."""

    def __init__(self) -> None:
        self.spare: tuple[LocalCluster, str] | None = None  # of this cluster (a session has one per process)
        self.reused = 0

    @staticmethod
    def _state(cluster: LocalCluster, name: str) -> tuple:
        with psycopg.connect(cluster.conninfo(name), autocommit=True) as conn:
            sequences = conn.execute(
                "SELECT coalesce(array_agg((schemaname, sequencename, last_value)::text ORDER BY 1), '{}')"
                " FROM pg_sequences"
            ).fetchone()
            wal = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        return sequences, wal

    def take(self, cluster: LocalCluster) -> tuple[str, tuple]:
        spare, self.spare = self.spare, None
        if spare is not None and spare[0] is cluster:
            name = spare[1]
            self.reused += 1
        else:
            name = new_database(cluster)
        return name, self._state(cluster, name)

    def give_back(self, cluster: LocalCluster, name: str, state: tuple) -> None:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            (connected,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()
        if self.spare is None and connected == 0 and self._state(cluster, name) == state:
            self.spare = (cluster, name)  # the state check's own connection wrote nothing either
            return
        cluster.drop_database(name)


_untouched = _UntouchedCopies()


@pytest.fixture
def database_url(pg_cluster: LocalCluster) -> Iterator[str]:
    """A migrated and seeded database for this test alone: a copy of the template (or one that the previous test
    left exactly as it was copied: see _UntouchedCopies)."""
    name, state = _untouched.take(pg_cluster)
    yield pg_cluster.url(name)
    _untouched.give_back(pg_cluster, name, state)


def make_app(url: str, **overrides):
    settings = {
        "KHGEO_DATABASE_URL": url,
        "KHGEO_SECRET_KEY": TEST_SECRET_KEY,
        "KHGEO_TILES_URL": TEST_TILES_URL,
        "KHGEO_TODAY": FROZEN_TODAY,
        # read tests browse anonymously; tests of the login-required default set it to False
        "KHGEO_PUBLIC_READ": True,
        "TESTING": True,
    }
    settings.update(overrides)
    application = create_app(settings)
    application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    return application


@pytest.fixture
def app(database_url: str):
    application = make_app(database_url)
    yield application
    application.extensions["khgeo.db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app) -> Database:
    return app.extensions["khgeo.db"]


class LiveServer:
    """The app served over real HTTP on a loopback port, in a thread."""

    def __init__(self, application):
        self.app = application
        self._server = make_server("127.0.0.1", 0, application, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self.app.extensions["khgeo.db"].engine.dispose()


@pytest.fixture(scope="module")
def module_database_url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = new_database(pg_cluster)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def live_server(module_database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(make_app(module_database_url))
    yield server
    server.stop()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (make test installs it: apt package 'chromium')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """A browser page that records console errors, page errors, dialogs and every request it makes."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if source.startswith("https://tiles.invalid/"):
            return  # the basemap is unreachable on purpose: zones must draw without it
        self.errors.append(f"console: {message.text} ({source})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto_map(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("html[data-zones-ready]", state="attached", timeout=20_000)

    def external_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith(("http://127.0.0.1", "data:", "https://tiles.invalid/"))
        ]


@pytest.fixture
def page(browser) -> Iterator[PageWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    watched = PageWatch(context.new_page())
    yield watched
    context.close()
