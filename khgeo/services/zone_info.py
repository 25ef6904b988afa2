"""A zone's facts, edited by admins: name, kind, code, aliases, developer, managing body, operating status,
stated area, district, communes, notes, the sources of each fact, and whether the zone is still monitored.

``validate_info`` is the one check of these values: the "Sửa thông tin khu" form, PATCH and POST /api/zones and
file imports (khgeo.services.interop.import_plan) all call it, so they accept the same values with the same messages. Site
status figures are checked by khgeo.services.updates.validate. A change is applied like a status update: only
if the zone is still at the version the admin read (else VersionConflict, nothing written), with a history entry
(ZoneUpdate kind "info") and an audit event in the same transaction.

A retired zone leaves every listing (khgeo.services.zones.monitored) but keeps its page and history; an admin
restores it the same way (``retired``: false).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from khgeo import clock
from khgeo.errors import ValidationFailed
from khgeo.models import OPERATING_STATUSES, Agency, District, User, Zone, ZoneUpdate
from khgeo.services.admin_units import match_district
from khgeo.services.audit import record
from khgeo.services.interop.field_names import OPERATING_LABELS_VI
from khgeo.services.updates import (
    MAX_NOTE,
    Saved,
    VersionConflict,
    parse_number_field,
    save_update,
    snapshot,
    write_version,
)
from khgeo.text import fold, slugify

# What an admin edits besides the site status: the zone's facts (the "Sửa thông tin khu" form, PATCH and POST
# /api/zones, and file imports all check them with validate_info). Field staff may not change these.
INFO_FIELDS = (
    "code",
    "name",
    "kind",
    "aliases",
    "developer",
    "managing_agency",
    "operating_status",
    "stated_area_ha",
    "district",
    "communes",
    "notes",
    "sources",
    "retired",
)
# the facts a source can be cited for (keys of Zone.sources; the district is cited as "district_code")
SOURCE_FIELDS = (
    "name",
    "aliases",
    "kind",
    "developer",
    "managing_agency",
    "operating_status",
    "stated_area_ha",
    "district_code",
    "communes",
    "notes",
)
MAX_TEXT = {"name": 200, "developer": 500, "code": 60, "notes": MAX_NOTE}
MAX_STATED_AREA_HA = Decimal("100000")
MAX_LIST_ITEMS = 50  # aliases, communes
MAX_LIST_ITEM = 200
MAX_CITATION = 500
MAX_CITATIONS = 10
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
KIND_NAMES = {
    "kcn": "KCN",
    "khu cong nghiep": "KCN",
    "industrial zone": "KCN",
    "ccn": "CCN",
    "cum cong nghiep": "CCN",
    "industrial cluster": "CCN",
}


# -- the zone's facts (admins) -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InfoLookups:
    """What checking a zone's facts needs to know from the database: districts, agencies, codes in use."""

    districts: tuple[District, ...]  # matched by khgeo.services.admin_units.match_district, the one rule
    agencies: dict[str, int]  # code → id
    agency_names: dict[str, str]  # folded name or code → agency code
    codes: frozenset[str]  # zone codes in use


def info_lookups(session: Session) -> InfoLookups:
    districts = list(session.scalars(select(District)))
    agencies = list(session.scalars(select(Agency)))
    agency_names = {fold(a.name): a.code for a in agencies} | {fold(a.code): a.code for a in agencies}
    return InfoLookups(
        districts=tuple(districts),
        agencies={a.code: a.id for a in agencies},
        agency_names=agency_names,
        codes=frozenset(session.scalars(select(Zone.code))),
    )


def split_kind_prefix(name: str) -> tuple[str | None, str]:
    """ "Cụm công nghiệp Đồng Đình" → ("CCN", "Đồng Đình"); "KCN Vân Trung" → ("KCN", "Vân Trung")."""
    folded = fold(name)
    for prefix, kind in KIND_NAMES.items():
        if folded.startswith(prefix + " "):
            return kind, " ".join(name.split()[len(prefix.split()) :])
    return None, " ".join(name.split())


def zone_kind(raw: Any) -> str | None:
    """KCN or CCN from the code or its name ("Khu công nghiệp", "industrial cluster"); None if neither."""
    return KIND_NAMES.get(fold(str(raw)).strip())


