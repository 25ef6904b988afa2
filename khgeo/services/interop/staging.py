"""An uploaded import file between the preview and the apply, kept in the database (any app server may answer
the apply) under a random token, and dropped once applied, cancelled or a day old."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import delete, func
from sqlalchemy.orm import Session

from khgeo.models import ImportUpload

STAGING_HOURS = 24
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def stage_upload(session: Session, user_id: int, file_name: str, suffix: str, content: bytes) -> str:
    """Keep the file for its uploader (files older than STAGING_HOURS go at the same time); its token.
    The caller commits."""
    token = secrets.token_urlsafe(24)
    cutoff = func.now() - dt.timedelta(hours=STAGING_HOURS)  # the database stamped created_at
    session.execute(delete(ImportUpload).where(ImportUpload.created_at < cutoff))
    session.add(
        ImportUpload(token=token, user_id=user_id, file_name=file_name, suffix=suffix, content=content)
    )
    return token


def staged_upload(session: Session, token: str | None) -> ImportUpload | None:
    """The staged file named by ``token``; None when the token is malformed, unknown or expired and removed."""
    if not TOKEN.match(token or ""):
        return None
    return session.get(ImportUpload, token)


def discard_upload(session: Session, token: str | None) -> None:
    """Forget a staged file (nothing when the token is malformed or already gone). The caller commits."""
    if TOKEN.match(token or ""):
        session.execute(delete(ImportUpload).where(ImportUpload.token == token))
