"""JSON for programs: thin adapters over the services."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from khgeo.api import views  # noqa: E402,F401  (registers the routes)
