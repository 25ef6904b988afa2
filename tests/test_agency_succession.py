"""Agencies over time (issue 13): a succession with its act routes a task's answer, the agency pages and the
reporting rows to the successor from its date; past reports stay with the filer; bad successions write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from khgeo.errors import BadRequest
from khgeo.models import Agency, AgencyReport, AgencySuccession, AuditEvent, Task
from khgeo.services.units import succession
from tests.helpers import client_as, csrf_of

ACT = "QĐ 123/QĐ-UBND ngày 28/02/2025 (thử nghiệm)"


def _run(app, *args: str):
    from khgeo.cli import main

    return app.test_cli_runner().invoke(main, list(args))


def _count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count(AgencySuccession.id)))


def test_a_merged_agencys_task_goes_to_its_successor(app, db):
    result = _run(app, "agencies", "succeed", "SKHDT", "STC", "--from", "01/03/2025", "--source", ACT)
    assert result.exit_code == 0, result.output
    client = client_as(app, "viewer")
    # the task keeps its plan lead agency, and says who answers today
    with db.session() as session:
        task_id = session.scalar(
            select(Task.id)
            .where(Task.lead_agency.has(Agency.code == "SKHDT"))
            .order_by(Task.position)
            .limit(1)
        )
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Sở Kế hoạch và Đầu tư" in page  # the plan's lead agency
    answers = page.split('class="answers-today"')[1].split("</tr>")[0]
    assert "Sở Tài chính" in answers
    # the successor's page lists it; the reporting rows of this year list the successor, not the merged agency
    agency_page = client.get("/agencies/STC").get_data(as_text=True)
    assert f"/tasks/{task_id}" in agency_page
    board = client.get("/reports?year=2026").get_data(as_text=True)
    assert 'href="/agencies/STC"' in board and 'href="/agencies/SKHDT"' not in board
    # 2024's cycle was before the merger: the merged agency still owes (and keeps) its report there
    assert 'href="/agencies/SKHDT"' in client.get("/reports?year=2024").get_data(as_text=True)


def test_district_committee_tasks_are_answered_by_the_communes_of_their_zones(app):
    client = client_as(app, "viewer")
    page = client.get("/tasks/II.3.7.1").get_data(as_text=True)
    answers = page.split('class="answers-today"')[1].split("</tr>")[0]
    for ward in ("UBND Phường Nếnh", "UBND Phường Tiền Phong", "UBND Xã Xuân Cẩm"):
        assert ward in answers
    register = client.get("/tasks").get_data(as_text=True)
    assert "UBND Phường Nếnh" in register


@pytest.mark.parametrize(
    ("old", "new", "day", "source", "message"),
    [
        ("STC", "SKHDT", "2025-04-01", ACT, "cycle"),  # SKHDT → STC exists: STC → SKHDT loops
        ("STC", "SXD", "2025-04-01", "", "act"),
        ("NOPE", "STC", "2025-04-01", ACT, "NOPE"),
        ("STC", "STC", "2025-04-01", ACT, "itself"),
    ],
)
def test_bad_successions_write_nothing(db, old, new, day, source, message):
    with db.session() as session:
        succession.succeed(session, "SKHDT", "STC", dt.date(2025, 3, 1), ACT)
        session.commit()
    before = _count(db)
    with pytest.raises(BadRequest) as error, db.session() as session:
        succession.succeed(session, old, new, dt.date.fromisoformat(day), source)
    assert message in str(error.value.message)
    assert _count(db) == before


def test_a_succession_cannot_start_before_the_agency_existed(db):
    with db.session() as session:
        succession.succeed(session, "SKHDT", "STC", dt.date(2025, 3, 1), ACT)
        session.commit()
    with pytest.raises(BadRequest) as error, db.session() as session:
        # STC exists (as SKHDT's successor) from 01/03/2025 only... as far as successions tell
        succession.succeed(session, "STC", "SXD", dt.date(2025, 1, 1), ACT)
    assert "01/03/2025" in str(error.value.message)


def test_the_cli_refuses_without_a_traceback(app, db):
    result = _run(app, "agencies", "succeed", "SKHDT", "SKHDT", "--from", "01/03/2025", "--source", ACT)
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = _run(app, "agencies", "succeed", "SKHDT", "STC", "--from", "31/02/2025", "--source", ACT)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert _count(db) == 0


def test_the_admin_form_records_with_csrf(app, db):
    admin = client_as(app, "admin")
    page = admin.get("/admin/agencies/successions")
    assert page.status_code == 200
    form = {"old": "SKHDT", "new": "STC", "effective": "01/03/2025", "kind": "merged", "source": ACT}
    assert admin.post("/admin/agencies/successions", data=form).status_code == 400  # no CSRF token
    assert _count(db) == 0
    form["csrf_token"] = csrf_of(page.get_data(as_text=True))
    response = admin.post("/admin/agencies/successions", data=form)
    assert response.status_code == 303
    assert _count(db) == 1
    listed = admin.get("/admin/agencies/successions").get_data(as_text=True)
    assert "<td>Sáp nhập</td>" in listed and ">merged<" not in listed  # the kind in words
    with db.session() as session:
        assert (
            session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "agency.succeed"))
            == 1
        )
    # a cycle: 422 naming the problem, nothing written
    form.update(old="STC", new="SKHDT")
    response = admin.post("/admin/agencies/successions", data=form)
    assert response.status_code == 422 and _count(db) == 1
    # other roles may not
    assert client_as(app, "planner").get("/admin/agencies/successions").status_code == 403


def test_past_reports_stay_with_the_filer(app, db):
    with db.session() as session:
        skhdt = session.scalars(select(Agency).where(Agency.code == "SKHDT")).one()
        session.add(AgencyReport(agency=skhdt, year=2024, summary="Báo cáo 2024"))
        succession.succeed(session, "SKHDT", "STC", dt.date(2025, 3, 1), ACT)
        session.commit()
    client = client_as(app, "admin")
    assert "Báo cáo 2024" in client.get("/reports/2024/SKHDT").get_data(as_text=True)


def test_the_api_says_who_answers_today(app):
    client = client_as(app, "viewer")
    task = client.get("/api/tasks/II.3.7.1").get_json()
    assert "UBND Phường Nếnh" in task["answering_today"] and task["lead_agency"] == "UBND_HUYEN"
    listed = {t["id"]: t for t in client.get("/api/tasks").get_json()["tasks"]}
    assert listed["II.3.7.1"]["answering_today"] == task["answering_today"]
    assert listed["II.1.2.1"]["answering_today"] == [listed["II.1.2.1"]["lead_agency_name"]]
