"""Areas of responsibility by unit (issue 13): a field account scoped to units of 2025 or 2022 updates the zones
lying there today on every channel; accounts scoped to districts before the units existed keep exactly their reach."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from khgeo import migrate
from khgeo.cli import main
from khgeo.db import Database
from khgeo.errors import BadRequest
from khgeo.models import User, Zone
from khgeo.services import accounts, authz
from khgeo.services.seed import seed
from tests.conftest import new_database
from tests.helpers import PASSWORD, add_token, csrf_of, logged_in

NENH_ZONES = {"kcn-quang-chau", "kcn-dinh-tram", "kcn-van-trung", "kcn-viet-han"}


def _create(db, username: str, *, units=(), districts=()) -> None:
    with db.session() as session:
        accounts.create_user(
            session, username, PASSWORD, "field", units=list(units), districts=list(districts)
        )


def _reach(db, username: str) -> set[str]:
    with db.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return {zone.code for zone in session.scalars(select(Zone)) if authz.can_update_status(user, zone)}


def _version(db, code: str) -> int:
    with db.session() as session:
        return session.scalar(select(Zone.version).where(Zone.code == code))


def test_the_cli_creates_a_field_officer_of_a_2025_ward(app, db):
    result = app.test_cli_runner().invoke(
        main,
        ["users", "create", "nenh", "--role", "field", "--unit", "Phường Nếnh", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Phường Nếnh" in result.output
    assert (
        _reach(db, "nenh") == NENH_ZONES
    )  # the three KCN there (and Việt Hàn, which also reaches Phường Việt Yên)


def test_an_unknown_unit_creates_no_account(app, db):
    result = app.test_cli_runner().invoke(
        main,
        ["users", "create", "nowhere", "--role", "field", "--unit", "Atlantis", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code != 0 and "Atlantis" in result.output and "Traceback" not in result.output
    with db.session() as session:
        assert session.scalar(select(User.id).where(User.username == "nowhere")) is None


@pytest.mark.parametrize(
    ("units", "reach"),
    [
        (["07795"], NENH_ZONES),
        (["xã Quang Châu"], NENH_ZONES),  # a 2022 commune: the 2025 ward it is part of
        (["Xã Xuân Cẩm"], {"kcn-hoa-phu", "kcn-hoa-phu-mo-rong-gd1"}),
        (["Phường Nếnh", "Xuân Cẩm"], NENH_ZONES | {"kcn-hoa-phu", "kcn-hoa-phu-mo-rong-gd1"}),
    ],
)
def test_units_of_either_period_give_the_zones_lying_there_today(db, units, reach):
    username = f"f-{uuid.uuid4().hex[:6]}"
    _create(db, username, units=units)
    assert _reach(db, username) == reach


def test_an_ambiguous_unit_is_refused(db):
    with pytest.raises(BadRequest) as error, db.session() as session:
        accounts.create_user(session, "dongtien", PASSWORD, "field", units=["Đồng Tiến"])
    assert "07243" in str(error.value.message)


def test_the_nenh_officer_on_every_channel(app, db):
    _create(db, "nenh", units=["Phường Nếnh"])
    client = logged_in(app, "nenh")
    token = add_token(db, "nenh")
    for code, allowed in (("kcn-quang-chau", True), ("kcn-hoa-phu", False)):
        # the form
        version = _version(db, code)
        page = client.get("/zones/kcn-quang-chau/update")
        form = {
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "version": str(version),
            "request_id": str(uuid.uuid4()),
            "as_of": "2026-11-20",
            "infrastructure_pct": "55",
            "note": "Phường Nếnh",
        }
        response = client.post(f"/zones/{code}/update", data=form)
        assert response.status_code == (303 if allowed else 403)
        assert _version(db, code) == version + (1 if allowed else 0)
        # the API
        version = _version(db, code)
        response = app.test_client().patch(
            f"/api/zones/{code}",
            json={"occupancy_pct": 60, "as_of": "2026-11-21"},
            headers={"Authorization": f"Bearer {token}", "If-Match": f'"{version}"'},
        )
        assert response.status_code == (200 if allowed else 403)
        assert _version(db, code) == version + (1 if allowed else 0)
        # the zone page offers the update only where it is allowed
        assert (f"/zones/{code}/update" in client.get(f"/zones/{code}").get_data(as_text=True)) == allowed


def test_a_district_account_keeps_exactly_its_reach_across_the_migration(pg_cluster):
    """Accounts scoped to districts at 0019 reach, after upgrading and seeding the units, the same zones."""
    name = new_database(pg_cluster, template=None)
    database = Database(pg_cluster.url(name))
    try:
        migrate.upgrade(database)
        with database.session() as session:
            seed(session)
        migrate.downgrade(database, "0019")
        before = {}
        with database.engine.begin() as conn:
            for district in ("213", "221", "222", "223"):
                username = f"field-{district}"
                user_id = conn.execute(
                    text(
                        "INSERT INTO users (username, display_name, password_hash, role, active) "
                        "VALUES (:u, '', 'x', 'field', true) RETURNING id"
                    ),
                    {"u": username},
                ).scalar_one()
                conn.execute(
                    text(
                        "INSERT INTO user_districts (user_id, district_id) "
                        "SELECT :user, id FROM districts WHERE code = :code"
                    ),
                    {"user": user_id, "code": district},
                )
                before[username] = set(
                    conn.execute(
                        text(
                            "SELECT z.code FROM zones z JOIN user_districts ud ON ud.district_id = z.district_id "
                            "WHERE ud.user_id = :user"
                        ),
                        {"user": user_id},
                    ).scalars()
                )
        migrate.upgrade(database)
        with database.session() as session:
            seed(session)  # the units arrive with the seed
        for username, zones in before.items():
            assert zones, "each district has zones"
            assert _reach(database, username) == zones
    finally:
        database.engine.dispose()
        pg_cluster.drop_database(name)