def text_list(raw: Any) -> list[str]:
    """Aliases or communes: a list, or one text separated by ";", "|" or new lines."""
    items = raw if isinstance(raw, list) else re.split(r"[;|\n]", str(raw))
    return [" ".join(str(item).split()) for item in items if str(item).strip()]


def coded_choice(raw: Any, keys: tuple[str, ...], labels: dict[str, str]) -> tuple[bool, str | None]:
    """(understood, value) for a stored code given as the code itself or its Vietnamese/English label."""
    folded = fold(str(raw))
    if folded in ("unknown", "chua ro", ""):
        return True, None
    for key in keys:
        if folded in (key, fold(key.replace("_", " ")), fold(labels.get(key, ""))):
            return True, key
    if folded == "no central plant" and "none" in keys:
        return True, "none"
    return False, None


def new_zone_code(kind: str, name: str, codes_in_use: frozenset[str] | set[str]) -> str:
    """A free code made of the kind and the name: "ccn-dong-dinh", then "ccn-dong-dinh-2"."""
    base = f"{kind.lower()}-{slugify(name)}"[:56]
    code, suffix = base, 2
    while code in codes_in_use:
        code, suffix = f"{base}-{suffix}", suffix + 1
    return code


def validate_info(
    data: Mapping[str, Any],
    lookups: InfoLookups,
    *,
    zone: Zone | None = None,
    creating: bool = False,
    locale: str | None = None,
) -> dict[str, Any]:
    """Check a zone's facts; the values as Zone attributes (district → district_id, managing_agency →
    managing_agency_id, sources merged into the zone's, retired → bool). Absent fields keep their value.

    ``creating``: a new zone, which needs a name and a kind. ``locale``: the language numbers were typed in
    (khgeo.numbers; None for programs and files). ``code`` is checked when given (format, unused).
    Raises ValidationFailed with a message per field.
    """
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = split_kind_prefix(str(data["name"] or ""))[1]
        if not values["name"]:
            errors["name"] = _l("Enter the zone's name.")
    elif creating:
        errors["name"] = _l("Enter the zone's name.")
    if "kind" in data:
        values["kind"] = zone_kind(data["kind"] or "")
        if not data["kind"]:
            errors["kind"] = _l("Choose KCN or CCN.")
        elif values["kind"] is None:
            errors["kind"] = _l("%(value)s is not a zone kind: use KCN or CCN.", value=data["kind"])
    elif creating:
        errors["kind"] = _l("Choose KCN or CCN.")
    for name in ("aliases", "communes"):
        if name in data:
            values[name] = text_list(data[name] or [])
            if len(values[name]) > MAX_LIST_ITEMS or any(len(item) > MAX_LIST_ITEM for item in values[name]):
                errors[name] = _l(
                    "At most %(n)d names of at most %(length)d characters each.",
                    n=MAX_LIST_ITEMS,
                    length=MAX_LIST_ITEM,
                )
    if "developer" in data:
        values["developer"] = " ".join(str(data["developer"] or "").split())
    if "notes" in data:
        values["notes"] = str(data["notes"] or "").strip()
    if data.get("code") not in (None, ""):
        code = str(data["code"]).strip()
        if not CODE_PATTERN.match(code):
            errors["code"] = _l(
                "The code %(code)s is not valid: use lower-case letters, digits and hyphens.", code=code
            )
        elif code in lookups.codes and (zone is None or code != zone.code):
            errors["code"] = _l("The code %(code)s is already used by another zone.", code=code)
        values["code"] = code
    for name, limit in MAX_TEXT.items():
        if len(str(values.get(name, ""))) > limit:
            errors[name] = _l("Too long (%(n)d characters at most).", n=limit)
    if "district" in data:
        raw = data["district"]
        raw = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw or "").strip()
        district = match_district(list(lookups.districts), raw)
        if not raw:
            values["district_id"] = None
        elif district is None:
            errors["district"] = _l("Unknown district %(value)s.", value=raw)
        else:
            values["district_id"] = district.id
    if "managing_agency" in data:
        raw = str(data["managing_agency"] or "").strip()
        agency_code = lookups.agency_names.get(fold(raw))
        if not raw:
            values["managing_agency_id"] = None
        elif agency_code is None:
            errors["managing_agency"] = _l("Unknown agency %(value)s", value=raw)
        else:
            values["managing_agency_id"] = lookups.agencies[agency_code]
    if "stated_area_ha" in data:
        number_errors: dict[str, Any] = {}
        area = parse_number_field(data["stated_area_ha"], "stated_area_ha", number_errors, locale)
        if number_errors or (area is not None and not 0 < area <= MAX_STATED_AREA_HA):
            errors["stated_area_ha"] = _l("The stated area must be a number of hectares above 0.")
        else:
            values["stated_area_ha"] = None if area is None else Decimal(area).quantize(Decimal("0.01"))
    if "operating_status" in data:
        understood, status = coded_choice(
            data["operating_status"] or "", OPERATING_STATUSES, OPERATING_LABELS_VI
        )
        if not understood:
            errors["operating_status"] = _l(
                "Unknown operating status %(value)s: use one of %(allowed)s.",
                value=data["operating_status"],
                allowed=", ".join(OPERATING_STATUSES),
            )
        values["operating_status"] = status
    if "sources" in data:
        values["sources"] = _sources(data["sources"], zone, errors)
    if "retired" in data:
        if not isinstance(data["retired"], bool):
            errors["retired"] = _l("Use true or false.")
        values["retired"] = data["retired"] is True
    if errors:
        raise ValidationFailed(errors)
    return values


