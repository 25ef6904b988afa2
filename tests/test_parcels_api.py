"""The parcels' API and pages (issue 14): who may read and update on every route, personal data masked for
readers and audited for those who see it, If-Match, batches with per-parcel conflicts, Idempotency-Key, and the
zone that follows from its parcels (typed figures refused)."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from sqlalchemy import func, select, text

from khgeo.models import AuditEvent, Zone
from khgeo.services.parcels import derive
from tests.helpers import add_token, client_as, csrf_of, hidden, make_user
from tests.parcel_helpers import make_parcel

ZONE = "kcn-van-trung"  # Việt Yên
NAME = "Trần Thị Mai"


@pytest.fixture
def parcels(app, db):
    with db.session() as session:
        uids = [
            make_parcel(
                session, ZONE, n, stage="plan_approved", stage_date=dt.date(2026, 9, 1), name=NAME, area=10000
            )
            for n in range(1, 4)
        ]
        zone_id = session.scalars(select(Zone.id).where(Zone.code == ZONE)).one()
        derive.refresh_zones(session, [zone_id], today=dt.date(2026, 11, 26))
    return uids


def _token_client(app, role, **options):
    username = make_user(app, role, **options)
    token = add_token(app, username)
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _audits(db, action="parcel.personal_view") -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _body(uids, stage="paid", day="2026-11-20", **extra):
    return {
        "parcels": [{"uid": uid, "version": 1} for uid in uids],
        "stage": stage,
        "date": day,
        "document": {"number": "55/QĐ-UBND", "date": "2026-11-19", "signer": "Chủ tịch UBND xã"},
        **extra,
    }


def test_anonymous_callers_get_nothing(client, parcels):
    assert client.get(f"/api/zones/{ZONE}/parcels").status_code == 401
    assert client.get(f"/api/parcels/{parcels[0]}").status_code == 401
    assert client.post("/api/parcels/stage", json=_body(parcels)).status_code == 401
    assert (
        client.patch(f"/api/parcels/{parcels[0]}", json={"stage": "paid", "date": "2026-11-20"}).status_code
        == 401
    )
    assert client.get(f"/parcels/{parcels[0]}").status_code == 302


def test_a_viewer_reads_parcels_with_the_land_users_masked_and_nothing_is_audited(app, db, parcels):
    client, auth = _token_client(app, "viewer")
    before = _audits(db)
    collection = client.get(f"/api/zones/{ZONE}/parcels", headers=auth).get_json()
    assert len(collection["features"]) == 3
    props = collection["features"][0]["properties"]
    assert props["land_user_name"] == "Ẩn (dữ liệu cá nhân)" and props["households"] is None
    one = client.get(f"/api/parcels/{parcels[0]}", headers=auth)
    assert one.get_json()["land_user_name"] == "Ẩn (dữ liệu cá nhân)" and one.headers["ETag"] == '"1"'
    assert NAME not in client.get(f"/parcels/{parcels[0]}", headers=auth).get_data(as_text=True)
    assert _audits(db) == before


def test_an_admin_sees_the_land_users_and_each_view_is_audited(app, db, parcels):
    client, auth = _token_client(app, "admin")
    before = _audits(db)
    props = client.get(f"/api/zones/{ZONE}/parcels", headers=auth).get_json()["features"][0]["properties"]
    assert props["land_user_name"] == NAME and props["households"] == 1
    assert client.get(f"/api/parcels/{parcels[0]}", headers=auth).get_json()["land_user_name"] == NAME
    assert _audits(db) == before + 2
    with db.session() as session:
        entity = session.scalars(
            select(AuditEvent.entity_id)
            .where(AuditEvent.action == "parcel.personal_view")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert entity == parcels[0]


def test_field_staff_see_and_update_only_their_area(app, parcels):
    other, other_auth = _token_client(app, "field", districts=["Hiệp Hòa"])
    assert other.get(f"/api/parcels/{parcels[0]}", headers=other_auth).get_json()["land_user_name"] != NAME
    refused = other.patch(
        f"/api/parcels/{parcels[0]}",
        json={"stage": "paid", "date": "2026-11-20"},
        headers={**other_auth, "If-Match": '"1"'},
    )
    assert refused.status_code == 403
    batch = other.post("/api/parcels/stage", json=_body(parcels[:1]), headers=other_auth).get_json()
    assert batch["saved"] == [] and "ngoài địa bàn" in batch["conflicts"][0]["reason"]
    own, own_auth = _token_client(app, "field")
    assert own.get(f"/api/parcels/{parcels[0]}", headers=own_auth).get_json()["land_user_name"] == NAME
    saved = own.patch(
        f"/api/parcels/{parcels[0]}",
        json={"stage": "paid", "date": "2026-11-20", "document": {"number": "1"}},
        headers={**own_auth, "If-Match": '"1"'},
    )
    assert saved.status_code == 200 and saved.get_json()["stage"] == "paid" and saved.headers["ETag"] == '"2"'


def test_viewers_and_planners_may_not_update(app, parcels):
    for role in ("viewer", "planner"):
        client, auth = _token_client(app, role)
        assert client.post("/api/parcels/stage", json=_body(parcels), headers=auth).status_code == 403
        patch = client.patch(
            f"/api/parcels/{parcels[0]}",
            json={"stage": "paid", "date": "2026-11-20"},
            headers={**auth, "If-Match": '"1"'},
        )
        assert patch.status_code == 403


def test_patch_needs_the_current_version(app, parcels):
    client, auth = _token_client(app, "admin")
    body = {"stage": "paid", "date": "2026-11-20"}
    assert client.patch(f"/api/parcels/{parcels[0]}", json=body, headers=auth).status_code == 428
    assert (
        client.patch(f"/api/parcels/{parcels[0]}", json=body, headers={**auth, "If-Match": '"1"'}).status_code
        == 200
    )
    stale = client.patch(
        f"/api/parcels/{parcels[0]}",
        json={"stage": "recovery_decided", "date": "2026-11-21"},
        headers={**auth, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    back = client.patch(
        f"/api/parcels/{parcels[0]}",
        json={"stage": "notified", "date": "2026-11-21"},
        headers={**auth, "If-Match": '"2"'},
    )
    assert back.status_code == 409 and "chỉ đi tiến" in back.get_json()["error"]["message"]


def test_a_batch_reports_the_stale_parcel_and_saves_the_others_and_the_zone_follows(app, db, parcels):
    client, auth = _token_client(app, "admin")
    first = client.patch(
        f"/api/parcels/{parcels[1]}",
        json={"stage": "paid", "date": "2026-11-01"},
        headers={**auth, "If-Match": '"1"'},
    )
    assert first.status_code == 200
    response = client.post("/api/parcels/stage", json=_body(parcels, stage="handed_over"), headers=auth)
    assert response.status_code == 200
    result = response.get_json()
    assert [s["uid"] for s in result["saved"]] == [parcels[0], parcels[2]]
    assert [c["uid"] for c in result["conflicts"]] == [parcels[1]]
    assert (
        result["conflicts"][0]["current_version"] == 2 and result["conflicts"][0]["current_stage"] == "paid"
    )
    zone = client.get(f"/api/zones/{ZONE}").get_json()["properties"]
    assert zone["clearance_from_parcels"] is True and zone["parcel_count"] == 3
    assert (zone["clearance_area_ha"], zone["cleared_area_ha"], zone["clearance_pct"]) == (3.0, 2.0, 66.7)


def test_a_retried_batch_is_answered_as_the_first_time(app, db, parcels):
    client, auth = _token_client(app, "admin")
    key = str(uuid.uuid4())
    headers = {**auth, "Idempotency-Key": key}
    first = client.post("/api/parcels/stage", json=_body(parcels), headers=headers).get_json()
    events = _audits(db, "parcel.stage")
    again = client.post("/api/parcels/stage", json=_body(parcels), headers=headers).get_json()
    assert sorted(s["uid"] for s in again["saved"]) == sorted(s["uid"] for s in first["saved"])
    assert _audits(db, "parcel.stage") == events == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"parcels": [], "stage": "paid", "date": "2026-11-20"}, "ít nhất một thửa"),
        ({"parcels": [{"uid": "x"}] * 2001, "stage": "paid", "date": "2026-11-20"}, "Tối đa 2000"),
        ({"parcels": [{"uid": "w7abc"}], "stage": "flying", "date": "2026-11-20"}, None),
        ({"parcels": [{"uid": "w7abc"}], "stage": "paid", "date": "20/13/2026"}, None),
    ],
)
def test_a_bad_request_writes_nothing(app, db, parcels, body, message):
    client, auth = _token_client(app, "admin")
    before = _audits(db, "parcel.stage")
    response = client.post("/api/parcels/stage", json=body, headers=auth)
    assert response.status_code == 400
    if message:
        assert message in response.get_json()["error"]["message"]
    assert _audits(db, "parcel.stage") == before


def test_a_browser_session_must_send_the_csrf_header(app, parcels):
    client = client_as(app, "admin")
    assert client.post("/api/parcels/stage", json=_body(parcels)).status_code == 400
    token = csrf_of(client.get(f"/parcels/{parcels[0]}").get_data(as_text=True))
    assert (
        client.post("/api/parcels/stage", json=_body(parcels), headers={"X-CSRFToken": token}).status_code
        == 200
    )


def test_typing_clearance_figures_for_a_zone_with_parcels_is_refused(app, parcels):
    client, auth = _token_client(app, "admin")
    etag = client.get(f"/api/zones/{ZONE}").headers["ETag"]
    refused = client.patch(
        f"/api/zones/{ZONE}", json={"cleared_area_ha": 2}, headers={**auth, "If-Match": etag}
    )
    assert refused.status_code == 422
    assert "tính theo thửa đất" in refused.get_json()["error"]["fields"]["cleared_area_ha"]
    other = client.patch(
        f"/api/zones/{ZONE}", json={"infrastructure_pct": 50}, headers={**auth, "If-Match": etag}
    )
    assert other.status_code == 200


def test_the_zone_page_shows_the_parcels_section(app, parcels):
    page = client_as(app, "viewer").get(f"/zones/{ZONE}").get_data(as_text=True)
    assert 'id="parcels"' in page and "theo thửa đất" in page
    assert 'class="pipeline-step" data-stage="plan_approved"' in page
    assert "Quá hạn" in page or "quá hạn" in page


def test_the_parcel_form_records_a_step(app, parcels):
    client = client_as(app, "field")
    page = client.get(f"/parcels/{parcels[0]}").get_data(as_text=True)
    assert NAME in page
    response = client.post(
        f"/parcels/{parcels[0]}/stage",
        data={
            "csrf_token": csrf_of(page),
            "version": "1",
            "request_id": str(uuid.uuid4()),
            "stage": "paid",
            "date": "2026-11-20",
            "document_number": "7/QĐ",
            "photos": (io.BytesIO(_jpeg()), "thua-1.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    after = client.get(f"/parcels/{parcels[0]}").get_data(as_text=True)
    assert "7/QĐ" in after
    photo = re.search(r'src="(/photos/\d+/thumb)"', after)
    assert photo and client.get(photo.group(1)).mimetype == "image/jpeg"
    found = client.get("/parcels?q=1/1").get_data(as_text=True)
    assert f"/parcels/{parcels[0]}" in found


def test_the_field_form_of_a_zone_with_parcels_saves_the_other_figures(app, parcels):
    client = client_as(app, "field")
    page = client.get(f"/zones/{ZONE}/update").get_data(as_text=True)
    assert 'name="cleared_area_ha"' not in page and "tính theo thửa đất" in page
    form = {
        "csrf_token": csrf_of(page),
        "version": hidden(page, "version"),
        "request_id": hidden(page, "request_id"),
        "as_of": "2026-11-26",
        "infrastructure_pct": "55",
    }
    assert client.post(f"/zones/{ZONE}/update", data=form).status_code == 303
    zone = client.get(f"/api/zones/{ZONE}").get_json()["properties"]
    assert zone["infrastructure_pct"] == 55 and zone["clearance_area_ha"] == 3.0


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def test_the_zone_parcels_filters(app, db, parcels):
    with db.session() as session:
        make_parcel(session, ZONE, 9, stage="notified", stage_date=dt.date(2026, 10, 1), commune="07459")
    client, auth = _token_client(app, "viewer")

    def uids(query):
        response = client.get(f"/api/zones/{ZONE}/parcels?{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return sorted(f["properties"]["uid"] for f in response.get_json()["features"])

    assert len(uids("")) == 4
    assert uids("stage=notified") == uids("commune=07459") != []
    # plan approved on 01/09/2026: payment (30 days) ran out on 01/10 → overdue on 26/11; the notice is still valid
    assert uids("overdue=true") == sorted(parcels)
    assert len(uids("overdue=false")) == 1
    for bad in ("stage=flying", "overdue=maybe", "commune=12"):
        assert client.get(f"/api/zones/{ZONE}/parcels?{bad}", headers=auth).status_code == 400


def test_the_parcels_section_reads_a_fixed_number_of_statements(app, db):
    from sqlalchemy import event

    def statements_for_page(client) -> int:
        sent = []

        def count(*_args):
            sent.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/zones/{ZONE}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(sent)

    client = client_as(app, "viewer")
    counts = []
    for start, many in ((1, 3), (100, 40)):
        with db.session() as session:
            for n in range(start, start + many):
                make_parcel(session, ZONE, n, stage="paid", stage_date=dt.date(2026, 1 + n % 9, 1), area=500)
            zone_id = session.scalars(select(Zone.id).where(Zone.code == ZONE)).one()
            derive.refresh_zones(session, [zone_id], today=dt.date(2026, 11, 26))
            session.execute(
                text(
                    "INSERT INTO parcel_steps (parcel_id, stage, date, document_number, document_signer) "
                    "SELECT id, 'paid', stage_date, '', '' FROM parcels ON CONFLICT DO NOTHING"
                )
            )
        counts.append(statements_for_page(client))
    assert counts[0] == counts[1]


def test_anonymous_readers_see_the_pipeline_but_no_parcel(client, parcels):
    page = client.get(f"/zones/{ZONE}").get_data(as_text=True)
    assert 'class="pipeline-step"' in page and "theo thửa đất" in page
    assert "parcels-overdue" not in page and "/parcels/" not in page and NAME not in page


@pytest.mark.parametrize("query", ["1/2", "1 2", "tờ 1 thửa 2", "Tờ 1, thửa 2"])
def test_search_by_sheet_and_parcel(app, parcels, query):
    page = client_as(app, "viewer").get("/parcels", query_string={"q": query}).get_data(as_text=True)
    assert f"/parcels/{parcels[1]}" in page and f"/parcels/{parcels[0]}" not in page
