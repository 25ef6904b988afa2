"""Administrative units (2022 districts) for map overlays and filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session

from khgeo.errors import BadRequest
from khgeo.models import Agency, District

# ~50 m: plenty for an outline drawn under the zones, and 10× fewer vertices than the source
OVERLAY_TOLERANCE_DEG = 0.0005


def match_district(districts: list[District], raw: str) -> District | None:
    """ "Which district is this text?": the GSO code, the name, or the name with its prefix ("Huyện Hiệp Hòa",
    "huyen hiep hoa", "TP Bắc Giang"), diacritics and case ignored. The one unit resolver decides
    (khgeo.services.units.resolve.candidates), among these districts."""
    from khgeo.services.units.resolve import candidates

    found = candidates(districts, str(raw))
    return found[0] if len(found) == 1 else None


def resolve_district(session: Session, raw: str) -> District:
    """The district ``raw`` names (see match_district); BadRequest naming the value otherwise."""
    district = match_district(list(session.scalars(select(District))), raw)
    if district is None:
        raise BadRequest(_l("Unknown district %(value)s", value=raw), field="district")
    return district


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.name)))


def list_agencies(session: Session) -> list[Agency]:
    """The agencies by name, for the filters and forms that offer them."""
    return list(session.scalars(select(Agency).order_by(Agency.name)))


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
