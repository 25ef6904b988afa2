"""Moving parcels through the stages of their recovery: one parcel or a batch, one service, one set of rules.

Rules (README "Parcels"): a parcel moves forward only; skipping stages forward is allowed (offices record late);
each move carries its date and document (number, date, signer), written to the parcel's step of that stage; a date
before the date of the stage the parcel is at is refused; backwards only by an admin *correction* that says why
(history kind "correction"; the steps after the stage corrected to are removed, the history keeps them).

A batch is one transaction, each parcel all or nothing: a parcel whose version moved on since the caller read it,
that would go backwards, whose date comes before its current stage's date, or that the user may not update is
reported in ``conflicts`` with the reason, the others are saved. Every saved parcel gets a history event (who,
when, {field: [old, new]}, note, document) and an audit row, and its zone's figures are derived again
(khgeo.services.parcels.derive) — all in the same transaction. A request id (the API's Idempotency-Key) makes a
retry answer as the first request did, writing nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from khgeo.codes import PARCEL_STAGE
from khgeo.errors import BadRequest, ValidationFailed
from khgeo.models import PARCEL_STAGES, AuditEvent, Parcel, ParcelEvent, ParcelStep, Photo, User, Zone
from khgeo.services import authz
from khgeo.services.parcels import derive
from khgeo.services.photos import ProcessedPhoto
from khgeo.services.updates import photo_columns
from khgeo.text import parse_date, reported_date_problem

MAX_BATCH = 2000
MAX_NOTE = 4000
EARLIEST_DATE = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Document:
    number: str = ""
    date: dt.date | None = None
    signer: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "date": self.date.isoformat() if self.date else None,
            "signer": self.signer,
        }


@dataclass(frozen=True)
class StageChange:
    stage: str
    date: dt.date
    document: Document = Document()
    note: str = ""
    correction_reason: str = ""  # non-empty: an admin correction (may go backwards)

    @property
    def correction(self) -> bool:
        return bool(self.correction_reason)


@dataclass
class BatchResult:
    saved: list[dict[str, Any]] = field(default_factory=list)  # {"uid", "version"}
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # {"uid", "reason", "current_version", …}
    replayed: bool = False
    zones_changed: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "saved": self.saved,
            "conflicts": [{**c, "reason": str(c["reason"])} for c in self.conflicts],
        }


def stage_index(stage: str) -> int:
    return PARCEL_STAGES.index(stage)


# -- reading a request -------------------------------------------------------------------------------------------
def _date(raw: Any, name: str, errors: dict, today: dt.date, *, required: bool) -> dt.date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[name] = _l("Enter a date as dd/mm/yyyy.")
        return None
    try:
        day = raw if isinstance(raw, dt.date) else parse_date(str(raw))
    except ValueError:
        errors[name] = _l("Enter a date as dd/mm/yyyy.")
        return None
    if problem := reported_date_problem(day, today, EARLIEST_DATE):
        errors[name] = problem
        return None
    return day


def _text(raw: Any, name: str, most: int, errors: dict) -> str:
    value = "" if raw is None else str(raw).strip()
    if len(value) > most:
        errors[name] = _l("The text is too long (%(n)d characters at most).", n=most)
    return value


def parse_change(data: Mapping[str, Any], today: dt.date) -> StageChange:
    """A stage change from a form or a JSON body; ValidationFailed with a message per field."""
    errors: dict[str, Any] = {}
    raw_stage = data.get("stage")
    ok, stage = _lookup_stage(raw_stage)
    if not ok or stage is None:
        errors["stage"] = _l(
            "Unknown stage %(value)s: choose one of the listed stages.", value=raw_stage or ""
        )
    day = _date(data.get("date"), "date", errors, today, required=True)
    document = data.get("document") or {}
    if not isinstance(document, Mapping):
        errors["document"] = _l("The document must give its number, date and signer.")
        document = {}
    number = _text(document.get("number", data.get("document_number")), "document_number", 100, errors)
    signer = _text(document.get("signer", data.get("document_signer")), "document_signer", 200, errors)
    doc_date = _date(
        document.get("date", data.get("document_date")), "document_date", errors, today, required=False
    )
    note = _text(data.get("note"), "note", MAX_NOTE, errors)
    reason = _text(data.get("correction_reason"), "correction_reason", MAX_NOTE, errors)
    if errors:
        raise ValidationFailed(errors)
    return StageChange(str(stage), day or today, Document(number, doc_date, signer), note, reason)


def _lookup_stage(raw: Any) -> tuple[bool, str | None]:
    if raw is None or not str(raw).strip():
        return False, None
    return PARCEL_STAGE.lookup(raw)


def parse_items(raw: Any) -> list[tuple[str, int | None]]:
    """The batch's [{"uid", "version"}, …]: 1..MAX_BATCH parcels, each once; BadRequest otherwise."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest(_l('"parcels" must be a list of {"uid": …, "version": …} (at least one).'))
    if len(raw) > MAX_BATCH:
        raise BadRequest(_l("At most %(n)d parcels in one request.", n=MAX_BATCH))
    items: list[tuple[str, int | None]] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("uid"), str):
            raise BadRequest(_l('"parcels" must be a list of {"uid": …, "version": …} (at least one).'))
        version = entry.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise BadRequest(_l("A parcel's version must be a whole number."))
        uid = entry["uid"].strip().lower()
        if uid in seen:
            raise BadRequest(_l("The parcel %(uid)s is listed twice.", uid=uid))
        seen.add(uid)
        items.append((uid, version))
    return items


