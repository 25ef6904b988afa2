"""The audit log: one row per change to a zone, task or user (who, when, old → new), and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.models import AuditEvent, User
from khgeo.services.interop.spreadsheet import csv_guard

log = logging.getLogger("khgeo.audit")

CSV_COLUMNS = ("at", "username", "action", "entity_type", "entity_id", "changes", "context")


def record(
    session: Session,
    user: User | None,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction: it commits or rolls back with the change itself."""
    event = AuditEvent(
        user_id=user.id if user else None,
        username=user.username if user else "",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes,
        context={k: v for k, v in (context or {}).items() if v not in (None, "")},
    )
    session.add(event)
    log.info(
        "audit %s %s/%s by %s: %s",
        action,
        entity_type,
        entity_id,
        event.username or "-",
        ", ".join(sorted(changes)) or "-",
    )
    return event


def list_events(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    username: str | None = None,
    limit: int | None = 500,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if username:
        query = query.where(AuditEvent.username == username)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def to_csv(events: list[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                event.at.astimezone(dt.UTC).isoformat(),
                csv_guard(event.username),
                event.action,
                event.entity_type,
                csv_guard(event.entity_id),
                csv_guard(json.dumps(event.changes, ensure_ascii=False)),
                csv_guard(json.dumps(event.context, ensure_ascii=False)),
            ]
        )
    return buffer.getvalue()
