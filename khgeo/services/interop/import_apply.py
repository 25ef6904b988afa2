"""Applying an import plan in the caller's transaction, refused if the plan the user saw changed."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from geoalchemy2 import WKBElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from khgeo import clock
from khgeo.errors import KhgeoError
from khgeo.geo import crs as geo_crs
from khgeo.models import User, Zone
from khgeo.services.audit import record
from khgeo.services.geometry import (
    DEFAULT_VERTEX_LIMITS,
    VertexLimits,
)
from khgeo.services.interop.import_plan import plan_import
from khgeo.services.interop.import_types import IMPORT_NOTE, FeaturePlan, ImportPlan, PlanChanged, Progress
from khgeo.services.interop.source import SourceData
from khgeo.services.updates import snapshot


# -- applying ---------------------------------------------------------------------------------------------------
class ImportConflict(KhgeoError):
    status = 409

    def __init__(self, code: str):
        super().__init__(
            _l(
                "Zone %(code)s was changed by someone else during the import: nothing was imported.",
                code=code,
            )
        )


def apply_import(
    session: Session,
    source: SourceData,
    *,
    user: User | None,
    today: dt.date,
    crs: str | None = None,
    expected_fingerprint: str | None = None,
    channel: str = "cli",
    progress: Progress = None,
    limits: VertexLimits = DEFAULT_VERTEX_LIMITS,
) -> ImportPlan:
    """Plan again inside the caller's transaction and write every change; the caller commits (or rolls back).

    ``expected_fingerprint`` is the fingerprint of the plan the user approved: a different plan is refused.
    """
    plan = plan_import(session, source, crs=crs, today=today, limits=limits)
    if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
        raise PlanChanged()
    for feature in plan.features:
        if feature.action in ("create", "update"):
            write_change(session, plan, feature, user=user, channel=channel)
            if progress:
                progress(1)
    session.flush()
    return plan


def write_change(
    session: Session,
    plan: ImportPlan,
    feature: FeaturePlan,
    *,
    user: User | None,
    channel: str,
) -> Zone:
    """Write one feature's change with its history entry and audit event (inside the caller's transaction)."""
    values = feature.values
    outline_wkb = feature.outline_wkb
    outline_changed = outline_wkb is not None
    changes = feature.changes
    if feature.action == "create":
        zone = Zone(code=feature.code, aliases=[], communes=[], sources={}, developer="", notes="")
        session.add(zone)
    else:
        found = session.get(Zone, feature.zone_id)
        if found is None or found.version != feature.zone_version:
            raise ImportConflict(feature.code or "")
        zone = found
    for name, value in values.items():
        setattr(zone, name, value)
    if outline_wkb is not None:
        zone.geom = WKBElement(outline_wkb, srid=geo_crs.STORAGE_SRID)
        zone.geometry_source = "imported"
        zone.geometry_note = f"Imported from {plan.file_name}"[:2000]
    zone.updated_at = clock.now()
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # IntegrityError: another import created a zone with this code since the plan was made (unique code)
        raise ImportConflict(feature.code or "") from None
    session.add(
        snapshot(
            zone,
            zone_version=zone.version,
            kind="import",
            user=user,
            as_of=zone.as_of,
            note=IMPORT_NOTE.format(file=plan.file_name, number=feature.number)[:2000],
            source=plan.file_name[:200],
            geom=zone.geom if outline_changed else None,
            geometry_source=zone.geometry_source if outline_changed else None,
            changes=changes,
        )
    )
    record(
        session,
        user,
        "zone.import",
        "zone",
        zone.code,
        changes,
        {
            "file": plan.file_name,
            "channel": channel,
            "feature": feature.number,
            "version": zone.version,
            "crs": plan.crs if outline_changed else None,
            "transformation": plan.transformation if outline_changed else None,
        },
    )
    return zone
