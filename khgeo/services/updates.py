"""Field updates of a zone's status: validation, the version check that prevents lost updates, and history.

The same functions serve the HTML form and PATCH /api/zones/<code>: one set of rules, one set of messages.
A save names the version it was based on; if the zone has moved on since, it is refused (VersionConflict) and
nothing is written. A retried request (same request_id) is recognised and not applied twice. ``save_update`` is
that protocol in one call (replay, version, validate, apply); the adapters only translate its errors.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload
from sqlalchemy.orm.exc import StaleDataError

from khgeo import clock
from khgeo.errors import KhgeoError, ValidationFailed
from khgeo.models import WWTP_STATUSES, Photo, User, Zone, ZoneUpdate
from khgeo.numbers import Bounds, NumberError, parse_bounded
from khgeo.services.audit import record
from khgeo.services.photos import MAX_PHOTOS_PER_UPDATE, PhotoRejected, ProcessedPhoto, process_photo
from khgeo.text import parse_date, reported_date_problem

# What field staff report; the zone's current values of these are those of its latest update.
STATUS_FIELDS = (
    "clearance_area_ha",
    "cleared_area_ha",
    "households_total",
    "households_agreed",
    "wwtp_status",
    "wwtp_capacity_m3_day",
    "infrastructure_pct",
    "occupancy_pct",
)
# accepted in a request besides STATUS_FIELDS
EXTRA_FIELDS = ("clearance_pct", "as_of", "note")
MAX_AREA_HA = Decimal("100000")
MAX_CAPACITY_M3_DAY = Decimal("100000")
MAX_HOUSEHOLDS = Decimal("1000000")  # far above any zone, far below the int4 columns' 2,147,483,647
PERCENT = Bounds(Decimal(100), out_of_range=_l("Must be between 0 and 100 %."))
MAX_NOTE = 4000
EARLIEST_AS_OF = dt.date(2000, 1, 1)


class VersionConflict(KhgeoError):
    status = 409

    def __init__(self, zone: Zone):
        super().__init__(
            _l("Someone saved this zone after you opened it. Check the current values and redo your change.")
        )
        self.zone = zone


@dataclass
class StatusChange:
    """A validated update: the new values of the fields given, plus note and as-of date."""

    values: dict[str, Any] = field(default_factory=dict)
    as_of: dt.date | None = None
    note: str = ""


# every figure a zone holds, whoever gives it (form, API, import, seed): one range each
FIELD_BOUNDS = {
    "stated_area_ha": Bounds(MAX_AREA_HA, positive=True),
    "clearance_area_ha": Bounds(MAX_AREA_HA),
    "cleared_area_ha": Bounds(MAX_AREA_HA),
    "wwtp_capacity_m3_day": Bounds(MAX_CAPACITY_M3_DAY),
    "households_total": Bounds(MAX_HOUSEHOLDS, integer=True),
    "households_agreed": Bounds(MAX_HOUSEHOLDS, integer=True),
    "infrastructure_pct": PERCENT,
    "occupancy_pct": PERCENT,
    "clearance_pct": PERCENT,
}


def parse_number_field(raw: Any, name: str, errors: dict, locale: str | None) -> Decimal | int | None:
    """The field's value through the one bounded parser (khgeo.numbers); None when left empty."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    try:
        return parse_bounded(raw, FIELD_BOUNDS[name], locale=locale)
    except NumberError as exc:
        errors[name] = exc.message
        return None


def write_version(session: Session, zone: Zone) -> None:
    """Write the zone's changed values: its version moves by one, guarded by the version it was read at;
    VersionConflict (the session rolled back, the zone as it is now) when another write got there first."""
    zone.updated_at = clock.now()
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        session.refresh(zone)
        raise VersionConflict(zone) from None


