"""Words, not internals: the audit log, zone sources, import notes, backdated observations, district filters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from khgeo.errors import BadRequest
from khgeo.models import District, User, Zone, ZoneUpdate
from khgeo.services import accounts, updates
from khgeo.services.admin_units import match_district
from khgeo.services.interop.import_types import IMPORT_NOTE
from khgeo.services.reports import cycle as reporting
from khgeo.services.sources import reader_date
from tests.helpers import add_user, login
from tests.test_tasks_reading import _login

TODAY = dt.date(2026, 11, 26)


def test_the_audit_log_speaks_in_words(app, db):
    with db.session() as session:
        board = accounts.create_user(session, "board", "correct horse battery", "admin")
        accounts.create_user(session, "hh-field", "correct horse battery", "field", districts=["Hiệp Hòa"])
        sct = session.scalars(select(reporting.Agency).where(reporting.Agency.code == "SCT")).one()
        reporting.submit_report(
            session, sct, 2026, board, summary="Báo cáo", items={}, attachment=None, today=TODAY
        )
        session.commit()
    client = app.test_client()
    _login(client, "board")
    page = client.get("/admin/audit").get_data(as_text=True)
    created = re.search(r'<tr data-action="user.create">(.*?)</tr>', page, re.S).group(1)
    assert "Tạo tài khoản" in created and "Tài khoản" in created
    assert "Cán bộ hiện trường" in created and "Hiệp Hòa" in created
    assert ">field<" not in created and "user.create" not in created
    assert (
        re.search(r"\b\d{3}\b", re.sub(r"<[^>]+>", " ", created).replace("hh-field", "")) is None
    )  # no codes
    assert '<option value="report"' in page and "Báo cáo" in page
    reports = client.get("/admin/audit?entity_type=report").get_data(as_text=True)
    assert "Gửi báo cáo của đơn vị" in reports and "SCT/2026" in reports


def test_zone_sources_read_as_citations(client):
    page = client.get("/zones/kcn-quang-chau").get_data(as_text=True)
    sources = page.split('<ul class="sources">')[1].split("</ul>")[0]
    text = re.sub(r"<[^>]+>", " ", sources)
    for internal in (
        "compiled without live web access",
        "stated_area_ha",
        "operating_status",
        "district_code",
    ):
        assert internal not in text, internal
    assert not re.search(r"[0-9a-f]{20,}", text)  # no commit ids
    assert "08/11/2022" in text  # VNS22's date, as Vietnamese readers write it
    assert "einpresswire.com" in text  # the publisher (the site) of a page without a stated one
    assert "Diện tích quy hoạch (ha)" in text  # the facts it supports, in words
    everywhere = " ".join(
        re.sub(
            r"<[^>]+>",
            " ",
            client.get(f"/zones/{code}").get_data(as_text=True).split('<ul class="sources">')[-1],
        )
        for code in ("kcn-van-trung", "ccn-doan-bai", "kcn-hoa-phu")
    )
    assert "zones-facts.md" not in everywhere and "compiled without" not in everywhere


def test_reader_dates():
    assert reader_date("2022-11-08") == ("08/11/2022", False)
    assert reader_date("2022-10") == ("10/2022", False)
    assert reader_date("c. late 2022–2023 (undated)") == ("2022–2023", True)
    assert reader_date("undated (commit 6d2b253bbbf412f1e8b7884e2570d951f6a058a6)") == ("", False)


def test_an_imports_history_note_is_in_the_readers_language(app, db, client):
    with db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == "kcn-van-trung")).one()
        session.add(
            updates.snapshot(
                zone,
                zone_version=zone.version,
                kind="import",
                as_of=zone.as_of,
                note=IMPORT_NOTE.format(file="ranh-gioi.gpkg", number=3),
                source="ranh-gioi.gpkg",
                changes={},
            )
        )
        session.commit()
    assert login(client, add_user(db, "viewer")).status_code == 302  # notes are for logged-in readers
    page = client.get("/zones/kcn-van-trung").get_data(as_text=True)
    assert "Nhập từ tệp ranh-gioi.gpkg (đối tượng số 3)" in page and "Import of" not in page
    english = client.get("/zones/kcn-van-trung?lang=en").get_data(as_text=True)
    assert "Imported from the file ranh-gioi.gpkg (feature 3)" in english


def test_a_backdated_observation_shows_its_values_in_the_history(app, db, client):
    with app.app_context(), db.session() as session:
        user = accounts.create_user(session, "board", "correct horse battery", "admin")
        zone = session.scalars(select(Zone).where(Zone.code == "kcn-van-trung")).one()
        current = updates.validate(zone, {"infrastructure_pct": "70", "as_of": "2026-11-01"}, TODAY)
        updates.apply_status_update(
            session, zone, user, expected_version=zone.version, change=current, today=TODAY
        )
        session.flush()
        late = updates.validate(zone, {"infrastructure_pct": "41.5", "as_of": "2026-03-15"}, TODAY)
        entry = updates.apply_status_update(
            session, zone, user, expected_version=zone.version, change=late, today=TODAY
        )
        session.commit()
        assert zone.infrastructure_pct == 70  # the current figures did not roll back
        assert entry.changes["infrastructure_pct"][1] == 41.5
        previous = session.scalars(
            select(ZoneUpdate).where(ZoneUpdate.zone_id == zone.id, ZoneUpdate.as_of == dt.date(2026, 11, 1))
        ).one()
        assert previous.infrastructure_pct == 70
    page = client.get("/zones/kcn-van-trung").get_data(as_text=True)
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    backdated = next(item for item in timeline.split('class="timeline-entry') if "15/03/2026" in item)
    changes = backdated.split('<ul class="changes">')[1].split("</ul>")[0]
    assert "41,5" in changes and "hoàn thành hạ tầng" in changes
    assert "70" not in changes  # what was reported for March, not November's figure


@pytest.mark.parametrize(
    "label", ["Huyện Hiệp Hòa", "huyen hiep hoa", "Hiệp Hoà", "HIỆP HÒA", "H. Hiệp Hòa", " Hiệp Hòa "]
)
def test_a_district_is_found_however_its_label_is_written(client, db, label):
    with db.session() as session:
        code = session.scalars(select(District.code).where(District.name == "Hiệp Hòa")).one()
    by_code = client.get(f"/api/zones?district={code}").get_json()["features"]
    response = client.get("/api/zones", query_string={"district": label})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["features"] == by_code and by_code
    page = client.get("/", query_string={"district": label})
    assert page.status_code == 200
    assert f'<option value="{code}" selected' in page.get_data(as_text=True)
    assert client.get("/export/zones.csv", query_string={"district": label}).status_code == 200


def test_one_resolver_for_districts(app, db):
    with db.session() as session:
        districts = list(session.scalars(select(District)))
        bg = match_district(districts, "TP Bắc Giang")
        assert bg is not None and bg.name == "Bắc Giang"
        assert match_district(districts, "Thành phố Bắc Giang") is bg
        assert match_district(districts, "Atlantis") is None
        user = accounts.create_user(
            session, "field2", "correct horse battery", "field", districts=["Huyện Hiệp Hòa"]
        )
        assert [d.name for d in user.districts] == ["Hiệp Hòa"]
        assert isinstance(user, User)
    with db.session() as session, pytest.raises(BadRequest) as refused:
        accounts.resolve_districts(session, ["Atlantis"])  # a user's districts: refused, with the name
    with app.test_request_context("/?lang=en"):
        assert str(refused.value.message) == "Unknown district Atlantis"
