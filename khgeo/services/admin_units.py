"""Administrative units (2022 districts) for map overlays and filters."""

from __future__ import annotations

from sqlalchemy import String, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session

from khgeo.models import District

# ~50 m: plenty for an outline drawn under the zones, and 10× fewer vertices than the source
OVERLAY_TOLERANCE_DEG = 0.0005


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.name)))


def districts_overlay_json(session: Session) -> str:
    feature = func.json_build_object(
        "type",
        literal("Feature"),
        "id",
        District.code,
        "geometry",
        cast(
            func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(District.geom, OVERLAY_TOLERANCE_DEG), 5), JSON
        ),
        "properties",
        func.json_build_object("code", District.code, "name", District.full_name),
    )
    rows = (
        select(feature.label("feature")).where(District.geom.is_not(None)).order_by(District.code).subquery()
    )
    query = select(
        cast(
            func.json_build_object(
                "type",
                literal("FeatureCollection"),
                "features",
                func.coalesce(func.json_agg(rows.c.feature), text("'[]'::json")),
            ),
            String,
        )
    )
    return session.execute(query).scalar_one()
