"""The installable app: service worker, web app manifest, the offline panel, and the marks that tell the worker
which responses it may keep (khgeo/services/offline.py decides; static/js/offline/ does the work)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import SQLAlchemyError

from khgeo.clock import now
from khgeo.db import get_session
from khgeo.jinja import date_vn
from khgeo.security import PRECACHE_HEADER, authenticated_by_token
from khgeo.services import offline
from khgeo.web import bp

WORKER_FILE = Path("js") / "offline" / "sw.js"
USER_HEADER = "X-Khgeo-User"  # whose response this is: the worker keeps only the signed-in user's
KEEP_HEADER = "X-Khgeo-Offline"  # "keep": part of the user's area, the worker may store it
THEME_COLOUR = "#0b3d2e"  # the top bar's green (static/css/khgeo.css)
# pages any signed-in user may keep; zone pages only when the zone is in the user's area
_ALWAYS_KEPT = {"web.map_page", "web.offline_page", "api.zones"}
_UNMARKED = {
    "static",
    "web.service_worker",
    "web.web_manifest",
    "api.healthz",
    None,
}  # nobody's: no user lookup either
_ZONE_PAGES = {"web.zone_page", "web.zone_update", "web.zone_popup", "api.zone"}


@bp.get("/sw.js")
def service_worker():
    """The worker, from the site root so its scope covers the whole app, headed by the list of shell files."""
    static = Path(current_app.static_folder or "static")
    files, version = _shell(static)
    shell = {
        "version": version,
        "shell": [url_for("static", filename=name) for name in files],
        "scripts": [url_for("static", filename=f"js/offline/{name}") for name in ("queue.js", "sync.js")],
        "staticPrefix": url_for("static", filename=""),
        "workerPath": url_for("web.service_worker"),
        "offlinePage": url_for("web.offline_page"),
        "statePath": url_for("web.offline_state"),
        "loginPath": url_for("auth.login"),
        # the tile host whose tiles the phone keeps (KHGEO_OFFLINE_TILES), else none
        "tilesOrigin": _tiles_origin() if current_app.config["KHGEO_OFFLINE_TILES"] else "",
    }
    body = f"self.KHGEO = {json.dumps(shell)};\n" + (static / WORKER_FILE).read_text(encoding="utf-8")
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for("web.map_page")  # the site root, under any prefix
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell(static: Path) -> tuple[list[str], str]:
    """The shell files and their fingerprint, computed again only when a file under static/ changed."""
    files = [name for name in offline.shell_files(static) if name != WORKER_FILE.as_posix()]
    stamp = tuple((name, (static / name).stat().st_mtime_ns) for name in files)
    known = current_app.extensions.get("khgeo.offline_shell")
    if known is None or known[0] != stamp:
        known = (stamp, files, offline.shell_version(static, files))
        current_app.extensions["khgeo.offline_shell"] = known
    return known[1], known[2]


def _tiles_origin() -> str:
    parts = urlsplit(current_app.config["KHGEO_TILES_URL"].replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


@bp.get("/manifest.webmanifest")
def web_manifest():
    manifest = {
        "name": _("khgeo · Industrial zones and clusters of Bắc Giang"),
        "short_name": "khgeo",
        "description": _("Monitoring the industrial zones and clusters of Bắc Giang, also without a signal."),
        "lang": "vi",
        "start_url": url_for("web.map_page"),
        "scope": url_for("web.map_page"),
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": "#ffffff",
        "icons": [
            {
                "src": url_for("static", filename=f"icons/khgeo-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
            }
            for size in (192, 512)
        ]
        + [{"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = Response(json.dumps(manifest, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline_page():
    zones = offline.area_zones(get_session(), current_user)
    return render_template("offline.html", zones=zones)


@bp.get("/offline/state.json")
def offline_state():
    """What the phone needs to fill its cache and send its queue: who is signed in, a fresh CSRF token, the
    area's pages and a fingerprint of its data (the phone downloads again only when it changed)."""
    session = get_session()
    zones = offline.area_zones(session, current_user)
    urls = [url_for("web.map_page"), url_for("web.offline_page")]
    for zone in zones:
        urls += [
            url_for("web.zone_page", code=zone.code),
            url_for("web.zone_update", code=zone.code),
            url_for("web.zone_popup", code=zone.code),
            url_for("api.zone", code=zone.code),
        ]
    urls += [url_for("web.photo_thumbnail", photo_id=pid) for pid in offline.area_photo_ids(session, zones)]
    urls += [url_for("parcels.parcel_page", uid=uid) for uid in offline.area_parcel_uids(session, zones)]
    tiles = offline.tile_urls(
        offline.area_bounds(session, current_user) if zones else None,
        current_app.config["KHGEO_TILES_URL"],
        current_app.config["KHGEO_OFFLINE_TILES"],
    )
    response = jsonify(
        {
            "user": current_user.id,
            "csrf_token": generate_csrf(),
            "version": offline.data_version(zones, offline.parcels_token(session)),
            "checked_at": now().isoformat(),
            "zones": [{"code": z.code, "name": f"{z.kind} {z.name}", "version": z.version} for z in zones],
            "urls": urls,
            "tiles": tiles,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def _leave_messages_for_the_user() -> None:
    """A page the phone downloads for later must not take the "Saved." meant for the page the user opens next
    (nor keep it in its stored copy)."""
    if request.headers.get(PRECACHE_HEADER):
        request_ctx.flashes = []


@bp.after_app_request
def _mark_for_the_worker(response: Response) -> Response:
    """Say whose response this is and whether the phone may keep it; the worker stores nothing unmarked."""
    if request.endpoint in _UNMARKED:
        return response
    try:
        if not current_user.is_authenticated or authenticated_by_token():
            return response
        response.headers[USER_HEADER] = str(current_user.id)
        if request.method == "GET" and response.status_code == 200 and _keepable():
            response.headers[KEEP_HEADER] = "keep"
    except SQLAlchemyError:
        pass  # the database is down (the answer says so already): unmarked, so nothing is kept
    return response


def _keepable() -> bool:
    endpoint = request.endpoint or ""
    args = request.view_args or {}
    if endpoint in _ALWAYS_KEPT:
        return True
    if endpoint in _ZONE_PAGES and "code" in args:
        return offline.in_area(get_session(), current_user, args["code"])
    if endpoint == "parcels.parcel_page" and "uid" in args:
        return offline.parcel_in_area(get_session(), current_user, args["uid"])
    if endpoint == "web.photo_thumbnail" and "photo_id" in args:
        return offline.photo_in_area(get_session(), current_user, args["photo_id"])
    return False


def _strings() -> dict[str, str]:
    """What static/js/offline/ui.js says, in the user's language (a JSON block: no inline script)."""
    return {
        "waiting": _("Waiting to send (%(n)s)", n="{n}"),
        "conflicts": _("%(n)s need your decision", n="{n}"),
        "offline": _("Offline: this page was saved at %(when)s.", when="{when}"),
        "queued": _("Saved on this phone: it will be sent when there is a signal."),
        "zone_waiting": _(
            "%(n)s of your updates of this zone are waiting to be sent: the figures above do not show them yet.",
            n="{n}",
        ),
        "sent": _("%(n)s queued updates were sent.", n="{n}"),
        "login": _("Your session has expired: log in again to send the %(n)s waiting updates.", n="{n}"),
        "login_link": _("Log in"),
        "logout_warning": _(
            "%(n)s updates on this phone have not been sent yet. Logging out deletes them. Log out anyway?",
            n="{n}",
        ),
        "stored": _(
            "%(n)s pages and files of your area are stored (%(size)s), refreshed %(when)s.",
            n="{n}",
            size="{size}",
            when="{when}",
        ),
        "nothing_stored": _("Nothing is stored on this phone yet."),
        "downloading": _("Downloading %(done)s / %(n)s …", done="{done}", n="{n}"),
        "download_failed": _("The download stopped: no connection. Try again when you have a signal."),
        "empty_queue": _("No update is waiting to be sent."),
        "state_pending": _("waiting"),
        "state_conflict": _("the zone changed meanwhile"),
        "state_invalid": _("refused"),
        "saved_at": _("saved %(when)s", when="{when}"),
        "now_saved": _("Now saved"),
        "version": _("version"),
        "yours": _("You typed"),
        "reapply": _("Apply mine to the new version"),
        "discard": _("Discard mine"),
        "correct": _("Correct it in the form"),
        "discard_confirm": _("Discard this update? It will not be sent."),
        "field_as_of": _("Situation as of"),
        "field_clearance_area_ha": _("Area to clear"),
        "field_cleared_area_ha": _("Area cleared"),
        "field_clearance_pct": _("or percent cleared"),
        "field_households_total": _("Households affected"),
        "field_households_agreed": _("Households agreed"),
        "field_wwtp_status": _("Wastewater treatment"),
        "field_wwtp_capacity_m3_day": _("Capacity"),
        "field_infrastructure_pct": _("Infrastructure completion"),
        "field_occupancy_pct": _("Occupancy"),
        "field_note": _("Note"),
        "field_photos": _("Photos"),
        "install": _("Install the app"),
    }


@bp.app_context_processor
def _offline_page_context() -> dict:
    def offline_info() -> dict:
        user = current_user.id if current_user.is_authenticated and not authenticated_by_token() else ""
        return {"user": user, "rendered": date_vn(now()), "strings": _strings()}

    return {"offline_info": offline_info}
