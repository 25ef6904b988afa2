"""Who may do what. Every channel (HTML, JSON, exports, OGC) asks these functions; nothing else decides.

- viewer (officials): read everything but the audit log (a viewer of an agency: its own agency's report only)
- field (field staff): read; update the status of zones in their area only (their districts, or their units of
  2022 or 2025: khgeo/services/units/area.py)
- planner: read, export, planning views
- admin (zone board): everything, including users and zone outlines
Anonymous visitors may read only the public zone data, and only when KHGEO_PUBLIC_READ is on. What each of them
reads on each channel is the ACCESS table below (README.md's "Who sees what" is generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from khgeo.codes import ROLE
from khgeo.errors import KhgeoError
from khgeo.models import User, Zone


class Unauthorized(KhgeoError):
    status = 401

    def __init__(self, message=None):
        super().__init__(message or _l("Please log in."))


class Forbidden(KhgeoError):
    status = 403

    def __init__(self, message=None):
        super().__init__(message or _l("You do not have permission to do this."))


def _user(user) -> User | None:
    return user if isinstance(user, User) and user.active else None


def can_read(user, public_read: bool) -> bool:
    return public_read or _user(user) is not None


def can_update_status(user, zone: Zone) -> bool:
    user = _user(user)
    if user is None:
        return False
    if user.role == "admin":
        return True
    return user.role == "field" and in_area(user, zone)


def in_area(user, zone: Zone) -> bool:
    """Whether the zone lies in the user's area of responsibility: the one check (khgeo.services.units.area)."""
    from khgeo.services.units.area import in_area as zone_in_area

    user = _user(user)
    return user is not None and zone_in_area(user, zone)


def can_edit_geometry(user) -> bool:
    user = _user(user)
    return user is not None and user.role == "admin"


def can_export(user, public_read: bool) -> bool:
    return can_read(user, public_read)


def is_admin(user) -> bool:
    user = _user(user)
    return user is not None and user.role == "admin"


def require(allowed: bool, user) -> None:
    """401 for anonymous visitors, 403 for a logged-in user who may not."""
    if allowed:
        return
    if _user(user) is None:
        raise Unauthorized()
    raise Forbidden()


def _acts_for(user: User, agency) -> bool:
    """A user acts for their agency; a district committee's user also for "UBND các huyện, thành phố"."""
    if user.agency_id is None:
        return False
    if user.agency_id == agency.id:
        return True
    return (
        user.agency is not None
        and user.agency.kind == "district_committee"
        and agency.kind == "district_committees"
    )


def can_set_task_status(user, task) -> bool:
    """The lead agency's users (and admins) set a task's status; a collective task's status is the board's."""
    user = _user(user)
    if user is None:
        return False
    return user.role == "admin" or (user.agency_id is not None and user.agency_id == task.lead_agency_id)


def can_add_progress(user, task) -> bool:
    """Users of the lead or a coordinating agency (and admins) add progress notes."""
    user = _user(user)
    if user is None:
        return False
    if can_set_task_status(user, task) or (task.applies_to_all_agencies and user.agency_id is not None):
        return True
    return any(_acts_for(user, agency) for agency in [task.lead_agency, *task.coordinating_agencies])


def can_submit_report(user, agency) -> bool:
    user = _user(user)
    return user is not None and (
        user.role == "admin" or (user.agency_id is not None and user.agency_id == agency.id)
    )


# -- what each role reads ----------------------------------------------------------------------------------------
# Endpoints anonymous visitors may read when KHGEO_PUBLIC_READ is on: the map, zone pages' public figures and the
# zone data (JSON, OGC API, exports of the same fields). Every other endpoint needs a login, whatever the setting.
PUBLIC_ENDPOINTS = frozenset(
    {"web.map_page", "web.zone_page", "web.zone_popup", "api.zones", "api.zone", "web.export_download"}
)
PUBLIC_BLUEPRINTS = frozenset({"ogcapi"})


def is_public(endpoint: str | None) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or (endpoint or "").split(".")[0] in PUBLIC_BLUEPRINTS


def may_open(user, endpoint: str | None, public_read: bool) -> bool:
    """The read gate: a logged-in user passes (views then check their own rules), anonymous only to public data."""
    return _user(user) is not None or (public_read and is_public(endpoint))


def sees_people(user) -> bool:
    """Staff names, free-text notes and site photos in a zone's history: logged-in users only."""
    return _user(user) is not None


def sees_land_users(user, zone: Zone | None) -> bool:
    """Land users' names and households of a parcel (personal data, Decree 13/2023/NĐ-CP): the board, and the field
    staff whose area holds the parcel's zone. Everyone else sees a masked form; tiles, the OGC API and public exports
    never carry them. Every view of them is written to the audit log by the channel that shows them. The same people
    as those who update the parcel: who answers for the parcel needs to know whose land it is, nobody else."""
    return can_update_parcel(user, zone)


