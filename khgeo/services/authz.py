"""Who may do what. Every channel (HTML, JSON, exports, OGC) asks these functions; nothing else decides.

- viewer (officials): read everything
- field (field staff): read; update the status of zones in their assigned districts only
- planner: read, export, planning views
- admin (zone board): everything, including users and zone outlines
Anonymous visitors may read only when KHGEO_PUBLIC_READ is on.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
    return (
        user.role == "field"
        and zone.district_id is not None
        and zone.district_id in {d.id for d in user.districts}
    )


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
