"""Day one should not be grey: the board sees which figures are missing and which are stale, and where to fill them."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from khgeo.models import User, Zone
from khgeo.services import accounts, updates
from tests.test_tasks_reading import _login


def _rows(page: str) -> dict[str, str]:
    body = page.split('id="missing-list"')[1].split("</table>")[0]
    return dict(re.findall(r'<tr data-code="([^"]+)"[^>]*>(.*?)</tr>', body, re.S))


def test_the_missing_data_view_lists_unknown_and_stale_figures_with_a_link_to_fill_them(app, db):
    with db.session() as session:
        accounts.create_user(session, "board", "correct horse battery", "admin")
        accounts.create_user(session, "planner", "correct horse battery", "planner")
        session.execute(
            update(Zone).where(Zone.code == "kcn-van-trung").values(wwtp_status=None, occupancy_pct=None)
        )
        session.commit()
        zone = session.scalars(select(Zone).where(Zone.code == "kcn-van-trung")).one()
        unknown_in_db = {
            "wwtp": zone.wwtp_status is None,
            "occupancy": zone.occupancy_pct is None,
            "infrastructure": zone.infrastructure_pct is None,
            "area": zone.stated_area_ha is None,
        }
    board = app.test_client()
    _login(board, "board")
    page = board.get("/planning/missing").get_data(as_text=True)
    assert "Số liệu còn thiếu" in page
    rows = _rows(page)
    van_trung = rows["kcn-van-trung"]
    shown = set(re.findall(r'data-figure="([^"]+)"', van_trung))
    assert {key for key, unknown in unknown_in_db.items() if unknown} <= shown
    assert {key for key, unknown in unknown_in_db.items() if not unknown}.isdisjoint(shown)
    assert 'href="/zones/kcn-van-trung/update"' in van_trung  # the board may fill it
    # nothing is invented: a zone listed shows no figure the database holds as known
    assert "Xử lý nước thải" in van_trung

    # stale: a fresh update removes the zone from the "older than 30 days" list unless figures are missing
    with app.app_context(), db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == "kcn-van-trung")).one()
        user = session.scalars(select(User).where(User.username == "board")).one()
        change = updates.validate(
            zone,
            {
                "wwtp_status": "operating",
                "occupancy_pct": "80",
                "infrastructure_pct": "90",
                "as_of": "2026-11-20",
            },
            dt.date(2026, 11, 26),
        )
        updates.apply_status_update(
            session, zone, user, expected_version=zone.version, change=change, today=dt.date(2026, 11, 26)
        )
        session.commit()
    page = board.get("/planning/missing?days=30").get_data(as_text=True)
    row = _rows(page).get("kcn-van-trung", "")
    assert "20/11/2026" in row or "kcn-van-trung" not in _rows(page)
    assert "wwtp" not in set(re.findall(r'data-figure="([^"]+)"', row))
    old = board.get("/planning/missing?days=1").get_data(as_text=True)
    assert "20/11/2026" in _rows(old)["kcn-van-trung"] and "số liệu cũ" in _rows(old)["kcn-van-trung"]
    assert board.get("/planning/missing?days=abc").status_code == 400

    # the nav links it for planners and the board, not for other readers
    planner = app.test_client()
    _login(planner, "planner")
    assert 'href="/planning/missing"' in planner.get("/").get_data(as_text=True)
    assert 'href="/planning/missing"' in board.get("/").get_data(as_text=True)
    assert 'href="/planning/missing"' not in app.test_client().get("/").get_data(as_text=True)
    # a planner cannot update zones: no update link, the zone page instead
    assert 'href="/zones/kcn-van-trung/update"' not in planner.get("/planning/missing").get_data(as_text=True)
