"""The database façade: one engine per app, sessions, health, and the embedded cluster when no URL is given.

``init_app(app)`` attaches the app's Database; ``get_db()`` and ``get_session()`` (the request's session, closed
at teardown) are what web/, api/ and security.py use, as in Flask's tutorial: nothing imports khgeo.app back.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from khgeo.pgcluster import LocalCluster

log = logging.getLogger(__name__)

EMBEDDED_DBNAME = "khgeo"
EXTENSION = "khgeo.db"


def init_app(app: Flask) -> None:
    """The app's Database, from its settings, and the request session's teardown."""
    app.extensions[EXTENSION] = Database.from_settings(app.config)
    app.teardown_appcontext(_close_session)


def get_db() -> Database:
    return current_app.extensions[EXTENSION]


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def independent_transaction(session: Session):
    """A short transaction of its own, committed at once whatever ``session`` later does, on the independent pool
    of the session's Database (see Database.__init__); a session made elsewhere falls back to its own engine."""
    engine = session.info.get("independent")
    if engine is None:
        bind = session.get_bind()  # an Engine, or a Connection when the session is bound to one
        engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.begin()


class Database:
    def __init__(self, url: str, *, cluster: LocalCluster | None = None):
        self.url = url
        self.cluster = cluster  # set when khgeo manages the server itself
        self.engine: Engine = create_engine(
            url,
            pool_pre_ping=True,  # a restarted server costs one failed ping, not an error page
            hide_parameters=True,  # error messages (and so logs) never quote the values users sent
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": 5, "application_name": "khgeo"},
        )
        # Short writes that must commit whatever the request's own transaction does (a login guess counted, a
        # token's last use) run on a pool of their own: taken from the request pool, 16 requests that each hold a
        # connection and ask for a second one would wait for each other until the pool timeout (500s under load).
        # Such a transaction never waits for another connection while it holds one, so this pool cannot deadlock.
        self.independent_engine: Engine = create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            pool_size=2,
            max_overflow=8,
            connect_args={"connect_timeout": 5, "application_name": "khgeo-independent"},
        )
        self.sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={"independent": self.independent_engine}
        )

    @classmethod
    def from_settings(cls, settings: dict) -> Database:
        if settings["KHGEO_DATABASE_URL"]:
            return cls(settings["KHGEO_DATABASE_URL"])
        cluster = LocalCluster(
            Path(settings["KHGEO_DATA_DIR"]) / "postgres", bindir=settings["KHGEO_PG_BINDIR"]
        )
        return cls(cluster.url(EMBEDDED_DBNAME), cluster=cluster)

    @property
    def dbname(self) -> str:
        return make_url(self.url).database or ""

    def ensure_running(self) -> bool:
        """Start the embedded cluster and create its database if needed. True if this call started it."""
        if self.cluster is None:
            return False
        started = self.cluster.start()
        self.cluster.create_database(EMBEDDED_DBNAME)
        return started

    def stop_embedded(self) -> None:
        self.dispose()
        if self.cluster is not None:
            self.cluster.stop()

    def dispose(self) -> None:
        """Close every pooled connection (both pools)."""
        self.engine.dispose()
        self.independent_engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def health_report(self) -> dict:
        """What an operator sees (admins on /healthz, `khgeo health`): status, database, PostGIS, schema, version."""
        health = self.health()
        return {
            "status": "ok" if health["database"] == "ok" else "unavailable",
            **health,
            "version": _version(),
        }

    def health(self) -> dict:
        """What /healthz reports: never raises."""
        try:
            with self.engine.connect() as conn:
                postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
                revision = None
                if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar_one() is not None:
                    revision = conn.execute(
                        text("SELECT version_num FROM alembic_version")
                    ).scalar_one_or_none()
            return {"database": "ok", "postgis": postgis, "schema_revision": revision}
        except DBAPIError as exc:
            log.warning("database health check failed: %s", exc.__class__.__name__)
            return {"database": "unavailable"}


def _version() -> str:
    try:
        return importlib.metadata.version("khgeo")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
