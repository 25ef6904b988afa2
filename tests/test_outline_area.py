"""An outline has one area: what the edit form and the API report when it is checked is what the zone stores
(Zone.computed_area_ha, in the one metric CRS), not a second measure that disagrees in the fourth digit."""

from __future__ import annotations

import pytest
from shapely.geometry import box
from sqlalchemy import text

from khgeo.services.geometry import check_outline


def test_a_checked_outline_reports_the_area_the_zone_then_stores(db):
    drawn = box(106.20, 21.30, 106.23, 21.32)  # ~3 × 2 km in Việt Yên
    with db.session() as session:
        outline = check_outline(session, drawn, None)
        session.execute(
            text("UPDATE zones SET geom = ST_Multi(ST_GeomFromText(:wkt, 4326)) WHERE code = 'ccn-my-an'"),
            {"wkt": outline.geometry.wkt},
        )
        stored = session.scalar(text("SELECT computed_area_ha FROM zones WHERE code = 'ccn-my-an'"))
    assert outline.area_ha == pytest.approx(stored, rel=1e-9)
