"""`khgeo seed --demo-parcels` (issue 14): never by default; illustrative parcels inside each seeded zone's outline,
stages spread, dates in the past, named "Hộ minh họa …", marked illustrative on the pages; idempotent; the zones'
figures then follow from them."""

from __future__ import annotations

from sqlalchemy import func, select, text

from khgeo.cli import main
from khgeo.models import Parcel, ParcelStep, Zone
from tests.conftest import FROZEN_TODAY
from tests.helpers import client_as


def _count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_plain_seed_makes_no_parcels(app, db):
    result = app.test_cli_runner().invoke(main, ["seed"])
    assert result.exit_code == 0, result.output
    assert _count(db, Parcel) == 0


def test_demo_parcels_are_illustrative_inside_their_zones_and_idempotent(app, db):
    result = app.test_cli_runner().invoke(main, ["seed", "--demo-parcels"])
    assert result.exit_code == 0, result.output
    assert "illustrative parcels:" in result.output
    count = _count(db, Parcel)
    with db.session() as session:
        zones = session.scalar(
            select(func.count()).select_from(Zone).where(Zone.geom.is_not(None), Zone.retired_at.is_(None))
        )
        assert count >= 100 * zones
        assert session.scalar(select(func.count()).where(~Parcel.illustrative)) == 0
        assert (
            session.scalar(
                select(func.count()).select_from(Parcel).where(~Parcel.land_user_name.like("Hộ minh họa %"))
            )
            == 0
        )
        outside = session.execute(
            text(
                "SELECT count(*) FROM parcels p JOIN zones z ON z.id = p.zone_id WHERE NOT ST_CoveredBy(ST_Buffer(p.geom, -0.000001), z.geom)"
            )
        ).scalar_one()
        assert outside == 0
        stages = set(session.scalars(select(Parcel.stage).distinct()))
        assert len(stages) >= 6
        assert session.scalar(select(func.max(ParcelStep.date))) <= FROZEN_TODAY
        # a step's date never before the previous stage's: ordered like the stages
        assert session.scalar(select(func.max(Parcel.stage_date))) <= FROZEN_TODAY
        quang_chau = session.scalars(select(Zone).where(Zone.code == "kcn-quang-chau")).one()
        assert quang_chau.clearance_from_parcels and quang_chau.parcel_count > 100
    again = app.test_cli_runner().invoke(main, ["seed", "--demo-parcels"])
    assert again.exit_code == 0 and _count(db, Parcel) == count
    page = client_as(app, "viewer").get("/zones/kcn-quang-chau").get_data(as_text=True)
    assert "Thửa đất minh họa" in page and "theo thửa đất" in page
