"""The shapes of an import: the plan of exactly what would change (ImportPlan of FeaturePlans), its constants, and
the error when the data changed between preview and apply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from shapely.geometry.base import BaseGeometry

from khgeo.errors import KhgeoError

# the history note of an imported feature: stored in this fixed form, shown in the reader's language
# (parse_import_note + the zone page)
IMPORT_NOTE = "Import of {file}, feature {number}"
_IMPORT_NOTE = re.compile(r"^Import of (?P<file>.*), feature (?P<number>\d+)$", re.S)


def parse_import_note(note: str) -> tuple[str, int] | None:
    """(file name, feature number) of an import's history note; None for any other note."""
    match = _IMPORT_NOTE.match(note or "")
    return (match["file"], int(match["number"])) if match else None


# Two outlines closer than this everywhere (Hausdorff distance, metres) are the same outline: a GeoJSON export
# rounds coordinates to 6 decimals (≤ 0.08 m in Bắc Giang), so an exported file re-imports as "unchanged".
SAME_OUTLINE_M = 0.15
DB_BATCH = 500
DECIMALS = {
    "stated_area_ha": 2,
    "clearance_area_ha": 2,
    "cleared_area_ha": 2,
    "wwtp_capacity_m3_day": 1,
    "infrastructure_pct": 2,
    "occupancy_pct": 2,
}
# the zone's facts a file can set, checked by khgeo.services.zone_info.validate_info
FACT_FIELDS = (
    "name",
    "kind",
    "aliases",
    "communes",
    "developer",
    "district",
    "stated_area_ha",
    "operating_status",
)
NAME_FIELDS = ("name", "aliases", "developer", "district", "communes")  # checked for legacy font encodings
ACTIONS = ("create", "update", "unchanged", "rejected")


class PlanChanged(KhgeoError):
    """The data changed between the preview and the apply: nothing was written."""

    status = 409

    def __init__(self):
        super().__init__(
            _l("The zones changed since the preview was made: nothing was imported. Review the new preview.")
        )


# -- the plan ---------------------------------------------------------------------------------------------------
@dataclass
class FeaturePlan:
    number: int
    label: str
    action: str = ""  # one of ACTIONS once planned
    code: str | None = None
    zone_id: int | None = None
    zone_version: int | None = None
    matched_by: str | None = None  # "code", "name", "alias"
    changes: dict[str, list] = field(default_factory=dict)  # field → [old, new], JSON-ready (history, audit)
    values: dict[str, Any] = field(default_factory=dict)  # zone attribute → new value, as written
    outline_wkb: bytes | None = None  # the repaired outline, when it changes
    reasons: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)
    repairs: list[Any] = field(default_factory=list)
    # internal while planning
    given: dict[str, Any] = field(default_factory=dict, repr=False)
    geometry: BaseGeometry | None = field(default=None, repr=False)
    is_point: bool = False
    area_ha: float | None = None
    district_code: str | None = None  # the district holding the outline

    def reject(self, reason: Any) -> None:
        self.action = "rejected"
        self.reasons.append(reason)


@dataclass
class ImportPlan:
    file_name: str
    format: str
    layer: str | None
    mapping: dict[str, str | None]
    features: list[FeaturePlan]
    crs: str = ""
    transformation: str = ""
    geometry_from: str = ""
    encoding: str | None = None
    warnings: list[Any] = field(default_factory=list)

    def by_action(self, action: str) -> list[FeaturePlan]:
        return [f for f in self.features if f.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.by_action(action)) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(f.action in ("create", "update") for f in self.features)

    @property
    def fingerprint(self) -> str:
        """What the user approved: every action, zone version and change (a preview and an apply must agree)."""
        items = [
            [
                f.number,
                f.action,
                f.code,
                f.zone_version,
                f.changes,
                hashlib.sha256(f.outline_wkb).hexdigest() if f.outline_wkb else None,
            ]
            for f in self.features
        ]
        payload = json.dumps([self.crs, self.transformation, items], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def lines(self) -> list[str]:
        """The plan as text (the CLI's report)."""
        counts = self.counts
        layer = f", layer {self.layer}" if self.layer else ""
        out = [f"{self.file_name} ({self.format}{layer}): {len(self.features)} features"]
        if self.crs:
            out.append(f"coordinates: {self.crs} → WGS 84; transformation: {self.transformation}")
        mapped = [f"{column} → {target or '(not used)'}" for column, target in self.mapping.items()]
        out.append("columns: " + (" · ".join(mapped) or "(none)"))
        out += [f"warning: {w}" for w in self.warnings]
        marks = {
            "create": "+ create   ",
            "update": "~ update   ",
            "unchanged": "= unchanged",
            "rejected": "✗ rejected ",
        }
        for feature in self.features:
            head = " ".join(
                filter(None, [marks[feature.action], f"#{feature.number}", feature.code, repr(feature.label)])
            )
            if feature.matched_by:
                head += f" (matched by {feature.matched_by})"
            out.append(head)
            for name, (old, new) in feature.changes.items():
                if name == "geometry":
                    out.append(f"      outline: {_fmt(old)} ha → {_fmt(new)} ha")
                else:
                    out.append(f"      {name}: {_fmt(old)} → {_fmt(new)}")
            out += [f"      reason: {r}" for r in feature.reasons]
            out += [f"      repaired: {r}" for r in feature.repairs]
            out += [f"      warning: {w}" for w in feature.warnings]
        out.append(
            f"summary: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged, {counts['rejected']} rejected"
        )
        return out


def _fmt(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def plain_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


Progress = Callable[[int], None] | None