# -- applying ----------------------------------------------------------------------------------------------------
def request_ids(key: uuid.UUID | None, uids: Sequence[str]) -> dict[str, uuid.UUID | None]:
    """One id per parcel of a request (parcel_events.request_id is unique): derived from the request's key."""
    return {uid: (uuid.uuid5(key, uid) if key else None) for uid in uids}


def _replay(session: Session, ids: dict[str, uuid.UUID | None]) -> BatchResult | None:
    wanted = [rid for rid in ids.values() if rid is not None]
    if not wanted:
        return None
    rows = session.execute(
        select(Parcel.uid, ParcelEvent.parcel_version, Parcel.version, Parcel.stage)
        .join(Parcel, Parcel.id == ParcelEvent.parcel_id)
        .where(ParcelEvent.request_id.in_(wanted))
    ).all()
    if not rows:
        return None
    result = BatchResult(replayed=True)
    done = {row.uid for row in rows}
    result.saved = [{"uid": row.uid, "version": row.parcel_version} for row in rows]
    for uid in ids:
        if uid not in done:
            result.conflicts.append(
                {"uid": uid, "reason": _l("Not saved by the first request with this Idempotency-Key.")}
            )
    return result


def _conflict(row, reason) -> dict[str, Any]:
    return {"uid": row.uid, "reason": reason, "current_version": row.version, "current_stage": row.stage}


