"""The offline app keeps the parcel pages of the user's area (issue 16 with issue 14): listed in /offline/state.json,
marked for the worker, and downloaded again when a parcel changes; never a parcel outside the area."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import client_as, csrf_of
from tests.parcel_helpers import make_parcel

IN_AREA = "kcn-van-trung"  # Việt Yên: the default field account's district
OUTSIDE = "kcn-hoa-phu"  # Hiệp Hòa


@pytest.fixture
def parcels(app, db):
    with db.session() as session:
        inside = make_parcel(session, IN_AREA, 1, stage="notified", stage_date=dt.date(2026, 9, 1))
        outside = make_parcel(session, OUTSIDE, 2, stage="notified", stage_date=dt.date(2026, 9, 1))
    return inside, outside


def test_the_area_s_parcel_pages_are_kept_and_no_other(app, parcels):
    inside, outside = parcels
    field = client_as(app, "field")
    state = field.get("/offline/state.json").get_json()
    assert f"/parcels/{inside}" in state["urls"] and f"/parcels/{outside}" not in state["urls"]
    background = {"X-Khgeo-Precache": "1"}
    assert field.get(f"/parcels/{inside}", headers=background).headers.get("X-Khgeo-Offline") == "keep"
    other = field.get(f"/parcels/{outside}", headers=background)
    assert other.status_code == 200 and "X-Khgeo-Offline" not in other.headers


def test_a_parcel_change_makes_the_phone_download_the_area_again(app, parcels):
    inside, _outside = parcels
    field = client_as(app, "field")
    before = field.get("/offline/state.json").get_json()["version"]
    assert field.get("/offline/state.json").get_json()["version"] == before, "stable while nothing changes"
    page = field.get(f"/parcels/{inside}").get_data(as_text=True)
    saved = field.post(
        f"/parcels/{inside}/facts", data={"csrf_token": csrf_of(page), "version": "1", "dispute": "on"}
    )
    assert saved.status_code == 302
    assert field.get("/offline/state.json").get_json()["version"] != before
