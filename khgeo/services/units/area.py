"""THE area-of-responsibility check: may this account act on this zone's ground?

An account's area is the union of
- its districts as they were scoped before units existed (``user_districts``): the zones the plan places in them
  (zone.district_id), exactly the reach those accounts always had, so no migrated account gains or loses a zone;
- its units of either period (``user_units``), each meaning the 2025 communes/wards it covers today
  (khgeo.services.units.resolve.today_ids: a 2022 district → the 2025 units now covering it): the zones lying today
  in one of those units (zone_units, kept by the database from the outline or the crosswalk).
Every channel asks this module through khgeo.services.authz (form, API, geometry, import, exports of personal
data); nothing else decides.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select
from sqlalchemy.orm import object_session
from sqlalchemy.sql.elements import ColumnElement

from khgeo.models import User, Zone, user_districts, zone_units
from khgeo.services.units.resolve import today_ids


def unit_ids_today(user: User) -> frozenset[int]:
    """The 2025 units the account's units mean today (kept on the loaded account: a page asks for every zone)."""
    ids = getattr(user, "_khgeo_unit_ids_today", None)
    if ids is None:
        ids = frozenset().union(*(today_ids(unit) for unit in user.units))
        setattr(user, "_khgeo_unit_ids_today", ids)  # noqa: B010 (a cache on the loaded account, not a column)
    return ids


def in_area(user: User, zone: Zone) -> bool:
    """Whether ``zone`` lies in the account's area (see the module's docstring): ``zones_in_area``, the one rule,
    asked once per loaded account for the ids of all its zones (a page listing every zone costs one query; an
    account no longer attached to a session has no area: refused, never guessed)."""
    ids = getattr(user, "_khgeo_area_zone_ids", None)
    if ids is None:
        session = object_session(user)
        ids = (
            frozenset(session.scalars(select(Zone.id).where(zones_in_area(user)))) if session else frozenset()
        )
        setattr(user, "_khgeo_area_zone_ids", ids)  # noqa: B010 (a cache on the loaded account, not a column)
    return zone.id in ids


def has_area(user: User) -> bool:
    return bool(user.districts) or bool(user.units)


def zones_in_area(user: User) -> ColumnElement[bool]:
    """in_area as a condition on zones, for queries (a list or an export of what the account answers for)."""
    conditions = []
    if user.districts:
        conditions.append(
            Zone.district_id.in_(
                select(user_districts.c.district_id).where(user_districts.c.user_id == user.id)
            )
        )
    ids = unit_ids_today(user)
    if ids:
        conditions.append(Zone.id.in_(select(zone_units.c.zone_id).where(zone_units.c.unit_id.in_(ids))))
    return or_(*conditions) if conditions else false()
