"""HTML pages: parse the request, call services, render a template."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from khgeo.web import (  # noqa: E402,F401  (registers the routes)
    admin,
    followup,
    offline,
    planning,
    reports,
    tasks,
    transfer,
    units,
    updates,
    views,
    zone_admin,
)
