"""THE resolver for "which administrative unit is this text?", for both periods.

A unit is named by its code ("07795", "222"), its name ("Nếnh"), or its name with its type ("Phường Nếnh",
"xã Quang Châu", "huyện Việt Yên", "TP Bắc Giang"), diacritics and case ignored. A type written before the name
decides between units of the same name; without one, today's (2025) unit wins over a 2022 one of the same name
or code (a 2025 unit keeps the code of one of the units that formed it). Two units left that lead to different
units today ("Đồng Tiến": a 2022 commune of Yên Thế, and the name Thanh Vân of Hiệp Hòa had by 2025) → BadRequest
listing the candidates with their codes and districts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from khgeo.errors import BadRequest
from khgeo.models import AdminUnit
from khgeo.text import fold

# unit-type prefixes as people write them, folded: full words and the usual abbreviations
_PREFIX = re.compile(r"^(tinh|thanh pho|thi xa|huyen|quan|phuong|xa|thi tran|tp|tx|tt|h|p|x)\.?\s+(?=\S)")
_ABBREVIATIONS = {"tp": "thanh pho", "tx": "thi xa", "tt": "thi tran", "h": "huyen", "p": "phuong", "x": "xa"}


def _typed(folded: str) -> str | None:
    """The text with its abbreviated type written out ("tp bac giang" → "thanh pho bac giang"); None untyped."""
    match = _PREFIX.match(folded)
    if not match:
        return None
    prefix = match.group(1)
    return f"{_ABBREVIATIONS.get(prefix, prefix)} {folded[match.end() :]}"


def _untyped(folded: str) -> str:
    return _PREFIX.sub("", folded)


def _later(unit) -> set[str]:
    """The names a 2022 commune had later under its code, folded and without their type."""
    return {_untyped(fold(name)) for name in getattr(unit, "later_names", None) or ()}


def candidates(units: Iterable, raw: str) -> list:
    """Every unit ``raw`` may name (before choosing between periods). ``units``: AdminUnit rows, or anything with
    their code, name, full_name and unit_type (the 2022 District rows: admin_units.match_district)."""
    folded = fold(str(raw)).strip(" ,.")
    if not folded:
        return []
    units = list(units)
    by_code = [u for u in units if u.code == folded]
    if by_code:
        return by_code
    typed = _typed(folded)
    if typed is not None:
        exact = [
            u
            for u in units
            if typed
            in {
                fold(u.full_name),
                fold(f"{u.unit_type} {u.name}"),
                *map(fold, getattr(u, "later_names", None) or ()),
            }
        ]
        if exact:
            return exact
    # the text as a name: "Phượng Sơn" is a name, not the ward ("phường") "Sơn"
    direct = [u for u in units if folded in {fold(u.name), fold(u.full_name), *_later(u)}]
    if direct:
        return direct
    bare = _untyped(folded)
    return [u for u in units if bare == fold(u.name) or folded == fold(u.full_name) or bare in _later(u)]


def today_ids(unit: AdminUnit) -> frozenset[int]:
    """The 2025 communes and wards a unit of either period means today: itself; a 2025 province its communes; a
    2022 commune its successors; a 2022 district or province the successors of the communes it had."""
    if unit.period == "2025":
        return frozenset(c.id for c in unit.children) if unit.level == "province" else frozenset({unit.id})
    if unit.level == "commune":
        return frozenset(s.id for s in unit.successors)
    return frozenset().union(*(today_ids(child) for child in unit.children))


def describe(unit: AdminUnit) -> str:
    """ "Xã Đồng Tiến (07816, Huyện Hiệp Hòa, 2022)": a candidate as an error message lists it."""
    where = [unit.code]
    if unit.parent is not None and unit.parent.level == "district":
        where.append(unit.parent.full_name)
    where.append(unit.period)
    later = "".join(f" / {name}" for name in unit.later_names or ())
    return f"{unit.full_name}{later} ({', '.join(where)})"


def choose(found: list[AdminUnit], raw: str) -> AdminUnit:
    if not found:
        raise BadRequest(_l("Unknown administrative unit %(value)s", value=raw), field="unit")
    current = [u for u in found if u.period == "2025"]
    if len(current) == 1:
        return current[0]
    if len(current) > 1:
        found = current
    if len(found) == 1 or len({today_ids(u) for u in found}) == 1:
        return found[0]
    raise BadRequest(
        _l(
            "%(value)s names several administrative units: %(candidates)s. Give the code or the district.",
            value=raw,
            candidates="; ".join(describe(u) for u in sorted(found, key=lambda u: u.code)),
        ),
        field="unit",
    )


def all_units(session: Session) -> list[AdminUnit]:
    query = select(AdminUnit).options(
        selectinload(AdminUnit.parent), selectinload(AdminUnit.children), selectinload(AdminUnit.successors)
    )
    return list(session.scalars(query.order_by(AdminUnit.period.desc(), AdminUnit.level, AdminUnit.code)))


def resolve_unit(session: Session, raw: str) -> AdminUnit:
    """The unit ``raw`` names; BadRequest naming it when none, or listing the candidates when several."""
    text = str(raw).strip()
    # "Đồng Tiến, Hiệp Hòa" or "xã Đồng Tiến (huyện Hiệp Hòa)": a district after the name narrows the choice
    qualified = re.match(r"^(?P<name>[^,(]+?)\s*[,(]\s*(?P<parent>[^)]+?)\s*\)?$", text)
    units = all_units(session)
    if qualified:
        found = candidates(units, qualified["name"])
        parents = candidates([u for u in units if u.level == "district"], qualified["parent"])
        narrowed = [u for u in found if u.parent in parents]
        if narrowed:
            return choose(narrowed, raw)
    return choose(candidates(units, text), raw)


def resolve_today_ids(session: Session, raw: str) -> tuple[AdminUnit, frozenset[int]]:
    """The unit ``raw`` names and the 2025 unit ids it means today (see today_ids)."""
    unit = resolve_unit(session, raw)
    return unit, today_ids(unit)