def can_export_parcels(user) -> bool:
    """A zone's parcels as files: any logged-in user (parcels are not public data, whatever KHGEO_PUBLIC_READ says);
    the land users in them only for those ``sees_land_users`` allows."""
    return can_read_parcels(user)


def can_update_parcel(user, zone: Zone | None) -> bool:
    """A parcel's clearance: the board, and field staff of the area of the parcel's zone (as for the zone itself)."""
    user = _user(user)
    if user is None:
        return False
    if user.role == "admin":
        return True
    return zone is not None and can_update_status(user, zone)


def can_read_parcels(user) -> bool:
    """Parcels' stages on the map (tiles, the map layer): logged-in users, never anonymous visitors, even with
    KHGEO_PUBLIC_READ on: "not yet paid" on a parcel tells about the household living there."""
    return _user(user) is not None


def may_update_parcels(user) -> bool:
    """Whether the user updates parcels at all (the board, field staff); which ones: can_update_parcel."""
    user = _user(user)
    return user is not None and user.role in ("admin", "field")


def sees_photo_gps(user) -> bool:
    """Where a photo was taken: the board and field staff (who check the sites), not other readers."""
    user = _user(user)
    return user is not None and user.role in ("admin", "field")


def author_label(viewer, author: User) -> str:
    """Who wrote a history entry, as this reader may see it: the name for staff, the role for the public."""
    if sees_people(viewer):
        return author.display_name or author.username
    return str(ROLE.short_label(author.role))  # what anonymous readers see instead of a person's name


def _official(user: User) -> bool:
    """A viewer with no agency: the province's officials, who read every agency's report."""
    return user.role == "viewer" and user.agency_id is None


def can_read_agency_report(user, agency) -> bool:
    """An agency's report texts and attachment: its own users, the board (admin) and officials."""
    user = _user(user)
    return user is not None and (user.role == "admin" or _official(user) or _acts_for(user, agency))


def can_read_consolidated_report(user) -> bool:
    """The consolidated report quotes every agency's report: whoever reads them all (admin, officials)."""
    user = _user(user)
    return user is not None and (user.role == "admin" or _official(user))


def can_read_documents(user) -> bool:
    """Other generated documents (the planners' XLSX): any logged-in user."""
    return _user(user) is not None


def can_read_health_details(user) -> bool:
    return is_admin(user)


def can_read_notifications(user) -> bool:
    """Each logged-in user reads (and marks read) their own notifications and settings, nobody else's."""
    return _user(user) is not None


def can_manage_agency_followup(user, agency) -> bool:
    """An agency's calendar address (made, revoked) and reminder address are managed by its own users and the
    board."""
    user = _user(user)
    return user is not None and (user.role == "admin" or _acts_for(user, agency))


def can_write_letters(user) -> bool:
    """Urging letters (công văn đôn đốc) are the board's."""
    return is_admin(user)


def can_read_outbox(user) -> bool:
    return is_admin(user)


# Who sees what, channel by channel: README.md's table is generated from this and the access test walks it.
# Columns: anonymous with KHGEO_PUBLIC_READ on, anonymous with it off, then roles. "viewer" is an official
# (no agency); "agency user" is a viewer of an agency (`--agency SCT`); another role with an agency adds that
# agency's reports to its role's rights. "field" is assigned one district.
AUDIENCES = ("public", "anonymous", "viewer", "agency", "field", "planner", "admin")
AUDIENCE_TITLES = {
    "public": "anonymous, public read on",
    "anonymous": "anonymous, public read off",
    "viewer": "viewer (official)",
    "agency": "agency user",
    "field": "field",
    "planner": "planner",
    "admin": "admin",
}


@dataclass(frozen=True)
class Access:
    key: str
    channel: str
    what: str
    audiences: frozenset[
        str
    ]  # who gets it; everyone else: anonymous → login (302 page / 401 JSON), users → 403

    def allows(self, audience: str) -> bool:
        return audience in self.audiences


