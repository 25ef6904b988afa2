"""Serving heavy generated documents: the permission, the per-user rate limit, then the cache (or the view)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Response, current_app, make_response, request
from flask_babel import get_locale
from flask_login import current_user

from khgeo.clock import today
from khgeo.db import get_session
from khgeo.errors_web import error_response
from khgeo.services import authz
from khgeo.services.reports import documents


def heavy_document(name: str, allowed: Callable[[object], bool]) -> Callable:
    """Wrap a view returning a document: checked, counted against the user's limit, served from the cache
    when the data it reads has not changed since it was last made (header X-Cache: hit or miss)."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(**kwargs) -> Response:
            authz.require(allowed(current_user), current_user)
            session = get_session()
            try:
                documents.record_request(
                    session, current_user.id, name, current_app.config["KHGEO_DOCUMENT_LIMIT"]
                )
            except documents.TooManyDocuments as exc:
                session.rollback()
                response = make_response(*error_response(exc.status, str(exc.message)))
                response.headers["Retry-After"] = str(exc.retry_after)
                return response
            session.commit()
            params = {
                "view": kwargs,
                "args": sorted(request.args.items(multi=True)),
                "locale": str(get_locale()),
                "today": today().isoformat(),
            }
            key = documents.cache_key(name, params, documents.data_version(session))
            documents.generating(session, key)
            hit = documents.cached(session, key)
            if hit is not None:
                session.commit()
                response = Response(hit.content, mimetype=hit.mimetype)
                response.headers["Content-Disposition"] = hit.disposition
                response.headers["X-Cache"] = "hit"
                return response
            response = view(**kwargs)
            if response.status_code == 200:
                documents.store(
                    session,
                    key,
                    response.get_data(),
                    response.mimetype,
                    response.headers.get("Content-Disposition", ""),
                )
            session.commit()
            response.headers["X-Cache"] = "miss"
            return response

        return wrapper

    return decorate
