"""Land users' names and households are personal data (Decree 13/2023/NĐ-CP). Whether a reader sees them is
decided by khgeo.services.authz.sees_land_users; this module gives the masked form others see, and writes each view
of the real values to the audit log (the channel that shows them calls ``record_view``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from khgeo.codes import Label
from khgeo.models import AuditEvent, User

MASK = Label("Hidden (personal data)")
PERSONAL_FIELDS = ("land_user_name", "households", "people")


def mask_land_user(name: str | None, language: str | None = None) -> str:
    """What a reader who may not see the land user reads instead of the name ("" when there is no name).
    ``language``: a fixed language for files ("vi"); None: the request's."""
    if not (name or "").strip():
        return ""
    return MASK.in_language(language) if language else str(MASK)


def record_view(
    session: Session,
    user: User,
    uids: Sequence[str],
    *,
    channel: str,
    zone_code: str | None = None,
    remote_addr: str = "",
) -> None:
    """Audit one view of land users' personal data: one row per parcel shown (a list: one row for the zone)."""
    if not uids:
        return
    context: dict[str, object] = {"channel": channel}
    if remote_addr:
        context["remote_addr"] = remote_addr
    rows: list[tuple[str, str, dict[str, object]]]
    if zone_code is not None and len(uids) > 1:
        rows = [("zone", zone_code, {**context, "parcels": len(uids)})]
    else:
        rows = [("parcel", uid, context) for uid in uids]
    session.execute(
        insert(AuditEvent),
        [
            {
                "user_id": user.id,
                "username": user.username,
                "action": "parcel.personal_view",
                "entity_type": entity_type,
                "entity_id": entity_id,
                "changes": {},
                "context": ctx,
            }
            for entity_type, entity_id, ctx in rows
        ],
    )