_LOGGED_IN = frozenset({"viewer", "agency", "field", "planner", "admin"})
_EVERYONE = _LOGGED_IN | {"public"}
ACCESS: tuple[Access, ...] = (
    Access(
        "map", "HTML", "map `/`, zone pages `/zones/<code>` (figures, history of figures), popups", _EVERYONE
    ),
    Access("people", "HTML", "staff names, notes and photos in a zone's history", _LOGGED_IN),
    Access("gps", "HTML", "GPS position of site photos", frozenset({"field", "admin"})),
    Access(
        "tasks",
        "HTML",
        "task register `/tasks`, task pages with progress notes, `/agencies/<code>`",
        _LOGGED_IN,
    ),
    Access("planning", "HTML", "planners' views `/planning`", _LOGGED_IN),
    Access("api-zones", "/api", "`GET /api/zones`, `GET /api/zones/<code>`", _EVERYONE),
    Access("api-tasks", "/api", "`GET /api/tasks`, `GET /api/tasks/<id>`", _LOGGED_IN),
    Access("ogcapi", "/ogcapi", "everything under `/ogcapi/` (zones, districts)", _EVERYONE),
    Access("exports", "exports", "`/export/zones.<fmt>` (the same fields as `/api/zones`)", _EVERYONE),
    Access(
        "tiles",
        "tiles",
        "parcels' vector tiles `/tiles/parcels/{z}/{x}/{y}.mvt` (no personal data)",
        _LOGGED_IN,
    ),
    Access("photos", "photos", "`/photos/<id>`, `/photos/<id>/thumb`", _LOGGED_IN),
    Access("planning-xlsx", "documents", "planners' XLSX `/planning/<view>.xlsx`", _LOGGED_IN),
    Access(
        "consolidated",
        "documents",
        "consolidated report `/reports/<year>/consolidated.docx` and `.xlsx`",
        frozenset({"viewer", "admin"}),
    ),
    Access("reports", "reports", "reporting cycle `/reports` (who reported, when)", _LOGGED_IN),
    Access(
        "own-report",
        "reports",
        "the user's own agency's report texts and attachment `/reports/<year>/<agency>`",
        frozenset({"viewer", "agency", "admin"}),
    ),
    Access(
        "other-report",
        "reports",
        "another agency's report texts and attachment",
        frozenset({"viewer", "admin"}),
    ),
    Access(
        "parcels",
        "HTML",
        "parcel pages `/parcels/<uid>`, parcel search `/parcels` (land users masked unless below)",
        _LOGGED_IN,
    ),
    Access(
        "api-parcels",
        "/api",
        "`GET /api/zones/<code>/parcels`, `GET /api/parcels/<uid>` (land users masked unless below)",
        _LOGGED_IN,
    ),
    Access(
        "land-users",
        "HTML, /api",
        "land users' names and households of parcels (field staff: of their area's zones; each view audited)",
        frozenset({"field", "admin"}),
    ),
    Access(
        "parcel-sheet",
        "HTML",
        "parcel stages from a spreadsheet `/zones/<code>/parcels/stages` (field staff: their area's zones)",
        frozenset({"field", "admin"}),
    ),
    Access("parcel-timers", "admin", "`/admin/parcel-timers` (legal timers)", frozenset({"admin"})),
    Access("audit", "audit", "`/admin/audit`, `/admin/audit.csv`", frozenset({"admin"})),
    Access(
        "notifications",
        "HTML",
        "the user's own notifications `/notifications` (the bell) and their settings",
        _LOGGED_IN,
    ),
    Access("outbox", "admin", "e-mail outbox `/admin/outbox` (sent, waiting, failed)", frozenset({"admin"})),
    Access("letter", "documents", "urging letter `/agencies/<code>/letter.docx`", frozenset({"admin"})),
    Access(
        "calendar",
        "calendar",
        "calendar feed `/calendar/<secret>.ics`: whoever holds its secret address, no login",
        _EVERYONE | {"anonymous"},
    ),
    Access("admin", "admin", "`/admin/import`", frozenset({"admin"})),
    Access(
        "parcel-import", "admin", "cadastral parcels import `/admin/parcels/import`", frozenset({"admin"})
    ),
    Access(
        "parcel-exports",
        "exports",
        "a zone's parcels `/zones/<code>/parcels.<fmt>` (gpkg, xlsx, geojson; land users masked unless `sees_land_users`)",
        _LOGGED_IN,
    ),
    Access(
        "health", "health", '`/healthz` status (`{"status": "ok"}`, 200 or 503)', _EVERYONE | {"anonymous"}
    ),
    Access(
        "health-details",
        "health",
        "`/healthz` details (database, PostGIS, schema revision, version); also `khgeo health`",
        frozenset({"admin"}),
    ),
)


def access_table_markdown() -> str:
    """The README's "Who sees what" table, from ACCESS."""
    head = ["channel", "what", *(AUDIENCE_TITLES[a] for a in AUDIENCES)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in ACCESS:
        cells = ["yes" if row.allows(a) else "no" for a in AUDIENCES]
        lines.append("| " + " | ".join([row.channel, row.what, *cells]) + " |")
    return "\n".join(lines)