def apply_stage(
    session: Session,
    user: User,
    items: Sequence[tuple[str, int | None]],
    change: StageChange,
    *,
    today: dt.date,
    request_key: uuid.UUID | None = None,
    channel: str = "api",
    remote_addr: str = "",
) -> BatchResult:
    """Move the parcels (uid, version read — None: not checked) to ``change.stage``; see the module's rules.
    The caller commits (or rolls back): parcels, steps, history, audit and the zones' figures go together."""
    ids = request_ids(request_key, [uid for uid, _ in items])
    if (replayed := _replay(session, ids)) is not None:
        return replayed
    uids = [uid for uid, _ in items]
    rows = {
        row.uid: row
        for row in session.execute(
            select(Parcel.id, Parcel.uid, Parcel.version, Parcel.stage, Parcel.stage_date, Parcel.zone_id)
            .where(Parcel.uid.in_(uids))
            .order_by(Parcel.id)
            .with_for_update()
        )
    }
    zone_ids = {row.zone_id for row in rows.values() if row.zone_id is not None}
    zones = {z.id: z for z in session.scalars(select(Zone).where(Zone.id.in_(zone_ids)))} if zone_ids else {}
    allowed: dict[int | None, bool] = {
        zone_id: authz.can_update_parcel(user, zone) for zone_id, zone in zones.items()
    }
    allowed[None] = authz.can_update_parcel(user, None)
    is_admin = authz.is_admin(user)
    target = stage_index(change.stage)
    earlier_dates = _dates_before(session, [r.id for r in rows.values()], change) if change.correction else {}

    result = BatchResult()
    accepted = []
    for uid, version in items:
        row = rows.get(uid)
        if row is None:
            result.conflicts.append({"uid": uid, "reason": _l("No parcel with this identifier.")})
            continue
        reason = None
        current = stage_index(row.stage)
        if not allowed.get(row.zone_id, False):
            reason = _l("You may not update this parcel (it is outside your area).")
        elif version is not None and version != row.version:
            reason = _l(
                "The parcel has changed since you read it (now version %(v)d): read it again.", v=row.version
            )
        elif change.correction:
            if not is_admin:
                reason = _l("Only the zone board (an administrator) may correct a stage backwards.")
            elif target >= current:
                reason = _l("A correction goes back to an earlier stage; to move forward, record the step.")
            elif (before := earlier_dates.get(row.id)) is not None and change.date < before:
                reason = _l(
                    "The date is before the date of the previous stage (%(date)s).",
                    date=before.strftime("%d/%m/%Y"),
                )
        elif target <= current:
            reason = _l(
                "The parcel is already at the stage %(stage)s: stages only move forward (an administrator "
                "can correct a stage with a reason).",
                stage=_stage_label(row.stage),
            )
        elif row.stage_date is not None and change.date < row.stage_date:
            reason = _l(
                "The date is before the date of the previous stage (%(date)s).",
                date=row.stage_date.strftime("%d/%m/%Y"),
            )
        if reason is not None:
            result.conflicts.append(_conflict(row, reason))
        else:
            accepted.append(row)
    if accepted:
        versions = _write(session, user, accepted, change, ids, channel=channel, remote_addr=remote_addr)
        result.saved = [{"uid": row.uid, "version": versions[row.id]} for row in accepted]
        result.zones_changed = derive.refresh_zones(
            session,
            {row.zone_id for row in accepted},
            today=today,
            user_id=user.id,
            source=channel,
            note=str(
                _l(
                    "%(n)d parcels moved to the stage %(stage)s",
                    n=len(accepted),
                    stage=_stage_label(change.stage),
                )
            ),
        )
    return result


def _stage_label(stage: str) -> str:
    return str(PARCEL_STAGE.label(stage))


def _dates_before(session: Session, parcel_ids: list[int], change: StageChange) -> dict[int, dt.date]:
    """For a correction: the latest step date of the stages before the one corrected to, per parcel."""
    earlier = PARCEL_STAGES[: stage_index(change.stage)]
    if not parcel_ids or not earlier:
        return {}
    rows = session.execute(
        select(ParcelStep.parcel_id, func.max(ParcelStep.date))
        .where(ParcelStep.parcel_id.in_(parcel_ids), ParcelStep.stage.in_(earlier))
        .group_by(ParcelStep.parcel_id)
    )
    return {parcel_id: day for parcel_id, day in rows}


