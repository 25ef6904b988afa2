"""GET /tiles/parcels/{z}/{x}/{y}.mvt: the parcels' vector tiles (khgeo/services/parcels/tiles.py builds them).

Who may read them is the read gate's (khgeo/security.py) and the ACCESS table's (row "tiles"): logged-in users,
by session cookie, Bearer token or HTTP Basic with a token (khgeo/channels.py lists /tiles/ as a program path);
never anonymous visitors, even with KHGEO_PUBLIC_READ on: a parcel's stage ("not yet paid") tells about the
household living on it, so parcels stay with the staff, like tasks.

Caching: ``Cache-Control: private, no-cache`` and an ETag: a browser keeps each tile and asks again with
If-None-Match; the answer is a 304 (one short query, no tile built) until a parcel, a zone, a timer or the date
changes. Not ``public``/``max-age``: the tiles are behind a login (no shared cache may hand them to others) and
a stage set on the map must show at once on the next redraw, not after a cache lifetime.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from khgeo.clock import today
from khgeo.db import get_session
from khgeo.services import authz
from khgeo.services.parcels import tiles

bp = Blueprint("tiles", __name__)
CACHE = "khgeo.tile_cache"  # the app's kept tiles (khgeo.services.parcels.tiles.TileCache), made on first use


@bp.get("/tiles/parcels/<int:z>/<int:x>/<int:y>.mvt")
def parcel_tile(z: int, x: int, y: int):
    authz.require(
        authz.can_read_parcels(current_user), current_user
    )  # the read gate already asked; say it here too
    tiles.check_address(z, x, y)
    tile_filter = tiles.parse_filter(request.args)
    session = get_session()
    day = today()
    tile_state = tiles.state(session, day, tile_filter)
    tag = tiles.etag(tile_state, z, x, y, tile_filter)
    if request.if_none_match.contains(tag):
        response = Response(status=304)
    else:
        cache = current_app.extensions.setdefault(CACHE, tiles.TileCache(tiles.CACHE_MB * 2**20))
        body = tiles.cached_tile(session, cache, tile_state, tag, z, x, y, tile_filter)
        response = Response(body, mimetype=tiles.MEDIA_TYPE)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Cookie, Authorization"  # whose tile it is (compression adds Accept-Encoding)
    return response
