"""Legal timers as data (issue 14): due dates across month ends and leap years, the same in Python and in SQL,
overdue against the province's today, conditions, and rows without a citation refused (service and database)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from khgeo.errors import ValidationFailed
from khgeo.models import Parcel, ParcelTimer
from khgeo.services.parcels import timers
from tests.parcel_helpers import make_parcel

ZONE = "kcn-van-trung"


@pytest.mark.parametrize(
    ("start", "months", "days", "end"),
    [
        (dt.date(2026, 1, 31), 1, 0, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, 0, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2028, 2, 29), 12, 0, dt.date(2029, 2, 28)),
        (dt.date(2026, 3, 31), 1, 0, dt.date(2026, 4, 30)),
        (dt.date(2026, 12, 15), 0, 30, dt.date(2027, 1, 14)),
        (dt.date(2028, 2, 15), 0, 30, dt.date(2028, 3, 16)),
        (dt.date(2026, 1, 31), 1, 1, dt.date(2026, 3, 1)),  # months first, then days: as PostgreSQL
    ],
)
def test_due_dates_clamp_month_ends_like_postgresql(db, start, months, days, end):
    assert timers.add_period(start, months, days) == end
    with db.session() as session:
        in_sql = session.execute(
            text("SELECT (CAST(:start AS date) + make_interval(0, :months, 0, :days))::date"),
            {"start": start, "months": months, "days": days},
        ).scalar_one()
    assert in_sql == end


def _overdue_in_sql(session, uid, today):
    return session.scalar(select(timers.overdue_clause(today)).select_from(Parcel).where(Parcel.uid == uid))


def test_the_seeded_timers_carry_their_citations(db):
    with db.session() as session:
        rows = {t.code: t for t in timers.all_timers(session)}
    assert {"notice_validity", "plan_posting", "payment", "recovery_decision", "compulsory_inventory"} <= set(
        rows
    )
    assert all(t.citation.strip() for t in rows.values())
    assert (rows["notice_validity"].months, rows["payment"].days, rows["plan_posting"].days) == (12, 30, 30)
    assert (
        rows["notice_ahead_agricultural"].kind == "earliest" and rows["notice_ahead_agricultural"].days == 90
    )


@pytest.mark.parametrize(
    ("stage", "reached", "today", "resettlement", "overdue", "code"),
    [
        # payment: 30 days from the plan's approval; the end day itself is still in time
        ("plan_approved", dt.date(2026, 1, 31), dt.date(2026, 3, 2), True, False, "payment"),
        ("plan_approved", dt.date(2026, 1, 31), dt.date(2026, 3, 3), True, True, "payment"),
        # no resettlement: the recovery decision within 10 days runs too, and ends first
        ("plan_approved", dt.date(2026, 1, 31), dt.date(2026, 2, 11), False, True, "recovery_decision"),
        # the notice is valid 12 months: from 29/02/2028 to 28/02/2029
        ("notified", dt.date(2028, 2, 29), dt.date(2029, 2, 28), False, False, "notice_validity"),
        ("notified", dt.date(2028, 2, 29), dt.date(2029, 3, 1), False, True, "notice_validity"),
        ("handed_over", dt.date(2020, 1, 1), dt.date(2026, 1, 1), False, False, None),
    ],
)
def test_which_timer_runs_and_whether_it_is_overdue_in_python_and_sql(
    db, stage, reached, today, resettlement, overdue, code
):
    with db.session() as session:
        uid = make_parcel(session, ZONE, 1, stage=stage, stage_date=reached, resettlement=resettlement)
        parcel = session.scalars(select(Parcel).where(Parcel.uid == uid)).one()
        running = timers.running(timers.active_timers(session), parcel, today)
        assert any(r.overdue for r in running) == overdue
        assert _overdue_in_sql(session, uid, today) == overdue
        deadlines = [r for r in running if r.timer.kind == "deadline"]
        assert (deadlines[0].timer.code if deadlines else None) == code


def test_the_notice_ahead_timer_follows_the_land_type(db):
    with db.session() as session:
        rice = make_parcel(
            session, ZONE, 1, stage="notified", stage_date=dt.date(2026, 1, 1), land_type="LUC"
        )
        house = make_parcel(
            session, ZONE, 2, stage="notified", stage_date=dt.date(2026, 1, 1), land_type="ONT"
        )
        found = {}
        for uid in (rice, house):
            parcel = session.scalars(select(Parcel).where(Parcel.uid == uid)).one()
            earliest = [
                r
                for r in timers.running(timers.active_timers(session), parcel, dt.date(2026, 2, 1))
                if r.timer.kind == "earliest"
            ]
            found[uid] = (earliest[0].end, earliest[0].overdue)
    assert found[rice] == (dt.date(2026, 4, 1), False)  # 90 days
    assert found[house] == (dt.date(2026, 6, 30), False)  # 180 days: never "overdue", a "not before"


def test_a_board_correction_moves_the_due_dates(db):
    with db.session() as session:
        uid = make_parcel(session, ZONE, 1, stage="plan_posted", stage_date=dt.date(2026, 1, 1))
        timer = session.scalars(select(ParcelTimer).where(ParcelTimer.code == "plan_posting")).one()
        assert _overdue_in_sql(session, uid, dt.date(2026, 2, 5)) is True
        data = {name: getattr(timer, name) for name in timers.TIMER_FIELDS}
        timers.save_timer(session, timer, {**data, "days": "45"})
        assert _overdue_in_sql(session, uid, dt.date(2026, 2, 5)) is False


@pytest.mark.parametrize("citation", ["", "   "])
def test_a_timer_without_a_citation_is_refused(app, db, citation):
    with db.session() as session:
        timer = session.scalars(select(ParcelTimer).where(ParcelTimer.code == "payment")).one()
        data = {name: getattr(timer, name) for name in timers.TIMER_FIELDS}
        with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
            timers.save_timer(session, timer, {**data, "citation": citation})
        assert "citation" in caught.value.errors
    with db.session() as session, pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE parcel_timers SET citation = :c WHERE code = 'payment'"), {"c": citation}
        )
        session.flush()


def test_the_board_edits_a_timer_on_its_page(app, db):
    from tests.helpers import client_as, csrf_of

    client = client_as(app, "admin")
    page = client.get("/admin/parcel-timers").get_data(as_text=True)
    assert "nguồn thứ cấp" in page
    # kinds and conditions in words, not their stored keys
    assert ">Thời hạn (quá hạn sau ngày này)</option>" in page and ">Đất nông nghiệp</option>" in page
    assert ">deadline</option>" not in page and ">agricultural</option>" not in page
    with db.session() as session:
        timer = session.scalars(select(ParcelTimer).where(ParcelTimer.code == "payment")).one()
        form = {name: str(getattr(timer, name) or "") for name in timers.TIMER_FIELDS}
        timer_id = timer.id
    form.update(csrf_token=csrf_of(page), active="1", citation="")
    refused = client.post(f"/admin/parcel-timers/{timer_id}", data=form)
    assert refused.status_code == 422
    form["citation"] = "Luật Đất đai 2024, Điều 94 (đã đối chiếu)"
    assert client.post(f"/admin/parcel-timers/{timer_id}", data=form).status_code == 302
    with db.session() as session:
        assert session.get(ParcelTimer, timer_id).citation.endswith("(đã đối chiếu)")
    assert client_as(app, "field").get("/admin/parcel-timers").status_code == 403
