"""HTML pages: parse the request, call services, render a template."""

from flask import Blueprint

bp = Blueprint("web", __name__)

import khgeo.web.units  # noqa: E402,F401  (agencies over time, issue 13: registers its routes)
from khgeo.web import admin, planning, reports, tasks, transfer, updates, views, zone_admin  # noqa: E402,F401  (registers the routes)