WRITE_PARCELS = text("""
UPDATE parcels SET stage = :stage, stage_date = :date, version = version + 1, updated_at = now(),
                   updated_by_id = :user_id
WHERE id = ANY(:ids)
RETURNING id, version
""")
WRITE_STEPS = text("""
INSERT INTO parcel_steps (parcel_id, stage, date, document_number, document_date, document_signer)
SELECT unnest(CAST(:ids AS integer[])), CAST(:stage AS varchar), CAST(:date AS date), CAST(:number AS varchar),
       CAST(:doc_date AS date), CAST(:signer AS varchar)
ON CONFLICT (parcel_id, stage) DO UPDATE SET date = EXCLUDED.date, document_number = EXCLUDED.document_number,
    document_date = EXCLUDED.document_date, document_signer = EXCLUDED.document_signer
""")
REMOVE_LATER_STEPS = text("DELETE FROM parcel_steps WHERE parcel_id = ANY(:ids) AND stage = ANY(:stages)")
WRITE_EVENTS = text("""
INSERT INTO parcel_events (parcel_id, parcel_version, kind, user_id, request_id, changes, note, document)
SELECT e.id, e.version, CAST(:kind AS varchar), CAST(:user_id AS integer), e.request_id,
       jsonb_build_object('stage', jsonb_build_array(e.old_stage, CAST(:stage AS text)),
                          'stage_date', jsonb_build_array(e.old_date, CAST(:date AS date))),
       CAST(:note AS text), CAST(:document AS jsonb)
FROM unnest(CAST(:ids AS integer[]), CAST(:versions AS integer[]), CAST(:request_ids AS uuid[]),
            CAST(:old_stages AS text[]), CAST(:old_dates AS date[]))
     AS e(id, version, request_id, old_stage, old_date)
""")


def _write(
    session, user, accepted, change: StageChange, ids, *, channel: str, remote_addr: str
) -> dict[int, int]:
    import json

    parcel_ids = [row.id for row in accepted]
    params = {"ids": parcel_ids, "stage": change.stage, "date": change.date, "user_id": user.id}
    versions = dict(session.execute(WRITE_PARCELS, params).all())
    if change.correction:
        later = list(PARCEL_STAGES[stage_index(change.stage) + 1 :])
        session.execute(REMOVE_LATER_STEPS, {"ids": parcel_ids, "stages": later})
    session.execute(
        WRITE_STEPS,
        {
            "ids": parcel_ids,
            "stage": change.stage,
            "date": change.date,
            "number": change.document.number,
            "doc_date": change.document.date,
            "signer": change.document.signer,
        },
    )
    note = change.note
    if change.correction:
        note = f"{change.correction_reason}\n{note}".strip() if note else change.correction_reason
    session.execute(
        WRITE_EVENTS,
        {
            "ids": parcel_ids,
            "versions": [versions[i] for i in parcel_ids],
            "request_ids": [ids[row.uid] for row in accepted],
            "old_stages": [row.stage for row in accepted],
            "old_dates": [row.stage_date for row in accepted],
            "kind": "correction" if change.correction else "stage",
            "user_id": user.id,
            "stage": change.stage,
            "date": change.date,
            "note": note,
            "document": json.dumps(change.document.as_json()),
        },
    )
    context = {"channel": channel, "remote_addr": remote_addr}
    if change.correction:
        context["reason"] = change.correction_reason
    session.execute(
        insert(AuditEvent),
        [
            {
                "user_id": user.id,
                "username": user.username,
                "action": "parcel.correction" if change.correction else "parcel.stage",
                "entity_type": "parcel",
                "entity_id": row.uid,
                "changes": {
                    "stage": [row.stage, change.stage],
                    "stage_date": [
                        row.stage_date.isoformat() if row.stage_date else None,
                        change.date.isoformat(),
                    ],
                },
                "context": {**context, "version": versions[row.id]},
            }
            for row in accepted
        ],
    )
    # parcels loaded in the session are stale now
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Parcel) and obj.id in versions:
            session.expire(obj)
    return versions


def attach_photos(session: Session, uid: str, version: int, photos: Sequence[ProcessedPhoto]) -> None:
    """Site photos (checked and shrunk by khgeo.services.photos) on the history event that brought the parcel to
    ``version``. The caller commits, with the step."""
    if not photos:
        return
    event_id = session.scalar(
        select(ParcelEvent.id)
        .join(Parcel, Parcel.id == ParcelEvent.parcel_id)
        .where(Parcel.uid == uid, ParcelEvent.parcel_version == version)
        .order_by(ParcelEvent.id.desc())
        .limit(1)
    )
    for photo in photos:
        session.add(Photo(parcel_event_id=event_id, **photo_columns(photo)))
    session.flush()
