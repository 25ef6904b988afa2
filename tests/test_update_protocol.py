"""The versioned, idempotent update protocol is one service call (khgeo.services.updates.save_update) that the
field form, PATCH /api/zones/<code> and the admins' edit form all go through: replay, version, validate, apply.

Called here without any request, as a script or another adapter would.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from khgeo.errors import ValidationFailed
from khgeo.models import User, Zone, ZoneUpdate
from khgeo.services import accounts, updates, zone_info
from khgeo.services.photos import PhotoRejected

TODAY = "2026-06-15"


@pytest.fixture
def session(app, db):
    with app.app_context():
        with db.session() as session:
            accounts.create_user(session, "lan", "mat-khau-dai-du-10", "admin")
        session = db.sessions()
        yield session
        session.close()


def _zone(session, code: str = "kcn-van-trung") -> Zone:
    return session.scalars(select(Zone).where(Zone.code == code)).one()


def _user(session) -> User:
    return session.scalars(select(User).where(User.username == "lan")).one()


def _entries(session, zone: Zone) -> int:
    return session.scalar(select(func.count()).select_from(ZoneUpdate).where(ZoneUpdate.zone_id == zone.id))


def _save(session, zone, request_id, expected_version, data=None, **extra):
    return updates.save_status_update(
        session,
        zone,
        _user(session),
        data if data is not None else {"infrastructure_pct": "61"},
        expected_version=expected_version,
        today=dt.date.fromisoformat(TODAY),
        channel="api",
        request_id=request_id,
        **extra,
    )


def _never() -> int:
    raise AssertionError("a resend is answered before its version is asked")


def test_a_resend_is_answered_as_the_first_time_and_writes_nothing(session):
    zone, request_id = _zone(session), uuid.uuid4()
    before = _entries(session, zone)
    first = _save(session, zone, request_id, zone.version)
    session.commit()
    assert not first.replayed and first.entry is not None
    assert _entries(session, zone) == before + 1

    again = _save(session, zone, request_id, _never, data={"infrastructure_pct": "99"})
    assert again.replayed and again.entry.id == first.entry.id
    assert _entries(session, zone) == before + 1
    assert zone.infrastructure_pct == 61


def test_a_request_id_saved_for_another_zone_is_refused(session):
    zone, other = _zone(session), session.scalars(select(Zone).where(Zone.code != "kcn-van-trung")).first()
    request_id = uuid.uuid4()
    _save(session, zone, request_id, zone.version)
    session.commit()
    before = _entries(session, other)
    with pytest.raises(updates.RequestIdReused):
        _save(session, other, request_id, other.version)
    assert _entries(session, other) == before


def test_a_stale_version_is_refused_before_photos_and_fields_are_read(session):
    zone = _zone(session)
    before = (_entries(session, zone), zone.version)
    with pytest.raises(updates.VersionConflict):
        _save(
            session,
            zone,
            uuid.uuid4(),
            zone.version - 1,
            data={"nonsense": "x"},
            uploads=[(b"not a photo", "a.jpg")],
        )
    with pytest.raises(PhotoRejected):
        _save(session, zone, uuid.uuid4(), zone.version, uploads=[(b"not a photo", "a.jpg")])
    with pytest.raises(ValidationFailed) as refused:
        _save(session, zone, uuid.uuid4(), zone.version, data={"infrastructure_pct": "140"})
    assert set(refused.value.errors) == {"infrastructure_pct"}
    session.rollback()
    assert (_entries(session, zone), zone.version) == before


def test_the_zones_facts_follow_the_same_protocol(session):
    zone, request_id = _zone(session), uuid.uuid4()
    version = zone.version
    saved = zone_info.save_info_update(
        session,
        zone,
        _user(session),
        {"developer": "Công ty Fuji"},
        expected_version=version,
        request_id=request_id,
    )
    session.commit()
    assert saved.entry is not None and zone.developer == "Công ty Fuji" and zone.version == version + 1
    again = zone_info.save_info_update(
        session, zone, _user(session), {"developer": "Khác"}, expected_version=_never, request_id=request_id
    )
    assert again.replayed and zone.developer == "Công ty Fuji"
    with pytest.raises(ValidationFailed) as mixed:
        zone_info.save_info_update(
            session,
            zone,
            _user(session),
            {"developer": "X", "occupancy_pct": 5},
            expected_version=zone.version,
        )
    assert set(mixed.value.errors) == {"occupancy_pct"}
