"""HTML pages: parse the request, call services, render a template."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from khgeo.web import admin, followup, planning, reports, tasks, transfer, updates, views, zone_admin  # noqa: E402,F401  (registers the routes)
