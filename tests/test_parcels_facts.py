"""A parcel's flags (enforcement, dispute, resettlement, compulsory inventory) and compensation amounts: set by the
field staff of its area and admins, versioned, in its history; bad values change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from khgeo.models import AuditEvent, Parcel, ParcelEvent
from tests.helpers import add_token, client_as, csrf_of, make_user
from tests.parcel_helpers import make_parcel

ZONE = "kcn-van-trung"  # Việt Yên: the default field account's district


@pytest.fixture
def parcel(app, db):
    with db.session() as session:
        return make_parcel(session, ZONE, 1, stage="paid", stage_date=dt.date(2026, 9, 1), area=5000)


def _stored(db, uid):
    with db.session() as session:
        row = session.scalars(select(Parcel).where(Parcel.uid == uid)).one()
        events = session.scalar(
            select(func.count()).select_from(ParcelEvent).where(ParcelEvent.parcel_id == row.id)
        )
        return row, events


def _api(app, role, **options):
    token = add_token(app, make_user(app, role, **options))
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def test_the_api_sets_flags_and_amounts_with_the_version(app, db, parcel):
    client, auth = _api(app, "field")
    body = {
        "dispute": True,
        "resettlement_needed": "true",
        "amount_approved": "1.250.000.000",
        "note": "hộ khiếu nại",
    }
    assert client.patch(f"/api/parcels/{parcel}", json=body, headers=auth).status_code == 428
    saved = client.patch(f"/api/parcels/{parcel}", json=body, headers={**auth, "If-Match": '"1"'})
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["ETag"] == '"2"'
    row, _events = _stored(db, parcel)
    assert row.dispute and row.resettlement_needed and not row.enforcement
    assert int(row.amount_approved) == 1_250_000_000 and row.amount_paid is None and row.stage == "paid"
    with db.session() as session:
        event = session.scalars(select(ParcelEvent).where(ParcelEvent.kind == "edit")).one()
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "parcel.facts")).one()
    assert event.changes["dispute"] == [False, True] and event.changes["amount_approved"] == [
        None,
        1_250_000_000,
    ]
    assert event.note == "hộ khiếu nại" and audit.entity_id == parcel
    stale = client.patch(
        f"/api/parcels/{parcel}", json={"dispute": False}, headers={**auth, "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and _stored(db, parcel)[0].dispute


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount_paid": "mười triệu"}, "amount_paid"),
        ({"amount_paid": "-5"}, "amount_paid"),
        ({"amount_approved": "1" * 20}, "amount_approved"),
        ({"enforcement": "maybe"}, "enforcement"),
    ],
)
def test_a_bad_value_is_named_and_nothing_is_written(app, db, parcel, body, field):
    client, auth = _api(app, "admin")
    response = client.patch(f"/api/parcels/{parcel}", json=body, headers={**auth, "If-Match": '"1"'})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    row, events = _stored(db, parcel)
    assert row.version == 1 and events == 0


def test_only_the_area_and_the_board_may_set_them(app, db, parcel):
    for role, options in (("viewer", {}), ("planner", {}), ("field", {"districts": ["Hiệp Hòa"]})):
        client, auth = _api(app, role, **options)
        response = client.patch(
            f"/api/parcels/{parcel}", json={"dispute": True}, headers={**auth, "If-Match": '"1"'}
        )
        assert response.status_code == 403, role
    assert _stored(db, parcel)[0].version == 1


def test_the_parcel_page_form_sets_them_and_the_history_says_what_changed(app, db, parcel):
    client = client_as(app, "field")
    page = client.get(f"/parcels/{parcel}").get_data(as_text=True)
    assert 'name="amount_paid"' in page
    response = client.post(
        f"/parcels/{parcel}/facts",
        data={
            "csrf_token": csrf_of(page),
            "version": "1",
            "enforcement": "on",
            "amount_approved": "820.500.000",
            "amount_paid": "820500000",
        },
    )
    assert response.status_code == 302
    after = client.get(f"/parcels/{parcel}").get_data(as_text=True)
    assert "820.500.000 đ / 820.500.000 đ" in after
    assert "cưỡng chế: không → có" in after
    bad = client.post(
        f"/parcels/{parcel}/facts",
        data={"csrf_token": csrf_of(after), "version": "2", "amount_paid": "12,5,7"},
    )
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    assert _stored(db, parcel)[0].version == 2
    viewer = client_as(app, "viewer")
    assert 'name="amount_paid"' not in viewer.get(f"/parcels/{parcel}").get_data(as_text=True)
