"""The zone board's pages: the audit log (HTML and CSV, written in words: role, district and action names) and
failed logins."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from khgeo.codes import ROLE
from khgeo.db import get_session
from khgeo.jinja import FIELD_LABELS, change_value
from khgeo.models import AuditEvent, District
from khgeo.services import audit, authz, throttle
from khgeo.services.admin_units import list_districts
from khgeo.services.interop.export import CSV_CONTENT_TYPE
from khgeo.text import file_name
from khgeo.web import bp
from khgeo.web.download import attachment

ENTITY_LABELS = {"zone": _l("Zone"), "task": _l("Task"), "report": _l("Report"), "user": _l("Account")}
ACTION_LABELS = {
    "zone.update": _l("Site status updated"),
    "zone.geometry": _l("Outline changed"),
    "zone.import": _l("Imported from a file"),
    "task.progress": _l("Task progress recorded"),
    "report.submit": _l("Agency report submitted"),
    "report.resubmit": _l("Agency report submitted again"),
    "user.create": _l("Account created"),
    "user.disable": _l("Account disabled"),
    "user.token": _l("API token issued"),
}
AUDIT_FIELD_LABELS = {
    "role": _l("Role"),
    "districts": _l("Districts"),
    "district_id": _l("District"),
    "active": _l("Account active"),
}


def _events(limit: int | None):
    authz.require(authz.is_admin(current_user), current_user)
    return audit.list_events(
        get_session(),
        entity_type=request.args.get("entity_type") or None,
        entity_id=request.args.get("entity_id") or None,
        username=request.args.get("username") or None,
        limit=limit,
    )


class _Words:
    """An audit value as people read it: names, not codes or ids."""

    def __init__(self, districts: list[District]):
        self.by_code = {d.code: d.name for d in districts}
        self.by_id = {d.id: d.name for d in districts}

    def value(self, value, field: str) -> str:
        if value is None or value == [] or value == "":
            return "—"
        if field == "role":
            return str(ROLE.label(value))
        if field == "districts" and isinstance(value, list):
            return ", ".join(self.by_code.get(str(code), str(code)) for code in value)
        if field == "district_id":
            return self.by_id.get(value, str(value))
        if field == "district" and str(value) in self.by_code:
            return self.by_code[str(value)]
        if isinstance(value, bool):
            return str(_l("yes") if value else _l("no"))
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return change_value(value, field)

    def event(self, event: AuditEvent) -> dict:
        return {
            "event": event,
            "action": ACTION_LABELS.get(event.action, event.action),
            "entity": ENTITY_LABELS.get(event.entity_type, event.entity_type),
            "changes": [
                (
                    AUDIT_FIELD_LABELS.get(field) or FIELD_LABELS.get(field, field),
                    self.value(pair[0], field),
                    self.value(pair[1], field),
                )
                for field, pair in event.changes.items()
            ],
        }


@bp.get("/admin/audit")
def audit_log():
    events = _events(limit=500)
    words = _Words(list_districts(get_session()))
    return render_template(
        "admin/audit.html",
        rows=[words.event(event) for event in events],
        kinds=ENTITY_LABELS,
        args=request.args,
    )


@bp.get("/admin/audit.csv")
def audit_csv():
    body = "\ufeff" + audit.to_csv(_events(limit=None))  # BOM: Excel opens UTF-8 Vietnamese correctly
    # the name says what was filtered: nhat-ky-user-lan.csv
    filters = [request.args.get(key, "").strip() for key in ("entity_type", "entity_id", "username")]
    name = file_name(" ".join(["nhật ký", *filter(None, filters)]))[:120] + ".csv"
    return attachment(body, content_type=CSV_CONTENT_TYPE, name=name)


@bp.get("/admin/logins")
def failed_logins():
    authz.require(authz.is_admin(current_user), current_user)
    db_session = get_session()
    return render_template(
        "admin/logins.html",
        attempts=throttle.recent_failures(db_session),
        delays=throttle.current_delays(db_session),
        pair_limit=throttle.PAIR_LIMIT,
        address_limit=throttle.ADDRESS_LIMIT,
    )
