"""A parcel's flags (compulsory inventory, enforcement, dispute, resettlement needed) and the compensation amounts
approved and paid (VND): set by the field staff of its area and admins, versioned like the stage, each change one
history event ("edit", {field: [old, new]}) and one audit row, in the caller's transaction.

The flags and amounts are not the stage: they may change at any stage and in any direction (a dispute settled, an
amount corrected). Compulsory inventory starts its timer (khgeo/services/parcels/timers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from khgeo.errors import KhgeoError, ValidationFailed
from khgeo.models import Parcel, ParcelEvent, User
from khgeo.numbers import NumberError, parse_int
from khgeo.services.audit import record

FLAGS = ("compulsory_inventory", "enforcement", "dispute", "resettlement_needed")
AMOUNTS = ("amount_approved", "amount_paid")
FIELDS = FLAGS + AMOUNTS
MAX_AMOUNT_VND = 10**15  # a thousand billion đồng: far above any parcel, below the column's 16 digits
MAX_NOTE = 2000
TRUE = {True, "true", "1", "on", "yes", "có"}
FALSE = {False, "false", "0", "off", "no", "không", ""}


class FactsConflict(KhgeoError):
    status = 409

    def __init__(self, version: int):
        super().__init__(
            _l("The parcel has changed since you read it (now version %(v)d): read it again.", v=version)
        )


def parse_facts(data: Mapping[str, Any], *, locale: str | None = None) -> dict[str, Any]:
    """The flags and amounts ``data`` sets (absent keys are left as they are); ValidationFailed naming each bad one.
    An amount may be empty (not known) or a whole number of đồng, typed 1.234.567 or 1234567."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name in FLAGS:
        if name not in data:
            continue
        raw = data[name]
        lowered = raw.strip().lower() if isinstance(raw, str) else raw
        if lowered in TRUE:
            values[name] = True
        elif lowered in FALSE or raw is None:
            values[name] = False
        else:
            errors[name] = _l("Answer yes or no.")
    for name in AMOUNTS:
        if name not in data:
            continue
        raw = data[name]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[name] = None
            continue
        try:
            values[name] = Decimal(parse_int(raw, maximum=MAX_AMOUNT_VND, locale=locale))
        except NumberError as exc:
            errors[name] = exc.message
    if errors:
        raise ValidationFailed(errors)
    return values


def set_facts(
    session: Session,
    user: User,
    parcel: Parcel,
    values: Mapping[str, Any],
    *,
    expected_version: int,
    note: str = "",
    channel: str = "web",
) -> bool:
    """Write ``values`` (from parse_facts) on ``parcel`` if it is still at ``expected_version``; whether anything
    changed. FactsConflict when someone saved it meanwhile (nothing written)."""
    if parcel.version != expected_version:
        raise FactsConflict(parcel.version)
    changes = {
        name: [_plain(getattr(parcel, name)), _plain(value)]
        for name, value in values.items()
        if name in FIELDS and getattr(parcel, name) != value
    }
    if not changes:
        return False
    for name in changes:
        setattr(parcel, name, values[name])
    parcel.updated_by_id = user.id
    try:
        session.flush()  # the version check of the UPDATE (version_id_col): a concurrent save makes it stale
    except StaleDataError:
        session.rollback()
        raise FactsConflict(expected_version + 1) from None
    session.add(
        ParcelEvent(
            parcel_id=parcel.id,
            parcel_version=parcel.version,
            kind="edit",
            user_id=user.id,
            changes=changes,
            note=(note or "").strip()[:MAX_NOTE],
        )
    )
    record(session, user, "parcel.facts", "parcel", parcel.uid, changes, {"channel": channel})
    session.flush()
    return True


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value
