"""Agencies over time: an agency succeeded by another from a date (merged, renamed, split), with its act.

A task keeps the lead agency the plan wrote; who answers for it today follows the successions in force on the
day (transitively: A → B → C). Agency pages and the reporting cycle route a predecessor's tasks to its current
successor(s); reports already filed stay with the agency that filed them. A district People's Committee with no
recorded successor is answered, since 01/07/2025, by the People's Committees of the communes and wards where
the task's zones lie today (derived from the zones' units; recording a succession of that committee overrides
it). Successions are recorded only with their act: the seed records none (no act is cited in data/).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.errors import BadRequest
from khgeo.models import SUCCESSION_KINDS, Agency, AgencySuccession, Task, User
from khgeo.services.audit import record

DISTRICT_LEVEL_ENDS = dt.date(2025, 7, 1)  # NQ 1658/NQ-UBTVQH15 and the Law on Local Government of 2025
DISTRICT_COMMITTEE_KINDS = ("district_committee", "district_committees")
MAX_SOURCE = 300


def _successions(session: Session, day: dt.date) -> dict[int, list[int]]:
    """predecessor id → successor ids, of the successions in force on ``day``."""
    graph: dict[int, list[int]] = defaultdict(list)
    query = select(AgencySuccession.predecessor_id, AgencySuccession.successor_id).where(
        AgencySuccession.effective <= day
    )
    for old, new in session.execute(query.order_by(AgencySuccession.successor_id)):
        graph[old].append(new)
    return graph


def _follow(graph: dict[int, list[int]], agency_id: int) -> list[int]:
    """The agencies ``agency_id`` leads to (itself when none succeeded it); never loops (no cycle is stored)."""
    if agency_id not in graph:
        return [agency_id]
    found: list[int] = []
    for successor in graph[agency_id]:
        for current in _follow(graph, successor):
            if current not in found:
                found.append(current)
    return found


def current_ids(session: Session, agency_ids: Iterable[int], day: dt.date) -> dict[int, list[int]]:
    """Each agency id → the ids of the agencies answering for it on ``day``."""
    graph = _successions(session, day)
    return {agency_id: _follow(graph, agency_id) for agency_id in agency_ids}


def current_agencies(session: Session, agency: Agency, day: dt.date) -> list[Agency]:
    ids = current_ids(session, [agency.id], day)[agency.id]
    if ids == [agency.id]:
        return [agency]
    return list(session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)))


def predecessor_ids(session: Session, agency: Agency, day: dt.date) -> set[int]:
    """Every agency whose work ``agency`` answers for on ``day`` (its predecessors, transitively)."""
    graph = _successions(session, day)
    reverse: dict[int, list[int]] = defaultdict(list)
    for old, news in graph.items():
        for new in news:
            reverse[new].append(old)
    found: set[int] = set()
    todo = [agency.id]
    while todo:
        for old in reverse.get(todo.pop(), []):
            if old not in found:
                found.add(old)
                todo.append(old)
    return found


def succeeded_ids(session: Session, day: dt.date) -> set[int]:
    """The agencies succeeded by another on ``day``: they no longer owe reports of their own."""
    return set(_successions(session, day))


def existed_from(session: Session, agency: Agency) -> dt.date | None:
    """The day an agency began, as far as khgeo knows: its first succession as a successor (None: from the plan)."""
    query = select(AgencySuccession.effective).where(AgencySuccession.successor_id == agency.id)
    return min(session.scalars(query), default=None)


def _agency(session: Session, code: str, field: str) -> Agency:
    agency = session.scalars(select(Agency).where(Agency.code == (code or "").strip().upper())).one_or_none()
    if agency is None:
        raise BadRequest(_l("Unknown agency %(value)s", value=code), field=field)
    return agency


def succeed(
    session: Session,
    old_code: str,
    new_code: str,
    effective: dt.date,
    source: str,
    *,
    kind: str = "merged",
    actor: User | None = None,
) -> AgencySuccession:
    """Record that ``new_code`` succeeds ``old_code`` from ``effective``; BadRequest and nothing written when it
    would make a cycle, start before the old agency existed, repeat a succession, or lacks its act."""
    old = _agency(session, old_code, "old")
    new = _agency(session, new_code, "new")
    source = " ".join((source or "").split())
    if not source:
        raise BadRequest(_l("Cite the act that did it (number and date)."), field="source")
    if len(source) > MAX_SOURCE:
        raise BadRequest(_l("The act is too long (at most %(n)d characters).", n=MAX_SOURCE), field="source")
    if kind not in SUCCESSION_KINDS:
        raise BadRequest(
            _l(
                "Unknown kind %(value)s: use one of %(allowed)s",
                value=kind,
                allowed=", ".join(SUCCESSION_KINDS),
            ),
            field="kind",
        )
    if old.id == new.id:
        raise BadRequest(_l("An agency cannot succeed itself."), field="new")
    began = existed_from(session, old)
    if began is not None and effective < began:
        raise BadRequest(
            _l(
                "%(agency)s existed only from %(date)s: it cannot be succeeded before then.",
                agency=old.name,
                date=began.strftime("%d/%m/%Y"),
            ),
            field="effective",
        )
    # a cycle: the new agency already leads (at any date) to the old one
    graph = _successions(session, dt.date.max)
    if old.id in _reachable(graph, new.id):
        raise BadRequest(
            _l(
                "%(old)s already succeeds %(new)s (directly or through others): this would make a cycle.",
                old=old.name,
                new=new.name,
            ),
            field="new",
        )
    exists = select(AgencySuccession.id).where(
        AgencySuccession.predecessor_id == old.id, AgencySuccession.successor_id == new.id
    )
    if session.scalar(exists) is not None:
        raise BadRequest(_l("This succession is already recorded."), field="new")
    succession = AgencySuccession(
        predecessor=old, successor=new, effective=effective, kind=kind, source=source
    )
    session.add(succession)
    session.flush()
    record(
        session,
        actor,
        "agency.succeed",
        "agency",
        old.code,
        {
            "successor": [None, new.code],
            "effective": [None, effective.isoformat()],
            "kind": [None, kind],
            "source": [None, source],
        },
    )
    return succession


def _reachable(graph: dict[int, list[int]], start: int) -> set[int]:
    seen: set[int] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def list_successions(session: Session) -> list[AgencySuccession]:
    query = select(AgencySuccession).order_by(AgencySuccession.effective, AgencySuccession.id)
    return list(session.scalars(query))


def answering_today(session: Session, tasks: Iterable[Task], day: dt.date) -> dict[str, list[str]]:
    """Task id → who answers for it on ``day``, by name, for the tasks whose answer is not the plan's lead agency:
    the lead's current successor(s); for a district People's Committee not succeeded, since 01/07/2025, the
    committees of the communes and wards where the task's zones lie today. One query for the successions."""
    graph = _successions(session, day)
    names = {row.id: row.name for row in session.execute(select(Agency.id, Agency.name))} if graph else {}
    answers: dict[str, list[str]] = {}
    for task in tasks:
        current = _follow(graph, task.lead_agency_id)
        if current != [task.lead_agency_id]:
            answers[task.id] = [names[agency_id] for agency_id in current]
        elif task.lead_agency.kind in DISTRICT_COMMITTEE_KINDS and day >= DISTRICT_LEVEL_ENDS:
            units = {unit.code: unit.full_name for zone in task.zones for unit in zone.current_units}
            if units:
                answers[task.id] = [f"UBND {name}" for _code, name in sorted(units.items())]
    return answers
