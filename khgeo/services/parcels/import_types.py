"""The shapes of a parcels import: one row of the file and what it would do (ParcelRow), the plan (ParcelImportPlan),
its limits and the errors that refuse it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from khgeo.errors import KhgeoError
from khgeo.services.interop.import_types import IMPORT_NOTE as ZONES_IMPORT_NOTE

DB_BATCH = 500
UID_TOLERANCE_DEG = 1e-5  # ~1 m: a file's identifier point may sit on the parcel's edge
MIN_AREA_M2 = 1.0  # an outline smaller than this is a drawing error, not a parcel
ACTIONS = ("create", "update", "unchanged", "rejected")
# what an import may set on a stored parcel (never its stage, dates, amounts or flags)
CADASTRAL_FIELDS = (
    "land_user_kind",
    "old_sheet",
    "old_number",
    "land_type",
    "legal_area_m2",
    "address",
    "land_user_name",
    "households",
    "people",
)
KEY_TEXT = ("sheet", "number", "old_sheet", "old_number")
TEXT_MAX = {"address": 1000, "land_user_name": 500}
MAX_LEGAL_AREA_M2 = Decimal("99999999999")  # Numeric(12, 1)
MAX_COUNT = 100_000
IMPORT_NOTE = (
    ZONES_IMPORT_NOTE  # one wording for every import's history note (shown in the reader's language)
)


class ParcelPlanChanged(KhgeoError):
    status = 409

    def __init__(self):
        super().__init__(
            _l(
                "The parcels changed since the preview was made: nothing was imported. Review the new preview."
            )
        )


class ParcelImportConflict(KhgeoError):
    status = 409

    def __init__(self, label: str | None = None):
        if label is None:
            message = _l(
                "Parcels of this file were changed by someone else during the import: nothing was imported."
            )
        else:
            message = _l(
                "Parcel %(parcel)s was changed by someone else during the import: nothing was imported.",
                parcel=label,
            )
        super().__init__(message)


@dataclass
class ParcelRow:
    number: int  # the feature's position in the file, from 1
    label: str = ""
    action: str = ""
    commune_code: str | None = None
    sheet: str | None = None
    parcel_number: str | None = None
    given: dict[str, Any] = field(default_factory=dict)  # cadastral field → value from the file
    uid: str | None = None
    uid_given: bool = False
    geometry: Any = field(default=None, repr=False)  # WGS 84, before repair
    outline_wkb: bytes | None = None  # repaired; None on an update that keeps the stored outline
    area_m2: float | None = None
    zone_id: int | None = None
    zone_code: str | None = None
    outside: bool = False  # in no zone
    parcel_id: int | None = None
    parcel_version: int | None = None
    changes: dict[str, list] = field(default_factory=dict)  # field → [old, new], JSON-ready
    values: dict[str, Any] = field(default_factory=dict)  # parcel attribute → value, as written
    reasons: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)
    repairs: list[Any] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str] | None:
        if self.commune_code and self.sheet and self.parcel_number:
            return (self.commune_code, self.sheet, self.parcel_number)
        return None

    def reject(self, reason: Any) -> None:
        self.action = "rejected"
        self.reasons.append(reason)


@dataclass
class ParcelImportPlan:
    file_name: str
    format: str
    layer: str | None
    mapping: dict[str, str | None]
    rows: list[ParcelRow]
    zone_override: str | None = None
    crs: str = ""
    transformation: str = ""
    warnings: list[Any] = field(default_factory=list)

    def by_action(self, action: str) -> list[ParcelRow]:
        return [row for row in self.rows if row.action == action]

    @property
    def ignored(self) -> list[str]:
        return [column for column, target in self.mapping.items() if target is None]

    @property
    def counts(self) -> dict[str, int]:
        counts = {action: len(self.by_action(action)) for action in ACTIONS}
        counts["outside"] = sum(1 for row in self.rows if row.outside and row.action != "rejected")
        return counts

    @property
    def has_changes(self) -> bool:
        return any(row.action in ("create", "update") for row in self.rows)

    @property
    def fingerprint(self) -> str:
        """What the user approved: every row's action, parcel version and change."""
        items = [
            [
                row.number,
                row.action,
                row.key,
                row.parcel_version,
                row.uid,
                row.zone_id,
                row.changes,
                hashlib.sha256(row.outline_wkb).hexdigest() if row.outline_wkb else None,
            ]
            for row in self.rows
        ]
        payload = json.dumps([self.crs, self.zone_override, items], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def lines(self) -> list[str]:
        """The plan as text (the CLI's report)."""
        counts = self.counts
        layer = f", layer {self.layer}" if self.layer else ""
        out = [f"{self.file_name} ({self.format}{layer}): {len(self.rows)} parcels"]
        if self.crs:
            out.append(f"coordinates: {self.crs} → WGS 84; transformation: {self.transformation}")
        mapped = [f"{column} → {target}" for column, target in self.mapping.items() if target]
        out.append("columns: " + (" · ".join(mapped) or "(none)"))
        if self.ignored:
            out.append("ignored columns: " + ", ".join(self.ignored))
        if self.zone_override:
            out.append(f"zone: every parcel in {self.zone_override} (given)")
        out += [f"warning: {w}" for w in self.warnings]
        marks = {
            "create": "+ new      ",
            "update": "~ changed  ",
            "unchanged": "= unchanged",
            "rejected": "✗ rejected ",
        }
        for row in self.rows:
            head = f"{marks[row.action]} #{row.number} {row.label}"
            if row.action != "rejected":
                head += f" uid {row.uid} zone {row.zone_code or '— (outside every zone)'}"
            out.append(head)
            for name, (old, new) in row.changes.items():
                out.append(f"      {name}: {_text(old)} → {_text(new)}")
            out += [f"      reason: {r}" for r in row.reasons]
            out += [f"      note: {n}" for n in row.notes]
            out += [f"      repaired: {r}" for r in row.repairs]
            out += [f"      warning: {w}" for w in row.warnings]
        out.append(
            f"summary: {counts['create']} new, {counts['update']} changed, {counts['unchanged']} unchanged, "
            f"{counts['outside']} outside every zone, {counts['rejected']} rejected"
        )
        return out


def _text(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def plain_cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value
