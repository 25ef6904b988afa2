"""Admins draw, reshape or upload a zone's outline (Leaflet.draw through folium's Draw plugin assets)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from khgeo.db import get_session
from khgeo.numbers import NumberError, parse_int
from khgeo.services import authz, geometry, updates
from khgeo.services.zones import ZoneFilter, get_zone, zone_bounds
from khgeo.web.forms import CsrfForm
from khgeo.web.maps import outline_editor_map


def edit_outline(code: str):
    session = get_session()
    zone = get_zone(session, code)
    authz.require(authz.can_edit_geometry(current_user), current_user)
    form = CsrfForm()
    submitted = geometry.outline_geojson(zone)
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        upload = request.files.get("upload")
        submitted = request.form.get("geojson", "")
        source = request.form.get("source", "surveyed")
        try:
            if upload and upload.filename:
                parsed = geometry.parse_geojson(upload.read(geometry.MAX_GEOJSON_BYTES + 1))
                source = request.form.get("source") or "imported"
            elif submitted:
                parsed = geometry.parse_geojson(submitted)
            else:
                raise geometry.InvalidGeometry(_("Draw an outline or choose a GeoJSON file."))
            limits = geometry.VertexLimits.from_settings(current_app.config)
            outline = geometry.check_outline(session, parsed, zone.stated_area_ha, limits)
            geometry.save_outline(
                session,
                zone,
                current_user,
                outline,
                expected_version=_version(request.form.get("version")),
                source=source,
                note=request.form.get("note", "").strip()[:2000],
                channel="web",
                context={"file": upload.filename if upload and upload.filename else None},
            )
        except geometry.InvalidGeometry as exc:
            error, status = exc.message, 422
        except updates.VersionConflict:
            error, status = (
                _("Someone saved this zone after you opened it: reload the page and redo the outline."),
                409,
            )
        except ValueError:
            abort(400)
        else:
            session.commit()
            for warning in outline.warnings:
                flash(str(warning), "warning")
            flash(_("Outline saved (%(area).1f ha).", area=outline.area_ha), "success")
            return redirect(url_for("web.zone_page", code=zone.code), 303)
    parts = outline_editor_map(
        session, zone.code, submitted or None, zone_bounds(session, ZoneFilter(codes=(zone.code,)))
    )
    return render_template(
        "zones/geometry.html", zone=zone, form=form, parts=parts, error=error, geojson=submitted
    ), status


def _version(raw: str | None) -> int:
    """The version the form was opened at, through the bounded parser; a tampered value is a 400."""
    try:
        return parse_int(raw or "", minimum=1, maximum=2**31 - 1)
    except NumberError:
        abort(400)
