"""Heavy generated documents (the consolidated report, the planners' XLSX): cached per data version, rate-limited.

Cache: in the database (table document_cache), so both gunicorn workers — and several servers — share it and a
restart keeps it. The key is a hash of the document's name, its parameters (year, view, language, today's date)
the code that renders it and the **data version**: for every table a document may read, the row count and the
sum of the rows' ``xmin`` (the id of the transaction that wrote each row version). Any insert, update or delete
changes it; no trigger or counter row is needed, so writers never queue behind a hot row. It is read before the
data, so a document is never older than its key. Generating one document at a time per key (an advisory lock)
means two workers asked for the same new document make it once.

Rate limit: each download is a row in document_requests; a user past the limit in the window gets a 429 that
says when to retry. Counted in the database, so it holds across workers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, delete, func, literal, literal_column, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from khgeo.errors import KhgeoError
from khgeo.models import (
    Agency,
    AgencyReport,
    AgencyReportItem,
    Commune,
    District,
    DocumentCache,
    DocumentRequest,
    Task,
    TaskProgress,
    Zone,
    ZoneUpdate,
    task_coordinators,
    task_zones,
)

# every table a generated document may read (not photos, users, the audit log or login attempts)
FEEDS = (
    Zone.__table__,
    ZoneUpdate.__table__,
    District.__table__,
    Commune.__table__,
    Agency.__table__,
    Task.__table__,
    task_zones,
    task_coordinators,
    TaskProgress.__table__,
    AgencyReport.__table__,
    AgencyReportItem.__table__,
)
WINDOW = dt.timedelta(minutes=10)
KEEP = dt.timedelta(days=7)  # entries not made again for a week are dropped
_LOCK_NAMESPACE = 71_007  # pg_advisory_xact_lock(namespace, user id) for the rate limit


class TooManyDocuments(KhgeoError):
    status = 429

    def __init__(self, limit: int, retry_after: int):
        super().__init__(
            _l(
                "Too many documents requested: at most %(limit)d in %(minutes)d minutes. "
                "Try again in %(seconds)d seconds.",
                limit=limit,
                minutes=int(WINDOW.total_seconds() // 60),
                seconds=retry_after,
            )
        )
        self.retry_after = retry_after


def data_version(session: Session) -> str:
    """A fingerprint of every table in FEEDS: changes with any insert, update or delete in them."""
    parts: list[Select] = [
        select(
            literal(table.description, String).label("name"),  # a table's description is its name
            func.count().label("rows"),
            func.coalesce(func.sum(literal_column("xmin::text::bigint")), 0).label("xmins"),
        ).select_from(table)
        for table in FEEDS
    ]
    rows = session.execute(union_all(*parts)).all()
    return hashlib.sha256(repr(sorted(tuple(row) for row in rows)).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of khgeo's code and compiled translations: a new release never serves an old layout."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.mo")]):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(document: str, params: Mapping[str, object], version: str) -> str:
    described = json.dumps([document, params, version, code_version()], sort_keys=True, default=str)
    return hashlib.sha256(described.encode()).hexdigest()


def generating(session: Session, key: str) -> None:
    """Hold the key until the transaction ends: a second request for it waits, then finds it cached."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def cached(session: Session, key: str) -> DocumentCache | None:
    return session.get(DocumentCache, key)


def store(session: Session, key: str, content: bytes, mimetype: str, disposition: str) -> None:
    session.execute(
        insert(DocumentCache)
        .values(key=key, content=content, mimetype=mimetype, disposition=disposition)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.execute(delete(DocumentCache).where(DocumentCache.created_at < func.now() - KEEP))


def record_request(session: Session, user_id: int, document: str, limit: int) -> None:
    """Count this download against the user's limit, or raise TooManyDocuments (nothing recorded then)."""
    session.execute(select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, user_id)))
    now = session.execute(select(func.now())).scalar_one()
    recent = list(
        session.scalars(
            select(DocumentRequest.at)
            .where(DocumentRequest.user_id == user_id, DocumentRequest.at > now - WINDOW)
            .order_by(DocumentRequest.at)
        )
    )
    if len(recent) >= limit:
        # free again when the oldest download of the window leaves it
        free_at = recent[len(recent) - limit] + WINDOW
        raise TooManyDocuments(limit, max(1, math.ceil((free_at - now).total_seconds())))
    session.execute(
        delete(DocumentRequest).where(DocumentRequest.user_id == user_id, DocumentRequest.at <= now - WINDOW)
    )
    session.add(DocumentRequest(user_id=user_id, document=document, at=now))
    session.flush()
