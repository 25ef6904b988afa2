"""OGC API pages kept in memory per process, served again while the zones they were read from are unchanged.

Why: a 1,000-feature page costs PostgreSQL ~14 ms (1.45 MiB of stored Features read and joined, the page's order
and count) and the data changes rarely; a client paging through a collection (QGIS, GDAL, a harvester) and every
other client after it asks the same pages again.

Never stale: a page is kept under the token of zone_features_version, which the stored Features' triggers draw
again (at random) in the same transaction as every write to zones or districts (khgeo.services.stored_features).
A request reads the token (one row, one index probe) and takes a kept page only when its token is the current one.
A page read from the database is kept only if the token read before it is still the token after it: nothing was
committed in between, so the page is the data of that token (under READ COMMITTED each statement has its own
snapshot). A missing token (a database before migration 0018) keeps nothing.

Per process, not shared: each gunicorn worker keeps its own pages (bounded by KHGEO_OGC_PAGE_CACHE_MB, least
recently used dropped first) and validates them with that one-row read, so workers never need to tell each other
anything; a write invalidates every worker's pages at once through the token.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.models import ZoneFeaturesVersion


class Sized(Protocol):
    @property
    def size(self) -> int: ...


def features_token(session: Session) -> uuid.UUID | None:
    """The current token of the zones' data (None before migration 0018 created it)."""
    return session.scalar(select(ZoneFeaturesVersion.token).where(ZoneFeaturesVersion.id == 1))


T = TypeVar("T", bound=Sized)


class PageCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, tuple[uuid.UUID, Sized]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gunicorn's threads share a worker's pages
        self.hits = 0
        self.misses = 0

    def through(self, session: Session, key: Hashable, read: Callable[[], T]) -> T:
        """The page for ``key``: kept if its token is current, else ``read()`` (kept if nothing changed meanwhile)."""
        if self.max_bytes <= 0:
            return read()
        token = features_token(session)
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None and token is not None and kept[0] == token:
                self._pages.move_to_end(key)
                self.hits += 1
                return kept[1]  # type: ignore[return-value]
            self.misses += 1
        page = read()
        if token is not None and page.size <= self.max_bytes and features_token(session) == token:
            self._keep(key, token, page)
        return page

    def _keep(self, key: Hashable, token: uuid.UUID, page: Sized) -> None:
        with self._lock:
            # pages of an older token can never be served again: drop them now rather than when memory runs out
            for stale in [k for k, (kept_token, _) in self._pages.items() if kept_token != token or k == key]:
                self._bytes -= self._pages.pop(stale)[1].size
            self._pages[key] = (token, page)
            self._bytes += page.size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._pages)
