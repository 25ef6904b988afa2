"""Test fixtures: a throwaway PostgreSQL+PostGIS cluster started by the suite itself, one database per test.

The cluster is the same LocalCluster class the embedded default database uses. A template database is migrated
and seeded once per session; each test gets a copy of it to itself, a copy that earlier tests may have used but
with every table they wrote put back (tests/database_pool.py), so tests may commit freely and never see each
other's changes.

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

import pytest
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing.rules import Rule
from werkzeug.serving import make_server

from khgeo import db as khgeo_db
from khgeo import migrate
from khgeo.app import create_app
from khgeo.db import Database
from khgeo.pgcluster import LocalCluster
from khgeo.services import accounts
from khgeo.services.seed import seed
from tests import database_pool
from tests.database_pool import DatabasePool, instrument_template

TEMPLATE_DB = "khgeo_template"
POOLED_TEMPLATE_DB = "khgeo_template_pooled"  # the same, with what the pool needs to reset copies
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

# The apps of successive tests on one pooled database share its engines (see tests/database_pool.py).
khgeo_db.create_engine = functools.partial(database_pool.engine_for, khgeo_db.create_engine)


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
    cluster.create_database(POOLED_TEMPLATE_DB, template=TEMPLATE_DB)
    instrument_template(cluster, POOLED_TEMPLATE_DB)
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


def new_database(cluster: LocalCluster, *, template: str | None = TEMPLATE_DB) -> str:
    name = f"khgeo_t{os.getpid()}_{next(_counter)}"
    cluster.create_database(name, template=template)
    return name


@pytest.fixture(scope="session")
def template_copies(pg_cluster: LocalCluster) -> DatabasePool:
    """This worker's copies of the template, reset between tests (tests/database_pool.py)."""
    return DatabasePool(pg_cluster, POOLED_TEMPLATE_DB)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, pg_cluster: LocalCluster, template_copies: DatabasePool
) -> Iterator[str]:
    """A migrated and seeded database for this test alone: a copy of the template that earlier tests may have
    used, with every table they wrote put back (see tests/database_pool.py). Tests marked ``plain_database``
    (backups, which must see only khgeo's own schema) get a fresh copy of the plain template instead."""
    if request.node.get_closest_marker("plain_database"):
        name = new_database(pg_cluster)
        yield pg_cluster.url(name)
        pg_cluster.drop_database(name)
        return
    copy = template_copies.take()
    yield pg_cluster.url(copy.name)
    template_copies.give_back(copy)


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
    if not database_pool.shares_engines(database_url):
        application.extensions["khgeo.db"].dispose()


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
        self.app.extensions["khgeo.db"].dispose()


@pytest.fixture(scope="module")
def module_database_url(pg_cluster: LocalCluster, template_copies: DatabasePool) -> Iterator[str]:
    copy = template_copies.take()
    yield pg_cluster.url(copy.name)
    template_copies.give_back(copy)


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
    # the basemap's reserved name fails at once instead of after a DNS round trip: pages with tiles reached their
    # load event ~0.5 s later, waiting for the resolver to give up on tiles.invalid (the error is the same)
    "--host-resolver-rules=MAP tiles.invalid ~NOTFOUND",
]


class _Browser:
    """The session's Chromium, whose new contexts run no service worker unless a test asks for one
    (``service_workers="allow"``: the offline tests). Each fresh context would otherwise install khgeo's worker
    and precache its ~40 static files: ~15 % of the browser's CPU in tests that are not about working offline."""

    def __init__(self, chromium):
        self._chromium = chromium

    def new_context(self, **options):
        options.setdefault("service_workers", "block")
        return self._chromium.new_context(**options)

    def __getattr__(self, name):
        return getattr(self._chromium, name)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (make test installs it: apt package 'chromium')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield _Browser(chromium)
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
