"""Parcels' stages (issue 14): forward only, dates in order, corrections by admins, batches with per-parcel
conflicts, idempotent retries, and the zone's figures derived from its parcels, against hand-computed ones."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from khgeo.errors import ValidationFailed
from khgeo.models import AuditEvent, Parcel, ParcelEvent, ParcelStep, User, Zone, ZoneUpdate
from khgeo.services import accounts
from khgeo.services.parcels import derive, stages
from tests.parcel_helpers import make_parcel

TODAY = dt.date(2026, 11, 26)
ZONE = "kcn-van-trung"


@pytest.fixture
def session(app, db):
    with app.app_context():
        with db.session() as s:
            accounts.create_user(s, "lan1", "mat-khau-dai-du-10", "admin")
            accounts.create_user(s, "tu1", "mat-khau-dai-du-10", "field", districts=["Việt Yên"])
            accounts.create_user(s, "an1", "mat-khau-dai-du-10", "field", districts=["Hiệp Hòa"])
        session = db.sessions()
        yield session
        session.close()


def _user(session, name="lan1") -> User:
    return session.scalars(select(User).where(User.username == name)).one()


def _parcel(session, uid) -> Parcel:
    session.expire_all()
    return session.scalars(select(Parcel).where(Parcel.uid == uid)).one()


def _change(stage, day, **kw):
    return stages.parse_change({"stage": stage, "date": day, **kw}, TODAY)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_stage_moves_forward_with_its_date_and_document_and_history(session):
    uid = make_parcel(session, ZONE, 1, stage="notified", stage_date=dt.date(2026, 6, 1))
    change = _change(
        "inventoried",
        "15/06/2026",
        document={"number": "12/QĐ-UBND", "date": "2026-06-14", "signer": "Chủ tịch"},
    )
    result = stages.apply_stage(session, _user(session), [(uid, 1)], change, today=TODAY)
    session.commit()
    assert result.saved == [{"uid": uid, "version": 2}] and result.conflicts == []
    parcel = _parcel(session, uid)
    assert (parcel.stage, parcel.stage_date, parcel.version) == ("inventoried", dt.date(2026, 6, 15), 2)
    step = session.scalars(select(ParcelStep).where(ParcelStep.parcel_id == parcel.id)).one()
    assert (step.document_number, step.document_date, step.document_signer) == (
        "12/QĐ-UBND",
        dt.date(2026, 6, 14),
        "Chủ tịch",
    )
    event = session.scalars(select(ParcelEvent).where(ParcelEvent.parcel_id == parcel.id)).one()
    assert event.kind == "stage" and event.changes["stage"] == ["notified", "inventoried"]
    assert event.document["number"] == "12/QĐ-UBND" and event.user.username == "lan1"
    assert (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_id == uid)) == 1
    )


def test_skipping_forward_is_allowed(session):
    uid = make_parcel(session, ZONE, 1)
    result = stages.apply_stage(
        session, _user(session), [(uid, 1)], _change("plan_approved", "2026-05-01"), today=TODAY
    )
    assert result.conflicts == []
    assert _parcel(session, uid).stage == "plan_approved"


@pytest.mark.parametrize(
    ("stage", "day", "expected"),
    [
        ("notified", "2026-07-01", "các bước chỉ đi tiến"),  # backwards
        ("inventoried", "2026-07-01", "đã ở bước Đã kiểm đếm"),  # the same stage
        ("plan_posted", "2026-05-31", "trước ngày của bước trước (01/06/2026)"),
    ],
)
def test_backwards_or_an_earlier_date_is_refused_and_nothing_is_written(session, stage, day, expected):
    uid = make_parcel(session, ZONE, 1, stage="inventoried", stage_date=dt.date(2026, 6, 1))
    session.commit()
    before = (_count(session, ParcelEvent), _count(session, ParcelStep), _count(session, ZoneUpdate))
    result = stages.apply_stage(session, _user(session), [(uid, 1)], _change(stage, day), today=TODAY)
    session.commit()
    assert result.saved == []
    assert expected in str(result.conflicts[0]["reason"])
    assert result.conflicts[0]["current_stage"] == "inventoried"
    assert (_count(session, ParcelEvent), _count(session, ParcelStep), _count(session, ZoneUpdate)) == before
    assert _parcel(session, uid).version == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stage": "flying", "date": "2026-06-01"}, "stage"),
        ({"stage": "paid", "date": "31/02/2026"}, "date"),
        ({"stage": "paid", "date": "2027-01-01"}, "date"),  # future
        ({"stage": "paid"}, "date"),
    ],
)
def test_a_bad_request_names_the_field(data, field, app):
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            stages.parse_change(data, TODAY)
    assert field in caught.value.errors


def test_a_correction_goes_back_only_for_an_admin_with_a_reason(session):
    uid = make_parcel(session, ZONE, 1, stage="notified", stage_date=dt.date(2026, 3, 1))
    admin = _user(session)
    stages.apply_stage(session, admin, [(uid, None)], _change("inventoried", "2026-04-01"), today=TODAY)
    stages.apply_stage(session, admin, [(uid, None)], _change("plan_posted", "2026-05-01"), today=TODAY)
    field = _user(session, "tu1")
    refused = stages.apply_stage(
        session,
        field,
        [(uid, None)],
        _change("inventoried", "2026-04-02", correction_reason="sai"),
        today=TODAY,
    )
    assert "Chỉ Ban quản lý" in str(refused.conflicts[0]["reason"])
    done = stages.apply_stage(
        session,
        admin,
        [(uid, None)],
        _change("inventoried", "2026-04-02", correction_reason="Nhập nhầm ngày niêm yết"),
        today=TODAY,
    )
    session.commit()
    assert done.conflicts == []
    parcel = _parcel(session, uid)
    assert (parcel.stage, parcel.stage_date) == ("inventoried", dt.date(2026, 4, 2))
    steps = {s.stage for s in session.scalars(select(ParcelStep).where(ParcelStep.parcel_id == parcel.id))}
    assert steps == {"inventoried"}  # the plan_posted step is gone (the history keeps it)
    kinds = [
        e.kind
        for e in session.scalars(
            select(ParcelEvent).where(ParcelEvent.parcel_id == parcel.id).order_by(ParcelEvent.id)
        )
    ]
    assert kinds == ["stage", "stage", "correction"]
    last = session.scalars(select(ParcelEvent).where(ParcelEvent.kind == "correction")).one()
    assert "Nhập nhầm" in last.note and last.changes["stage"] == ["plan_posted", "inventoried"]


def test_a_batch_with_one_stale_parcel_saves_the_others(session):
    uids = [
        make_parcel(session, ZONE, n, stage="plan_approved", stage_date=dt.date(2026, 9, 1))
        for n in range(1, 6)
    ]
    session.commit()
    admin = _user(session)
    # someone moved the third one on meanwhile
    stages.apply_stage(session, admin, [(uids[2], 1)], _change("paid", "2026-09-10"), today=TODAY)
    session.commit()
    items = [(uid, 1) for uid in uids]
    result = stages.apply_stage(session, admin, items, _change("paid", "2026-09-20"), today=TODAY)
    session.commit()
    assert [s["uid"] for s in result.saved] == [uids[0], uids[1], uids[3], uids[4]]
    assert [c["uid"] for c in result.conflicts] == [uids[2]]
    assert result.conflicts[0]["current_version"] == 2 and "đã thay đổi từ khi bạn đọc" in str(
        result.conflicts[0]["reason"]
    )
    assert _parcel(session, uids[2]).stage_date == dt.date(2026, 9, 10)  # untouched
    assert _parcel(session, uids[0]).stage_date == dt.date(2026, 9, 20)


def test_field_staff_update_only_the_parcels_of_their_area(session):
    uid = make_parcel(session, ZONE, 1, stage="notified", stage_date=dt.date(2026, 6, 1))  # Việt Yên
    other = stages.apply_stage(
        session, _user(session, "an1"), [(uid, 1)], _change("inventoried", "2026-07-01"), today=TODAY
    )
    assert "ngoài địa bàn" in str(other.conflicts[0]["reason"])
    own = stages.apply_stage(
        session, _user(session, "tu1"), [(uid, 1)], _change("inventoried", "2026-07-01"), today=TODAY
    )
    assert own.conflicts == []


def test_a_retry_with_the_same_key_writes_nothing_and_answers_as_the_first_time(session):
    uids = [make_parcel(session, ZONE, n, stage="notified", stage_date=dt.date(2026, 6, 1)) for n in (1, 2)]
    session.commit()
    key = uuid.uuid4()
    items = [(uid, 1) for uid in uids]
    first = stages.apply_stage(
        session, _user(session), items, _change("inventoried", "2026-07-01"), today=TODAY, request_key=key
    )
    session.commit()
    events = _count(session, ParcelEvent)
    again = stages.apply_stage(
        session, _user(session), items, _change("inventoried", "2026-07-01"), today=TODAY, request_key=key
    )
    session.commit()
    assert again.replayed and sorted(again.saved, key=lambda s: s["uid"]) == sorted(
        first.saved, key=lambda s: s["uid"]
    )
    assert _count(session, ParcelEvent) == events


def test_the_zone_figures_follow_from_its_parcels(session):
    zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
    typed = (zone.clearance_area_ha, zone.cleared_area_ha)
    # legal area wins over the outline's; handed over counts as cleared; paid and beyond count as agreed
    make_parcel(
        session,
        ZONE,
        1,
        stage="handed_over",
        stage_date=dt.date(2026, 5, 1),
        legal_area=12000,
        area=11000,
        households=2,
    )
    make_parcel(
        session,
        ZONE,
        2,
        stage="paid",
        stage_date=dt.date(2026, 5, 1),
        legal_area=None,
        area=8000,
        households=3,
    )
    make_parcel(
        session,
        ZONE,
        3,
        stage="plan_approved",
        stage_date=dt.date(2026, 5, 1),
        legal_area=5000,
        area=1,
        households=4,
    )
    make_parcel(session, ZONE, 4, stage="not_notified", legal_area=None, area=5000.4, households=None)
    changed = derive.refresh_zones(session, [zone.id], today=TODAY)
    session.commit()
    assert changed == [zone.id]
    session.expire_all()
    zone = session.scalars(select(Zone).where(Zone.code == ZONE)).one()
    # area to clear: 12000 + 8000 + 5000 + 5000.4 = 30000.4 m² = 3.00 ha; cleared 12000 m² = 1.20 ha
    assert (zone.clearance_area_ha, zone.cleared_area_ha, zone.clearance_pct) == (
        Decimal("3.00"),
        Decimal("1.20"),
        Decimal("40.0"),
    )
    assert (zone.households_total, zone.households_agreed) == (9, 5)
    assert zone.clearance_from_parcels and zone.parcel_count == 4 and zone.as_of == TODAY
    entry = session.scalars(
        select(ZoneUpdate).where(ZoneUpdate.zone_id == zone.id, ZoneUpdate.kind == "parcels")
    ).one()
    assert entry.changes["cleared_area_ha"] == [float(typed[1]) if typed[1] is not None else None, 1.2]
    assert entry.zone_version == zone.version
    # nothing changed: no new version, no new entry
    assert derive.refresh_zones(session, [zone.id], today=TODAY) == []


def test_a_batch_moves_the_zone_figures_in_the_same_transaction(session):
    uids = [
        make_parcel(session, ZONE, n, stage="recovery_decided", stage_date=dt.date(2026, 9, 1), area=10000)
        for n in range(1, 5)
    ]
    zone_id = session.scalars(select(Zone.id).where(Zone.code == ZONE)).one()
    derive.refresh_zones(session, [zone_id], today=TODAY)
    session.commit()
    stages.apply_stage(
        session, _user(session), [(u, 1) for u in uids[:3]], _change("handed_over", "2026-10-01"), today=TODAY
    )
    session.rollback()  # nothing of it stays: the parcels and the figures go together
    zone = session.get(Zone, zone_id)
    assert zone.cleared_area_ha == Decimal("0.00") and _parcel(session, uids[0]).stage == "recovery_decided"
    stages.apply_stage(
        session, _user(session), [(u, 1) for u in uids[:3]], _change("handed_over", "2026-10-01"), today=TODAY
    )
    session.commit()
    session.expire_all()
    zone = session.get(Zone, zone_id)
    assert (zone.cleared_area_ha, zone.clearance_pct) == (Decimal("3.00"), Decimal("75.0"))


def test_two_batches_on_one_zone_at_once_lose_no_figure(app, db):
    """Each batch derives the zone's figures; the later one must count the earlier one's parcels."""
    import threading

    with app.app_context():
        with db.session() as s:
            uids = [
                make_parcel(s, ZONE, n, stage="recovery_decided", stage_date=dt.date(2026, 9, 1), area=10000)
                for n in range(1, 5)
            ]
            zone_id = s.scalars(select(Zone.id).where(Zone.code == ZONE)).one()
            derive.refresh_zones(s, [zone_id], today=TODAY)
            accounts.create_user(s, "lan2", "mat-khau-dai-du-10", "admin")
        first, second = db.sessions(), db.sessions()
        try:
            admin = first.scalars(select(User).where(User.username == "lan2")).one()
            stages.apply_stage(
                first, admin, [(u, 1) for u in uids[:2]], _change("handed_over", "2026-10-01"), today=TODAY
            )
            done = threading.Event()

            def later():
                with app.app_context():
                    user = second.scalars(select(User).where(User.username == "lan2")).one()
                    stages.apply_stage(
                        second,
                        user,
                        [(u, 1) for u in uids[2:]],
                        _change("handed_over", "2026-10-02"),
                        today=TODAY,
                    )
                    second.commit()
                    done.set()

            thread = threading.Thread(target=later)
            thread.start()
            assert not done.wait(1.0), "the second batch waits for the zone"
            first.commit()
            thread.join(20)
            assert done.is_set()
        finally:
            first.close()
            second.close()
        with db.session() as s:
            zone = s.get(Zone, zone_id)
            assert (zone.cleared_area_ha, zone.clearance_pct) == (Decimal("4.00"), Decimal("100.0"))