def _sources(raw: Any, zone: Zone | None, errors: dict) -> dict[str, list[str]]:
    """{fact: [source key or citation text/URL]} merged into the zone's; an empty list drops the fact's."""
    merged = {name: list(keys) for name, keys in ((zone.sources if zone else None) or {}).items()}
    if not isinstance(raw, Mapping):
        errors["sources"] = _l("Give the sources as {fact: [source, …]}.")
        return merged
    for name, given in raw.items():
        if name not in SOURCE_FIELDS:
            errors[f"sources.{name}"] = _l("This field cannot be changed here.")
            continue
        entries = (
            text_list(given or [])
            if not isinstance(given, list)
            else [" ".join(str(e).split()) for e in given]
        )
        entries = [entry for entry in entries if entry]
        if len(entries) > MAX_CITATIONS or any(len(entry) > MAX_CITATION for entry in entries):
            errors[f"sources.{name}"] = _l(
                "At most %(n)d sources per fact, each a key from the list or a citation of at most "
                "%(chars)d characters.",
                n=MAX_CITATIONS,
                chars=MAX_CITATION,
            )
        elif entries:
            merged[name] = list(dict.fromkeys(entries))
        else:
            merged.pop(name, None)
    return merged


# -- applying --------------------------------------------------------------------------------------------------
def _shown(session: Session, name: str, value: Any) -> tuple[str, Any]:
    """A changed attribute as the history shows it: ids become names, numbers plain JSON values."""
    if name == "district_id":
        return "district", session.get_one(District, value).name if value is not None else None
    if name == "managing_agency_id":
        return "managing_agency", session.get_one(Agency, value).name if value is not None else None
    if isinstance(value, Decimal):
        return name, float(value)
    return name, value


def _current(zone: Zone, name: str) -> Any:
    if name == "retired":
        return zone.retired_at is not None
    value = getattr(zone, name)
    if name in ("aliases", "communes"):
        return list(value or [])
    if name == "sources":
        return dict(value or {})
    return value


def _set(zone: Zone, name: str, value: Any, user: User | None) -> None:
    if name == "retired":
        zone.retired_at = clock.now() if value else None
        zone.retired_by_id = user.id if value and user else None
    else:
        setattr(zone, name, value)


def _action(changes: dict) -> str:
    if "retired" in changes:
        return "zone.retire" if changes["retired"][1] else "zone.restore"
    return "zone.edit"


