"""Stage updates from a spreadsheet (XLSX/CSV: commune?, sheet, parcel, stage, date, document): read with the import
helpers (khgeo.services.interop.files), matched to the zone's parcels by (commune, sheet, parcel), and applied
through the same batch service as the API (khgeo.services.parcels.stages) — preview first (everything applied in a
savepoint and rolled back, so the preview says exactly what applying will do), then apply. Rows are grouped by
(stage, date, document, note): each group is one ``apply_stage`` call; each row all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from khgeo.errors import ValidationFailed
from khgeo.models import Parcel, User, Zone
from khgeo.services.interop.field_names import column_key
from khgeo.services.interop.files import read_source
from khgeo.services.parcels import stages

MAX_ROWS = stages.MAX_BATCH
# folded column names (transfer_fields.column_key) → field, as offices and khgeo's own exports write them
COLUMNS = {
    "commune": ("commune", "commune_code", "ma_xa", "maxa", "xa", "ma_don_vi"),
    "sheet": ("sheet", "so_to", "to", "to_ban_do", "sohieutobando", "so_hieu_to_ban_do"),
    "number": ("parcel", "number", "so_thua", "thua", "sothututhua", "so_thu_tu_thua"),
    "stage": ("stage", "buoc", "giai_doan", "trang_thai", "tien_do"),
    "date": ("date", "ngay", "ngay_thuc_hien"),
    "document_number": ("document", "document_number", "so_van_ban", "van_ban", "so_qd", "so_quyet_dinh"),
    "document_date": ("document_date", "ngay_van_ban", "ngay_qd", "ngay_ky"),
    "document_signer": ("signer", "document_signer", "nguoi_ky"),
    "note": ("note", "ghi_chu"),
}
REQUIRED = ("sheet", "number", "stage", "date")


@dataclass
class SheetRow:
    line: int  # the row's number in the file (1 = the first after the header)
    values: dict[str, str]
    uid: str | None = None
    problem: str | None = None
    saved: bool = False


@dataclass
class SheetResult:
    rows: list[SheetRow] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → the file's column

    @property
    def saved(self) -> int:
        return sum(1 for row in self.rows if row.saved)

    @property
    def refused(self) -> int:
        return sum(1 for row in self.rows if not row.saved)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path, file_name: str) -> SheetResult:
    """The file's rows as typed (ImportFileError / ValidationFailed when it cannot be used)."""
    source = read_source(path, file_name=file_name)
    by_key = {column_key(name): name for name in source.columns}
    result = SheetResult()
    for target, names in COLUMNS.items():
        found = next((by_key[name] for name in names if name in by_key), None)
        if found is not None:
            result.columns[target] = found
    missing = [name for name in REQUIRED if name not in result.columns]
    if missing:
        raise ValidationFailed(
            {
                "file": _l(
                    "The file needs the columns %(names)s (sheet, parcel, stage, date).",
                    names=", ".join(missing),
                )
            }
        )
    if len(source.features) > MAX_ROWS:
        raise ValidationFailed({"file": _l("At most %(n)d parcels in one request.", n=MAX_ROWS)})
    for feature in source.features:
        values = {target: _cell(feature.attributes.get(column)) for target, column in result.columns.items()}
        if values.get("commune", "").isdigit():  # a spreadsheet drops the code's leading zero (07456 → 7456)
            values["commune"] = values["commune"].zfill(5)
        result.rows.append(SheetRow(feature.number, values))
    return result


def rows_from_values(values: Sequence[dict[str, str]]) -> SheetResult:
    """Rows sent back by the preview page (checked again from scratch when applied)."""
    if len(values) > MAX_ROWS:
        raise ValidationFailed({"file": _l("At most %(n)d parcels in one request.", n=MAX_ROWS)})
    result = SheetResult()
    for i, row in enumerate(values):
        clean = {k: str(row.get(k) or "")[:4000] for k in COLUMNS if isinstance(row, dict)}
        result.rows.append(
            SheetRow(int(row.get("line", i + 1)) if str(row.get("line", "")).isdigit() else i + 1, clean)
        )
    return result


def _match(session: Session, zone: Zone, result: SheetResult) -> None:
    parcels = session.execute(
        select(Parcel.uid, Parcel.commune_code, Parcel.sheet, Parcel.number).where(Parcel.zone_id == zone.id)
    ).all()
    by_key: dict[tuple[str, str], list] = {}
    for p in parcels:
        by_key.setdefault((p.sheet, p.number), []).append(p)
    seen: set[str] = set()
    for row in result.rows:
        candidates = by_key.get((row.values.get("sheet", ""), row.values.get("number", "")), [])
        if commune := row.values.get("commune"):
            candidates = [p for p in candidates if p.commune_code == commune]
        if not candidates:
            row.problem = str(_l("No parcel of this zone with this sheet and parcel number."))
        elif len(candidates) > 1:
            row.problem = str(
                _l("Several parcels of this zone have this sheet and number: give the commune code.")
            )
        elif candidates[0].uid in seen:
            row.problem = str(_l("This parcel is already in an earlier row."))
        else:
            row.uid = candidates[0].uid
            seen.add(row.uid)


def apply_rows(
    session: Session, zone: Zone, user: User, result: SheetResult, *, today: dt.date, dry_run: bool
) -> SheetResult:
    """Check (and unless ``dry_run`` write) the rows; each row's ``problem`` says why it was not saved."""
    _match(session, zone, result)
    groups: dict[tuple, list[SheetRow]] = {}
    for row in result.rows:
        if row.problem:
            continue
        try:
            change = stages.parse_change(row.values, today)
        except ValidationFailed as exc:
            row.problem = " ".join(str(message) for message in exc.errors.values())
            continue
        key = (change.stage, change.date, change.document, change.note)
        groups.setdefault(key, []).append(row)
    savepoint = session.begin_nested() if dry_run else None
    try:
        for (stage, day, document, note), rows in groups.items():
            change = stages.StageChange(stage, day, document, note)
            outcome = stages.apply_stage(
                session,
                user,
                [(str(row.uid), None) for row in rows],
                change,
                today=today,
                channel="spreadsheet",
            )
            reasons = {c["uid"]: str(c["reason"]) for c in outcome.conflicts}
            for row in rows:
                row.problem = reasons.get(row.uid or "")
                row.saved = row.problem is None
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return result
