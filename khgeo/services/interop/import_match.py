"""Matching an import's features to zones (code, then name, then outline) and turning their values into changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from khgeo.errors import ValidationFailed
from khgeo.geo.crs import METRIC_SRID
from khgeo.models import WWTP_STATUSES, District, Zone
from khgeo.services.geometry import (
    PLAUSIBLE_AREA_RATIO,
)
from khgeo.services.interop.field_names import (
    WWTP_LABELS_VI,
)
from khgeo.services.interop.import_types import (
    DB_BATCH,
    DECIMALS,
    FACT_FIELDS,
    SAME_OUTLINE_M,
    FeaturePlan,
    plain_json,
)
from khgeo.services.updates import STATUS_FIELDS, validate
from khgeo.services.zone_info import (
    CODE_PATTERN,
    InfoLookups,
    coded_choice,
    new_zone_code,
    split_kind_prefix,
    validate_info,
    zone_kind,
)
from khgeo.text import fold


# -- matching and values ----------------------------------------------------------------------------------------
@dataclass
class _Index:
    by_code: dict[str, Zone]
    by_name: dict[str, list[Zone]]
    by_alias: dict[str, list[Zone]]
    districts: dict[str, District]  # GSO code → district
    district_names: dict[str, str]  # folded name or full name → GSO code
    codes: set[str]


def _index(session: Session) -> _Index:
    zones = list(session.scalars(select(Zone).order_by(Zone.code)))
    districts = list(session.scalars(select(District)))
    by_name: dict[str, list[Zone]] = {}
    by_alias: dict[str, list[Zone]] = {}
    for zone in zones:
        by_name.setdefault(fold(zone.name), []).append(zone)
        for alias in zone.aliases or []:
            by_alias.setdefault(fold(alias), []).append(zone)
    names = {}
    for district in districts:
        names[fold(district.name)] = district.code
        names[fold(district.full_name)] = district.code
    return _Index(
        by_code={z.code: z for z in zones},
        by_name=by_name,
        by_alias=by_alias,
        districts={d.code: d for d in districts},
        district_names=names,
        codes={z.code for z in zones},
    )


def _as_date(raw: Any) -> Any:
    return raw.date() if isinstance(raw, dt.datetime) else raw


def _lookups(index: _Index) -> InfoLookups:
    return InfoLookups(
        districts=tuple(index.districts.values()),
        agencies={},  # a file does not set the managing body
        agency_names={},
        codes=frozenset(),  # a file's codes are checked by _plan_create (created ones only)
    )


def _parse_values(feature: FeaturePlan, zone: Zone | None, index: _Index, today: dt.date) -> dict[str, Any]:
    """The given values as zone attributes (district → district_id), or reasons on the feature."""
    given = feature.given
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    # the zone's facts: the same check as the admin's form and the API (khgeo.services.zone_info)
    facts = {name: given[name] for name in FACT_FIELDS if name in given}
    try:
        values.update(validate_info(facts, _lookups(index), zone=zone))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if values.get("operating_status", "") is None:
        del values["operating_status"]  # "unknown" in a file leaves the status as it is, as before
    if "wwtp_status" in given:
        understood, status = coded_choice(given["wwtp_status"], WWTP_STATUSES, WWTP_LABELS_VI)
        if not understood:
            errors["wwtp_status"] = _l(
                "Unknown wastewater status %(value)s: use one of %(allowed)s.",
                value=given["wwtp_status"],
                allowed=", ".join(WWTP_STATUSES),
            )
        elif status is not None:
            values["wwtp_status"] = status
    status_data = {name: given[name] for name in STATUS_FIELDS if name in given and name != "wwtp_status"}
    if "wwtp_status" in values:
        status_data["wwtp_status"] = values["wwtp_status"]
    if "as_of" in given:
        status_data["as_of"] = _as_date(given["as_of"])
    try:
        change = validate(zone or Zone(), status_data, today)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    else:
        values.update(change.values)
        if change.as_of is not None:
            values["as_of"] = change.as_of
    for name, digits in DECIMALS.items():
        if values.get(name) is not None:
            values[name] = Decimal(values[name]).quantize(Decimal(1).scaleb(-digits))
    for name, message in errors.items():
        feature.reject(_l("%(field)s: %(message)s", field=name, message=message))
    return values


def _match(feature: FeaturePlan, index: _Index, claimed: dict[int, int]) -> Zone | None:
    given = feature.given
    zone = None
    if "code" in given:
        code = str(given["code"]).strip()
        zone = index.by_code.get(code) or index.by_code.get(code.lower())
        if zone is not None:
            feature.matched_by = "code"
        elif "name" in given:
            feature.warnings.append(_l("No zone has the code %(code)s: matched by name instead.", code=code))
    if zone is None and "name" in given:
        prefix_kind, name = split_kind_prefix(str(given["name"]))
        kind = zone_kind(given["kind"]) if "kind" in given else prefix_kind
        for how, table in (("name", index.by_name), ("alias", index.by_alias)):
            candidates = [z for z in table.get(fold(name), []) if kind is None or z.kind == kind]
            if len(candidates) > 1:
                feature.reject(
                    _l(
                        "The name %(name)s matches several zones (%(codes)s): add a code or kind column.",
                        name=name,
                        codes=", ".join(z.code for z in candidates),
                    )
                )
                return None
            if candidates:
                zone, feature.matched_by = candidates[0], how
                break
    if zone is not None:
        if zone.id in claimed:
            feature.reject(
                _l(
                    "Zone %(code)s is already imported from feature %(n)d.",
                    code=zone.code,
                    n=claimed[zone.id],
                )
            )
            return None
        claimed[zone.id] = feature.number
    return zone


def match_and_diff(session: Session, features: list[FeaturePlan], today: dt.date) -> None:
    index = _index(session)
    claimed: dict[int, int] = {}
    for feature in features:
        if feature.reasons:
            continue
        zone = _match(feature, index, claimed)
        if feature.reasons:
            continue
        values = _parse_values(feature, zone, index, today)
        if feature.reasons:
            continue
        if any(name in STATUS_FIELDS for name in values) and "as_of" not in values:
            values["as_of"] = today  # new figures with no date describe today, as a field update does
        if zone is None:
            _plan_create(feature, values, index)
        else:
            _plan_update(feature, zone, values, index)


def _plan_create(feature: FeaturePlan, values: dict[str, Any], index: _Index) -> None:
    prefix_kind = split_kind_prefix(str(feature.given.get("name", "")))[0]
    kind = values.get("kind") or prefix_kind
    name = values.get("name")
    if not name or not kind:
        feature.reject(_l("No zone matches, and a new zone needs at least a name and a kind (KCN or CCN)."))
        return
    values["kind"] = kind
    code = str(feature.given.get("code", "")).strip()
    if code:
        if not CODE_PATTERN.match(code):
            feature.reject(
                _l("The code %(code)s is not valid: use lower-case letters, digits and hyphens.", code=code)
            )
            return
        if code in index.codes:
            feature.reject(_l("The code %(code)s appears twice in the file.", code=code))
            return
    else:
        code = new_zone_code(kind, name, index.codes)
    index.codes.add(code)
    if "district_id" not in values and feature.district_code:
        values["district_id"] = index.districts[feature.district_code].id
    feature.action, feature.code = "create", code
    feature.values = values
    district_names = {d.id: d.name for d in index.districts.values()}
    for name_, value in values.items():
        if name_ == "district_id":
            feature.changes["district"] = [None, district_names[value]]
        else:
            feature.changes[name_] = [None, plain_json(value)]
    if feature.geometry is not None and not feature.is_point:
        feature.changes["geometry"] = [None, feature.area_ha]
        feature.changes["geometry_source"] = [None, "imported"]
        _area_warning(feature, values.get("stated_area_ha"))


def _plan_update(feature: FeaturePlan, zone: Zone, values: dict[str, Any], index: _Index) -> None:
    feature.code, feature.zone_id, feature.zone_version = zone.code, zone.id, zone.version
    district_names = {d.id: d.name for d in index.districts.values()}
    if feature.matched_by != "code" or fold(values.get("name", zone.name)) == fold(zone.name):
        values.pop("name", None)  # the name was the key, or differs only in diacritics: keep the stored one
    changed: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(zone, name)
        if name in ("aliases", "communes"):
            old = list(old or [])
        if old != new:
            changed[name] = new
            if name == "district_id":
                feature.changes["district"] = [district_names.get(old), district_names[new]]
            else:
                feature.changes[name] = [plain_json(old), plain_json(new)]
    status_changed = any(name in STATUS_FIELDS for name in changed)
    if not status_changed and "as_of" in changed and "as_of" not in feature.given:
        del changed["as_of"], feature.changes["as_of"]  # today's date only goes with new figures
    if "as_of" in changed and zone.as_of is not None and values["as_of"] < zone.as_of and status_changed:
        feature.reject(
            _l(
                "The figures are as of %(date)s, older than the zone's (%(current)s): remove them or update the date.",
                date=values["as_of"].strftime("%d/%m/%Y"),
                current=zone.as_of.strftime("%d/%m/%Y"),
            )
        )
        return
    feature.values = changed
    if feature.geometry is not None and not feature.is_point:
        _area_warning(feature, values.get("stated_area_ha", zone.stated_area_ha))
    feature.action = "update" if feature.changes else "unchanged"


def _area_warning(feature: FeaturePlan, stated_area_ha: Decimal | None) -> None:
    if not stated_area_ha or feature.area_ha is None:
        return
    ratio = feature.area_ha / float(stated_area_ha)
    low, high = PLAUSIBLE_AREA_RATIO
    if not low <= ratio <= high:
        feature.warnings.append(
            _l(
                "The outline measures %(area).1f ha but the stated area is %(stated).1f ha: check that it is the right one.",
                area=feature.area_ha,
                stated=float(stated_area_ha),
            )
        )


def compare_outlines(session: Session, features: list[FeaturePlan]) -> None:
    """An outline within SAME_OUTLINE_M of the stored one is unchanged; otherwise the area change is planned."""
    candidates = [
        f for f in features if f.action in ("update", "unchanged") and f.outline_wkb is not None and f.zone_id
    ]
    query = text(
        """
        SELECT t.n, z.computed_area_ha,
               ST_HausdorffDistance(ST_Transform(z.geom, :metric), ST_Transform(ST_GeomFromWKB(t.w, 4326), :metric))
        FROM unnest(CAST(:ns AS int[]), CAST(:ids AS int[]), CAST(:ws AS bytea[])) AS t(n, id, w)
        JOIN zones z ON z.id = t.id
        """
    )
    by_number = {f.number: f for f in candidates}
    for start in range(0, len(candidates), DB_BATCH):
        batch = candidates[start : start + DB_BATCH]
        rows = session.execute(
            query,
            {
                "ns": [f.number for f in batch],
                "ids": [f.zone_id for f in batch],
                "ws": [f.outline_wkb for f in batch],
                "metric": METRIC_SRID,
            },
        ).all()
        for number, old_area, distance in rows:
            feature = by_number[number]
            if distance is not None and distance <= SAME_OUTLINE_M:
                feature.outline_wkb = None
                continue
            zone_source = session.get_one(Zone, feature.zone_id).geometry_source
            feature.changes["geometry"] = [None if old_area is None else round(old_area, 2), feature.area_ha]
            if zone_source != "imported":
                feature.changes["geometry_source"] = [zone_source, "imported"]
            feature.action = "update"
    for feature in features:
        if (
            feature.action in ("update", "unchanged")
            and feature.zone_id
            and "geometry" not in feature.changes
        ):
            feature.outline_wkb = None
            feature.action = "update" if feature.changes else "unchanged"
