"""The one way benchmarks get a database: a throwaway PostgreSQL+PostGIS cluster, migrated and seeded.

    with seeded_database("khgeo-bench-") as (cluster, url):
        ...

The cluster (fsync off, socket only) and its directory are removed when the block ends, whatever happens.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from khgeo import migrate
from khgeo.db import Database
from khgeo.pgcluster import LocalCluster
from khgeo.services.seed import seed


@contextmanager
def seeded_database(prefix: str, dbname: str = "bench") -> Iterator[tuple[LocalCluster, str]]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)  # the postgres OS user must reach the cluster directory when we run as root
    cluster = LocalCluster(root / "pg", fast=True)
    try:
        cluster.start()
        cluster.create_database(dbname)
        url = cluster.url(dbname)
        database = Database(url)
        migrate.upgrade(database)
        with database.session() as session:
            seed(session)
        database.engine.dispose()
        yield cluster, url
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