def validate(
    zone: Zone, data: Mapping[str, Any], today: dt.date, *, locale: str | None = None
) -> StatusChange:
    """Check a request's fields; raise ValidationFailed with a message per field. Absent fields keep their value.

    ``locale`` is the language numbers were typed in ("vi": 1.234,5); None for programs (see khgeo.numbers).
    """
    errors: dict[str, Any] = {}
    change = StatusChange()
    unknown = set(data) - set(STATUS_FIELDS) - set(EXTRA_FIELDS)
    for name in sorted(unknown):
        errors[name] = _l("This field cannot be changed here.")

    values: dict[str, Any] = {}
    for name in STATUS_FIELDS:
        if name in data and name in FIELD_BOUNDS:
            values[name] = parse_number_field(data[name], name, errors, locale)
    if "wwtp_status" in data:
        status = data["wwtp_status"] or None
        if status not in (None, *WWTP_STATUSES):
            errors["wwtp_status"] = _l("Choose one of the listed statuses.")
        values["wwtp_status"] = status

    _refuse_typed_clearance(zone, data, values, errors, locale)
    area_to_clear = values.get("clearance_area_ha", zone.clearance_area_ha)
    if "clearance_pct" in data and data["clearance_pct"] not in (None, "") and "clearance_pct" not in errors:
        percent = parse_number_field(data["clearance_pct"], "clearance_pct", errors, locale)
        if percent is not None:
            _apply_percent(zone, values, percent, area_to_clear, errors)
    cleared = values.get("cleared_area_ha", zone.cleared_area_ha)
    if (
        cleared is not None
        and area_to_clear is not None
        and cleared > area_to_clear
        and "cleared_area_ha" not in errors
    ):
        errors["cleared_area_ha"] = _l(
            "The area cleared cannot exceed the area to clear (%(area)s ha).", area=area_to_clear
        )
    total = values.get("households_total", zone.households_total)
    agreed = values.get("households_agreed", zone.households_agreed)
    if total is not None and agreed is not None and agreed > total and "households_agreed" not in errors:
        errors["households_agreed"] = _l("Cannot exceed the total number of households (%(n)s).", n=total)

    if data.get("as_of") not in (None, ""):
        raw = data["as_of"]
        try:
            change.as_of = raw if isinstance(raw, dt.date) else parse_date(str(raw))
        except ValueError:
            errors["as_of"] = _l("Enter a date as dd/mm/yyyy.")
        else:
            if problem := reported_date_problem(change.as_of, today, EARLIEST_AS_OF):
                errors["as_of"] = problem
    note = str(data.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = _l("The note is too long (%(n)d characters at most).", n=MAX_NOTE)
    change.note = note
    if errors:
        raise ValidationFailed(errors)
    change.values = values
    return change


# figures that follow from the zone's parcels when it has some (khgeo.services.parcels.derive)
PARCEL_DERIVED_FIELDS = ("clearance_area_ha", "cleared_area_ha", "households_total", "households_agreed")


def _refuse_typed_clearance(
    zone: Zone, data: Mapping[str, Any], values: dict, errors: dict, locale: str | None
) -> None:
    """A zone with parcels takes its clearance figures from them: a typed value that differs is refused (the form
    shows the current ones, sent back unchanged)."""
    if not zone.clearance_from_parcels:
        return
    message = _l("This zone's site clearance follows from its parcels: update the parcels instead.")
    for name in PARCEL_DERIVED_FIELDS:
        # left empty (a form without these fields sends "") changes nothing: only a typed value is refused
        if (
            name in values
            and name not in errors
            and values[name] is not None
            and values[name] != getattr(zone, name)
        ):
            errors[name] = message
        values.pop(name, None)
    raw_pct = data.get("clearance_pct")
    if raw_pct not in (None, "") and "clearance_pct" not in errors:
        percent = parse_number_field(raw_pct, "clearance_pct", errors, locale)
        if percent is not None and (
            zone.clearance_pct is None or abs(Decimal(percent) - zone.clearance_pct) >= Decimal("0.05")
        ):
            errors["clearance_pct"] = message


def _apply_percent(zone: Zone, values: dict, percent: Decimal | int, area_to_clear, errors: dict) -> None:
    """The percent cleared is another way to give the area cleared. The form shows both filled in: whichever
    the user changed wins; if both changed they must agree (to 0.1 %)."""
    percent_changed = zone.clearance_pct is None or abs(percent - zone.clearance_pct) >= Decimal("0.05")
    cleared = values.get("cleared_area_ha")
    cleared_changed = "cleared_area_ha" in values and cleared != zone.cleared_area_ha
    if not percent_changed:
        return  # the percent shown is the current one: the area cleared (edited or not) stands
    if not area_to_clear:
        errors["clearance_pct"] = _l("Enter the area to clear first: the percentage is derived from it.")
        return
    derived = (Decimal(area_to_clear) * percent / 100).quantize(Decimal("0.01"))
    if (
        cleared_changed
        and cleared is not None
        and abs(100 * cleared / Decimal(area_to_clear) - percent) > Decimal("0.1")
    ):
        errors["clearance_pct"] = _l("The percent and the area cleared disagree: fill in only one of them.")
        return
    values["cleared_area_ha"] = derived if not cleared_changed or cleared is None else cleared


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def snapshot(zone: Zone, **fields: Any) -> ZoneUpdate:
    """A history entry holding the zone's current figures."""
    values = {name: getattr(zone, name) for name in STATUS_FIELDS}
    return ZoneUpdate(zone=zone, **values, **fields)


def find_retry(session: Session, request_id: uuid.UUID | None) -> ZoneUpdate | None:
    if request_id is None:
        return None
    return session.scalars(select(ZoneUpdate).where(ZoneUpdate.request_id == request_id)).one_or_none()


class RequestIdReused(KhgeoError):
    """A request id (the form's hidden field, the API's Idempotency-Key) already saved for another zone: a
    tampered form or a script reusing its keys. Each adapter says it in its own terms."""

    status = 400

    def __init__(self, zone_id: int):
        super().__init__(_l("Some values are not valid."))
        self.zone_id = zone_id


@dataclass
class Saved:
    """What a save did: ``entry`` is the history entry written, or the first one when ``replayed`` (a resend of a
    save that already went through, nothing written); None when nothing differed."""

    entry: ZoneUpdate | None
    replayed: bool = False


def save_update(
    session: Session,
    zone: Zone,
    *,
    request_id: uuid.UUID | None,
    expected_version: int | Callable[[], int],
    apply: Callable[[int], ZoneUpdate | None],
) -> Saved:
    """The one protocol every versioned, idempotent change of a zone follows (the field form, PATCH of the site
    status or of the zone's facts), in this order:

    1. replay: a request id already saved answers as the first time did, writing nothing — before the version
       check, which the first request itself has moved on; saved for another zone, RequestIdReused;
    2. version: ``expected_version`` (the version the client read; a callable is asked only now, so a resend is
       answered whatever it carries) must be the zone's, else VersionConflict and nothing is written;
    3. ``apply(version)`` validates (ValidationFailed, PhotoRejected) and applies the change with its history
       entry and audit event, guarded by the version (VersionConflict when a concurrent save won).

    The caller commits.
    """
    if (retry := find_retry(session, request_id)) is not None:
        if retry.zone_id != zone.id:
            raise RequestIdReused(retry.zone_id)
        return Saved(retry, replayed=True)
    version = expected_version() if callable(expected_version) else expected_version
    if version != zone.version:
        raise VersionConflict(zone)
    return Saved(apply(version))


def process_uploads(uploads: Sequence[tuple[bytes, str]]) -> list[ProcessedPhoto]:
    """Site photos (content, file name) checked and shrunk; PhotoRejected names the first refused."""
    if len(uploads) > MAX_PHOTOS_PER_UPDATE:
        raise PhotoRejected(_l("At most %(n)d photos per update.", n=MAX_PHOTOS_PER_UPDATE))
    return [process_photo(content, name) for content, name in uploads]


def save_status_update(
    session: Session,
    zone: Zone,
    user: User,
    data: Mapping[str, Any],
    *,
    expected_version: int | Callable[[], int],
    today: dt.date,
    locale: str | None = None,
    uploads: Sequence[tuple[bytes, str]] = (),
    channel: str = "web",
    request_id: uuid.UUID | None = None,
    remote_addr: str = "",
) -> Saved:
    """A field report of the site status, through the protocol of ``save_update``: photos, then the fields
    (``validate``), then ``apply_status_update``. The caller commits."""

    def apply(version: int) -> ZoneUpdate:
        photos = process_uploads(uploads)
        change = validate(zone, data, today, locale=locale)
        return apply_status_update(
            session,
            zone,
            user,
            expected_version=version,
            change=change,
            today=today,
            photos=photos,
            channel=channel,
            request_id=request_id,
            remote_addr=remote_addr,
        )

    return save_update(session, zone, request_id=request_id, expected_version=expected_version, apply=apply)


def apply_status_update(
    session: Session,
    zone: Zone,
    user: User,
    *,
    expected_version: int,
    change: StatusChange,
    today: dt.date,
    photos: Sequence[ProcessedPhoto] = (),
    channel: str = "web",
    request_id: uuid.UUID | None = None,
    remote_addr: str = "",
) -> ZoneUpdate:
    """Apply a validated change if the zone is still at ``expected_version``; append history and audit.

    The caller commits. Concurrent savers of the same version serialise on the zone row: the first wins, the
    others find the version moved (UPDATE … WHERE version = expected matches nothing) and get VersionConflict.
    """
    if zone.version != expected_version:
        raise VersionConflict(zone)
    as_of = change.as_of or today
    # a report about an earlier date goes into the history without rolling the current figures back
    is_current = zone.as_of is None or as_of >= zone.as_of
    changes = {}
    if is_current:
        for name, new in change.values.items():
            old = getattr(zone, name)
            if old != new:
                changes[name] = [_plain(old), _plain(new)]
                setattr(zone, name, new)
        if zone.as_of != as_of:
            changes["as_of"] = [_plain(zone.as_of), as_of.isoformat()]
            zone.as_of = as_of
    write_version(session, zone)
    entry = snapshot(
        zone,
        zone_version=zone.version,
        kind="status",
        user=user,
        as_of=as_of,
        note=change.note,
        source=channel,
        request_id=request_id,
        changes=changes,
    )
    if not is_current:
        # the entry records the figures for that date: those of the latest earlier entry, with what was reported;
        # its changes say what was reported (old → new as of that date), so the history shows the values
        with session.no_autoflush:
            earlier = session.scalars(
                select(ZoneUpdate)
                .where(
                    ZoneUpdate.zone_id == zone.id, ZoneUpdate.kind != "geometry", ZoneUpdate.as_of <= as_of
                )
                .order_by(ZoneUpdate.as_of.desc(), ZoneUpdate.created_at.desc(), ZoneUpdate.id.desc())
                .limit(1)
            ).first()
        reported = {}
        for name in STATUS_FIELDS:
            before = getattr(earlier, name) if earlier is not None else None
            after = change.values.get(name, before)
            setattr(entry, name, after)
            if name in change.values and before != after:
                reported[name] = [_plain(before), _plain(after)]
        entry.changes = reported
    for photo in photos:
        entry.photos.append(Photo(**photo_columns(photo)))
    session.add(entry)
    record(
        session,
        user,
        "zone.update",
        "zone",
        zone.code,
        changes,
        {
            "channel": channel,
            "version": zone.version,
            "note": change.note,
            "photos": len(photos),
            "remote_addr": remote_addr,
            "as_of": as_of.isoformat(),
        },
    )
    session.flush()
    return entry


def photo_columns(photo: ProcessedPhoto) -> dict:
    return {
        "content": photo.content,
        "thumbnail": photo.thumbnail,
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "byte_size": photo.byte_size,
        "sha256": photo.sha256,
        "original_name": photo.original_name,
        "gps_lat": photo.gps_lat,
        "gps_lon": photo.gps_lon,
        "taken_at": photo.taken_at,
    }


def get_photo(session: Session, photo_id: int) -> Photo | None:
    """A site photo by its id (None when there is none)."""
    return session.get(Photo, photo_id)


def history(session: Session, zone: Zone) -> list[ZoneUpdate]:
    """The zone's timeline, newest first."""
    query = (
        select(ZoneUpdate)
        .where(ZoneUpdate.zone_id == zone.id)
        .options(
            defer(ZoneUpdate.geom),  # each entry's outline: the timeline does not show it
            selectinload(ZoneUpdate.user),
            selectinload(ZoneUpdate.photos).load_only(
                Photo.id, Photo.width, Photo.height, Photo.gps_lat, Photo.gps_lon, Photo.original_name
            ),
        )
        .order_by(ZoneUpdate.as_of.desc().nulls_last(), ZoneUpdate.created_at.desc(), ZoneUpdate.id.desc())
    )
    return list(session.scalars(query))


def chart_series(timeline: list[ZoneUpdate]) -> dict:
    """Clearance % and infrastructure % by as-of date, oldest first, for the zone page's chart."""
    points = sorted((u for u in timeline if u.as_of is not None), key=lambda u: (u.as_of, u.created_at, u.id))
    return {
        "dates": [u.as_of.isoformat() for u in points if u.as_of is not None],  # all of them: see above
        "clearance_pct": [None if u.clearance_pct is None else float(u.clearance_pct) for u in points],
        "infrastructure_pct": [
            None if u.infrastructure_pct is None else float(u.infrastructure_pct) for u in points
        ],
    }