def apply_info_update(
    session: Session,
    zone: Zone,
    user: User,
    *,
    expected_version: int,
    values: dict[str, Any],
    note: str = "",
    channel: str = "web",
    request_id: uuid.UUID | None = None,
    remote_addr: str = "",
) -> ZoneUpdate | None:
    """Apply validated facts (``validate_info``) if the zone is still at ``expected_version``; append a history
    entry and an audit event. None when nothing differs (nothing is written). The caller commits."""
    if zone.version != expected_version:
        raise VersionConflict(zone)
    previous_code = zone.code
    changes: dict[str, list] = {}
    for name, new in values.items():
        old = _current(zone, name)
        if old == new:
            continue
        shown, old_shown = _shown(session, name, old)
        changes[shown] = [old_shown, _shown(session, name, new)[1]]
        _set(zone, name, new, user)
    if not changes:
        return None
    write_version(session, zone)
    entry = snapshot(
        zone,
        zone_version=zone.version,
        kind="info",
        user=user,
        as_of=zone.as_of,
        note=note[:MAX_NOTE],
        source=channel,
        request_id=request_id,
        changes=changes,
    )
    session.add(entry)
    context = {"channel": channel, "version": zone.version, "note": note, "remote_addr": remote_addr}
    if zone.code != previous_code:
        context["previous_code"] = previous_code
    record(session, user, _action(changes), "zone", zone.code, changes, context)
    session.flush()
    return entry


def save_info_update(
    session: Session,
    zone: Zone,
    user: User,
    facts: Mapping[str, Any],
    *,
    expected_version: int | Callable[[], int],
    note: str = "",
    locale: str | None = None,
    channel: str = "web",
    request_id: uuid.UUID | None = None,
    remote_addr: str = "",
) -> Saved:
    """An admin's change of the zone's facts through the protocol of ``updates.save_update`` (replay, version,
    then ``validate_info`` and ``apply_info_update``); ``Saved.entry`` is None when nothing differed. A request
    that also names site-status fields is refused: those go through ``updates.save_status_update``. The caller
    commits."""

    def apply(version: int) -> ZoneUpdate | None:
        mixed = set(facts) - set(INFO_FIELDS)
        if mixed:
            raise ValidationFailed(
                {
                    name: _l("Change the site status and the zone's information in separate requests.")
                    for name in sorted(mixed)
                }
            )
        values = validate_info(facts, info_lookups(session), zone=zone, locale=locale)
        return apply_info_update(
            session,
            zone,
            user,
            expected_version=version,
            values=values,
            note=note,
            channel=channel,
            request_id=request_id,
            remote_addr=remote_addr,
        )

    return save_update(session, zone, request_id=request_id, expected_version=expected_version, apply=apply)


def create_zone(
    session: Session,
    user: User,
    values: dict[str, Any],
    lookups: InfoLookups,
    *,
    note: str = "",
    channel: str = "web",
    remote_addr: str = "",
) -> Zone:
    """A new zone from validated facts (``validate_info(..., creating=True)``), its first history entry and an
    audit event. Without a code, one is made from the kind and the name. The caller commits."""
    values = dict(values)
    values.pop("retired", None)
    code = values.pop("code", None) or new_zone_code(values["kind"], values["name"], lookups.codes)
    zone = Zone(code=code, aliases=[], communes=[], sources={}, developer="", notes="")
    session.add(zone)
    changes: dict[str, list] = {"code": [None, code]}
    for name, new in values.items():
        setattr(zone, name, new)
        if new not in (None, "", [], {}):
            shown, new_shown = _shown(session, name, new)
            changes[shown] = [None, new_shown]
    zone.updated_at = clock.now()
    try:
        with session.begin_nested():  # another admin took the code meanwhile: a message, not a 500
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            {"code": _l("The code %(code)s is already used by another zone.", code=code)}
        ) from None
    session.add(
        snapshot(
            zone,
            zone_version=zone.version,
            kind="info",
            user=user,
            as_of=None,
            note=note[:MAX_NOTE],
            source=channel,
            changes=changes,
        )
    )
    record(
        session,
        user,
        "zone.create",
        "zone",
        zone.code,
        changes,
        {"channel": channel, "version": zone.version, "note": note, "remote_addr": remote_addr},
    )
    session.flush()
    return zone


def retired_zones(session: Session) -> list[Zone]:
    """Zones no longer monitored, most recently retired first (for admins to restore)."""
    query = (
        select(Zone)
        .where(Zone.retired_at.is_not(None))
        .options(defer(Zone.geom))
        .order_by(Zone.retired_at.desc(), Zone.code)
    )
    return list(session.scalars(query))
