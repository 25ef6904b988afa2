"""Schema migrations (Alembic), run against the app's engine in one transaction."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask_babel import lazy_gettext as _l

from khgeo.db import Database
from khgeo.errors import BadRequest
from khgeo.services import stored_features

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision this code's migrations know (a database at any of them can be upgraded)."""
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the schema; returns (revision before, revision after). All-or-nothing: PostgreSQL DDL is transactional."""
    check_revision(revision)
    before = current_revision(db)
    config = _config()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        stored_features.sync_connection(conn)  # what the triggers store follows the code's serialisation
    return before, current_revision(db)


def sync_stored_features(db: Database) -> bool:
    """Install the triggers keeping zones.feature_json and rewrite it, if the serialisation changed (serve)."""
    with db.engine.begin() as conn:
        return stored_features.sync_connection(conn)


def check_revision(revision: str) -> None:
    """BadRequest naming the known revisions unless ``revision`` is one (or base/head, or relative like -1)."""
    if revision in ("base", "head", "heads") or revision[:1] in ("-", "+"):
        return
    script = ScriptDirectory.from_config(_config())
    try:
        found = script.get_revision(revision)
    except (CommandError, RevisionError):
        found = None
    if found is None:
        known = ", ".join(["base", *reversed([r.revision for r in script.walk_revisions()])])
        raise BadRequest(
            _l("Unknown schema revision %(revision)s: use one of %(known)s.", revision=revision, known=known)
        )


def downgrade(db: Database, revision: str) -> None:
    check_revision(revision)
    config = _config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
