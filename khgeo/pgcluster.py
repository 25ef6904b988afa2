"""A private PostgreSQL+PostGIS cluster in a directory: the embedded default database, and the tests' throwaway one.

The cluster listens on a Unix socket only (no TCP port, so it never clashes with a system PostgreSQL) in a
directory only its owner can enter, and trusts local connections from that owner. PostgreSQL refuses to run as
root, so when khgeo runs as root the cluster runs as the ``postgres`` OS user (created by Debian's package).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg

from khgeo.errors import ConfigError

log = logging.getLogger(__name__)

SUPERUSER = "khgeo"
# Unix socket paths are limited to 107 bytes; long checkouts get a short socket directory under /tmp.
_MAX_SOCKET_DIR = 80


def find_bindir(configured: str | os.PathLike | None = None) -> Path:
    """The PostgreSQL server binaries: configured, else Debian's newest /usr/lib/postgresql/N/bin."""
    if configured:
        path = Path(configured)
        if not (path / "pg_ctl").exists():
            raise ConfigError(f"KHGEO_PG_BINDIR={path} has no pg_ctl")
        return path
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not candidates:
        raise ConfigError(
            "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin). "
            "Install them with `make install` (apt: postgresql-postgis) or set KHGEO_PG_BINDIR."
        )
    return candidates[-1].parent


class LocalCluster:
    """initdb/start/stop a cluster under ``root``; connection URLs for its databases."""

    def __init__(self, root: Path, *, bindir: str | os.PathLike | None = None, fast: bool = False):
        self.root = Path(root).resolve()
        self.datadir = self.root / "pgdata"
        self.logfile = self.root / "postgres.log"
        self.bindir = find_bindir(bindir)
        self.fast = fast  # fsync off: for throwaway test clusters only
        socket_dir = self.root / "run"
        if len(str(socket_dir)) > _MAX_SOCKET_DIR:
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
            socket_dir = Path(tempfile.gettempdir()) / f"khgeo-pg-{digest}"
        self.socket_dir = socket_dir
        self._as_postgres = os.geteuid() == 0

    # -- OS user handling -------------------------------------------------------------------------------------
    def _owner(self) -> tuple[int, int] | None:
        if not self._as_postgres:
            return None
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ConfigError(
                "running as root needs the 'postgres' OS user (apt install postgresql)"
            ) from exc
        return entry.pw_uid, entry.pw_gid

    def _run(self, args: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, **kwargs)

    def _prepare_dir(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        owner = self._owner()
        if owner:
            os.chown(path, *owner)
        path.chmod(mode)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self._prepare_dir(self.datadir, 0o700)
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        if result.returncode != 0:
            raise ConfigError(f"initdb failed in {self.datadir}: {result.stderr.strip()[-800:]}")
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "max_connections": "100",
            "shared_buffers": "128MB",
            "log_min_messages": "warning",
        }
        if self.fast:
            settings.update({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        conf = "\n# khgeo embedded cluster\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        with open(self.datadir / "postgresql.conf", "a") as handle:
            handle.write(conf)

    def is_running(self) -> bool:
        if not self.initialized:
            return False
        return self._run(["pg_ctl", "status", "-D", str(self.datadir)]).returncode == 0

    def start(self) -> bool:
        """Start the cluster (initialising it on first use). True if this call started it."""
        self.init()
        if self.is_running():
            return False
        self._prepare_dir(self.socket_dir, 0o700)
        if self._as_postgres and not self.logfile.exists():
            self.logfile.touch()
            owner = self._owner()
            if owner is not None:
                os.chown(self.logfile, *owner)
        result = self._run(
            ["pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir), "-l", str(self.logfile)]
        )
        if result.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-800:] if self.logfile.exists() else ""
            raise ConfigError(f"could not start PostgreSQL in {self.datadir}: {result.stderr.strip()} {tail}")
        log.info("embedded PostgreSQL started in %s", self.datadir)
        return True

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self._run(["pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.datadir)])
            log.info("embedded PostgreSQL stopped")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        if not str(self.socket_dir).startswith(str(self.root)):
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------------------------------
    def conninfo(self, dbname: str) -> str:
        return f"host={self.socket_dir} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def create_database(self, dbname: str, *, template: str | None = None) -> bool:
        """Create ``dbname`` (with PostGIS) unless it exists. True if created."""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if exists:
                return False
            ident = psycopg.sql.Identifier(dbname)
            if template:
                conn.execute(
                    psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        ident, psycopg.sql.Identifier(template)
                    )
                )
                return True
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(ident))
        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return True

    def drop_database(self, dbname: str) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(dbname)
                )
            )
