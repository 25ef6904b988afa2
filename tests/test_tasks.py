"""The plan's task register, deadlines and overdue computation, agencies' rights, the reporting cycle."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from khgeo.models import Agency, Task, User
from khgeo.services import accounts
from khgeo.services import tasks as task_service
from khgeo.services.reports import cycle as reporting
from tests.helpers import csrf_of, login

# Written from the plan's text (KH thực hiện NQ 24/NQ-HĐND, sections II.1–II.3 and III), not from
# data/plan/tasks.toml: (subsection, lead agency, number of tasks).
PLAN_SUBSECTIONS = [
    ("II.1.1", "BQL", 2),
    ("II.1.2", "SKHDT", 2),
    ("II.1.3", "STP", 1),
    ("II.1.3b", "SCT", 1),
    ("II.1.4", "UBND_HUYEN", 1),
    ("II.2.1", "BQL", 4),
    ("II.2.2", "SKHDT", 4),
    ("II.2.3", "SCT", 1),
    ("II.3.1", "BQL", 8),
    ("II.3.2", "SKHDT", 2),
    ("II.3.3", "SXD", 3),
    ("II.3.4", "SCT", 7),
    ("II.3.5", "STC", 2),
    ("II.3.6", "CA", 3),
    ("II.3.7", None, 8),
    ("III.1", None, 1),
    ("III.2", "BQL", 2),
]
# every fixed deadline the plan writes, as the last day of the period it names
PLAN_DUE_DATES = {
    "II.2.1.1": "2022-10-31",
    "II.2.2.2": "2022-10-31",  # "thực hiện xong trong tháng 10 năm 2022"
    "II.3.1.3": "2023-03-31",  # "thực hiện xong trong quý I năm 2023"
    "II.3.1.7": "2022-12-31",  # "thực hiện trong tháng 12 năm 2022"
    "II.3.4.2": "2023-06-30",  # "thực hiện xong trong tháng 06 năm 2023"
    "II.3.4.3": "2023-12-31",  # "thực hiện xong trong quý IV/2023"
    "II.3.4.4": "2022-12-31",
    "II.3.7.7": "2022-12-31",
    "II.3.7.8": "2022-12-31",  # "tháng 12/2022"
    "II.3.7.4": "2023-12-31",  # "thực hiện xong trong năm 2023"
}


@pytest.fixture
def reader(app, db):
    """A logged-in official: the task register needs a login, even with public read on."""
    with db.session() as session:
        accounts.create_user(session, "reader", "correct horse battery", "viewer")
    client = app.test_client()
    _login(client, "reader")
    return client


@pytest.fixture
def register(reader) -> dict[str, dict]:
    response = reader.get("/api/tasks")
    assert response.status_code == 200
    return {task["id"]: task for task in response.get_json()["tasks"]}


def test_the_register_holds_every_task_of_the_plan_with_its_agency(register):
    assert len(register) == sum(count for _section, _lead, count in PLAN_SUBSECTIONS) == 52
    for section, lead, count in PLAN_SUBSECTIONS:
        tasks = [
            t for t in register.values() if t["section"] == section or t["section"].startswith(section + ".")
        ]
        assert len(tasks) == count, section
        if lead:
            assert {t["lead_agency"] for t in tasks} == {lead}, section
    assert (
        register["II.3.7.8"]["lead_agency"] == "UBND_BG"
        and "UBND_VY" in register["II.3.7.8"]["coordinating_agencies"]
    )


def test_deadlines_are_as_the_plan_writes_them(register):
    fixed = {task_id: task["due_date"] for task_id, task in register.items() if task["due_date"]}
    assert fixed == PLAN_DUE_DATES
    assert register["II.3.1.2"]["recurrence"] == "monthly"  # "Hàng tháng tổ chức làm việc với chủ đầu tư"
    assert register["II.3.7.6"]["recurrence"] == "quarterly"  # "định kỳ hàng quý, năm"
    assert {register[t]["recurrence"] for t in ("II.3.2.1", "II.3.2.2")} == {"yearly"}  # "thực hiện hàng năm"
    assert register["II.3.4.2"]["deadline_text"] == "thực hiện xong trong tháng 06 năm 2023"
    assert register["II.3.4.2"]["zones"] == ["ccn-doan-bai", "ccn-dong-dinh", "ccn-my-an", "ccn-thanh-van"]


def _task(**fields) -> SimpleNamespace:
    defaults = {
        "status": "not_started",
        "due_date": None,
        "recurrence": None,
        "yearly_due": None,
        "due_exceptions": {},
    }
    return SimpleNamespace(**{**defaults, **fields})


def _note(day: str) -> SimpleNamespace:
    return SimpleNamespace(reported_on=dt.date.fromisoformat(day))


@pytest.mark.parametrize(
    ("task", "today", "notes", "status", "next_due"),
    [
        # a fixed deadline: overdue the day after, not on the day; done is never overdue
        (_task(due_date=dt.date(2022, 12, 31)), "2022-12-31", [], "not_started", "2022-12-31"),
        (_task(due_date=dt.date(2022, 12, 31)), "2023-01-01", [], "overdue", "2022-12-31"),
        (_task(due_date=dt.date(2022, 12, 31), status="done"), "2026-11-26", [], "done", "2022-12-31"),
        # monthly: across the year boundary, December's period is checked in January
        (
            _task(recurrence="monthly", status="in_progress"),
            "2027-01-05",
            ["2026-12-20"],
            "in_progress",
            "2027-01-31",
        ),
        (
            _task(recurrence="monthly", status="in_progress"),
            "2027-01-05",
            ["2026-11-20"],
            "overdue",
            "2027-01-31",
        ),
        (_task(recurrence="monthly"), "2026-12-31", ["2026-11-30"], "not_started", "2026-12-31"),
        # quarterly: Q4 2026 is due 31/12/2026; on 02/01/2027 a note in October–December is needed
        (_task(recurrence="quarterly"), "2027-01-02", ["2026-10-01"], "not_started", "2027-03-31"),
        (_task(recurrence="quarterly"), "2027-01-02", ["2026-09-30"], "overdue", "2027-03-31"),
        # yearly with the plan's day and its 2024 exception (reports due 15/12; in 2024 by 01/05)
        (
            _task(recurrence="yearly", yearly_due="12-15", due_exceptions={"2024": "2024-05-01"}),
            "2024-03-01",
            ["2023-11-30"],
            "not_started",
            "2024-05-01",
        ),
        # nothing reported for the period that closed on 15/12/2023
        (
            _task(recurrence="yearly", yearly_due="12-15", due_exceptions={"2024": "2024-05-01"}),
            "2024-03-01",
            [],
            "overdue",
            "2024-05-01",
        ),
        (
            _task(recurrence="yearly", yearly_due="12-15", due_exceptions={"2024": "2024-05-01"}),
            "2024-05-02",
            ["2024-04-20"],  # 2024's report was due on 01/05 instead of 15/12: the next is 15/12/2025
            "not_started",
            "2025-12-15",
        ),
        (
            _task(recurrence="yearly", yearly_due="12-15"),
            "2026-12-16",
            ["2026-12-10"],
            "not_started",
            "2027-12-15",
        ),
        (
            _task(recurrence="yearly", yearly_due="12-15"),
            "2026-12-16",
            ["2025-12-10"],
            "overdue",
            "2027-12-15",
        ),
        (_task(recurrence="yearly"), "2027-01-01", ["2026-06-01"], "not_started", "2027-12-31"),
        # a standing duty is never overdue
        (_task(recurrence="ongoing"), "2030-01-01", [], "not_started", None),
    ],
)
def test_overdue_is_computed_from_today_across_years_and_recurrences(task, today, notes, status, next_due):
    day = dt.date.fromisoformat(today)
    assert task_service.task_status(task, day, [_note(note) for note in notes]) == status
    due = task_service.next_due(task, day)
    assert (due.isoformat() if due else None) == next_due


def test_register_filters(reader):
    client = reader

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/tasks?{query}")
        assert response.status_code == 200, response.get_json()
        return {task["id"] for task in response.get_json()["tasks"]}

    sct = ids("agency=SCT")
    assert {"II.3.4.2", "II.2.3.1", "II.1.3b.1"} <= sct and "II.3.6.1" not in sct
    assert ids("section=II.3.4") == {f"II.3.4.{n}" for n in range(1, 8)}
    assert ids("zone=ccn-dong-dinh") == {"II.3.4.2"}
    overdue = ids("due=overdue")  # frozen today 26/11/2026: every fixed deadline (2022–2023) has passed
    assert set(PLAN_DUE_DATES) <= overdue
    assert ids("status=overdue") == overdue
    assert "II.3.1.2" in ids("due=soon")  # monthly: due 30/11/2026
    dates = [t["next_due"] for t in client.get("/api/tasks?sort=due").get_json()["tasks"] if t["next_due"]]
    assert dates == sorted(dates)
    for bad in (
        "agency=NOBODY",
        "section=IX",
        "status=late",
        "zone=atlantis",
        "due=yesterday",
        "sort=random",
    ):
        response = client.get(f"/api/tasks?{bad}")
        assert response.status_code == 400 and response.get_json()["error"]["message"], bad


def _login(client, username: str) -> None:
    assert login(client, username, "correct horse battery").status_code == 302


def _post_progress(client, task_id: str, **fields):
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    # the session's CSRF token, from the logout form every logged-in page carries
    token = csrf_of(page)
    return client.post(f"/tasks/{task_id}", data={"csrf_token": token, "reported_on": "2026-11-20", **fields})


def test_agency_users_change_only_their_agencys_tasks(app, db):
    with db.session() as session:
        accounts.create_user(session, "sct", "correct horse battery", "viewer", agency="SCT")
        accounts.create_user(session, "bql", "correct horse battery", "viewer", agency="BQL")
    client = app.test_client()
    _login(client, "sct")
    # its own task (SCT leads II.3.4.2): note and status
    response = _post_progress(client, "II.3.4.2", note="Đã kiểm tra CCN Đồng Đình", status="in_progress")
    assert response.status_code == 303
    task = client.get("/api/tasks/II.3.4.2").get_json()
    assert task["status"] == "overdue" and task["progress"][0]["note"] == "Đã kiểm tra CCN Đồng Đình"
    # another agency's task: refused, nothing stored
    for task_id in ("II.3.6.1", "II.3.1.2"):
        before = client.get(f"/api/tasks/{task_id}").get_json()
        assert _post_progress(client, task_id, note="x", status="done").status_code == 403
        assert client.get(f"/api/tasks/{task_id}").get_json() == before
    # a coordinating agency may add a note but not change the lead's status
    other = app.test_client()
    _login(other, "bql")
    assert _post_progress(other, "II.3.4.3", note="BQL phối hợp").status_code == 403  # BQL not named there
    assert _post_progress(other, "II.3.1.2", note="Họp tháng 11", status="done").status_code == 303
    with db.session() as session:
        assert session.get(Task, "II.3.1.2").status == "done"


def test_a_note_without_content_is_refused_next_to_the_field(app, db):
    with db.session() as session:
        accounts.create_user(session, "sct", "correct horse battery", "viewer", agency="SCT")
    client = app.test_client()
    _login(client, "sct")
    response = _post_progress(client, "II.3.4.2", note="   ")
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    future = _post_progress(client, "II.3.4.2", note="x", reported_on="2030-01-01")
    assert future.status_code == 422


def test_reporting_cycle_deadlines_and_late_agencies(db):
    today = dt.date(2026, 11, 26)
    with db.session() as session:
        cycle = reporting.cycle_status(session, 2026, today)
        assert (cycle.agency_deadline, cycle.board_deadline) == (dt.date(2026, 12, 15), dt.date(2026, 12, 31))
        assert cycle.days_to(cycle.agency_deadline, today) == 19
        codes = {status.agency.code for status in cycle.agencies}
        assert {"SCT", "SKHDT", "SXD", "STC", "CA", "STP", "UBND_VY", "UBND_HH"} <= codes
        assert not {"BQL", "UBND_HUYEN", "UBND_TINH", "HDND_TINH"} & codes
        assert cycle.late(today) == []
        assert len(cycle.late(dt.date(2026, 12, 16))) == len(cycle.agencies)
        past = reporting.cycle_status(session, 2024, today)
        assert past.agency_deadline == dt.date(2024, 5, 1) and past.board_deadline == dt.date(2024, 5, 31)


def test_reports_accept_documents_only_and_refuse_other_agencies(app, db):
    with db.session() as session:
        user = accounts.create_user(session, "sct", "correct horse battery", "viewer", agency="SCT")
        sct = session.scalars(__import__("sqlalchemy").select(Agency).where(Agency.code == "SCT")).one()
        with pytest.raises(Exception) as raised:
            reporting.submit_report(
                session,
                sct,
                2026,
                user,
                summary="",
                items={"II.3.4.2": "Đã làm"},
                attachment=(b"MZ\x90\x00 not a document", "bao-cao.pdf"),
                today=dt.date(2026, 11, 26),
            )
        assert "not a document" in str(raised.value.errors["attachment"])
    client = app.test_client()
    _login(client, "sct")
    assert client.get("/reports/2026/SCA").status_code == 404
    assert client.post("/reports/2026/CA", data={"summary": "x"}).status_code in (400, 403)
    page = client.get("/reports/2026/CA").get_data(as_text=True)
    assert 'id="report-form"' not in page  # not their agency: no form


def test_a_report_for_a_year_with_no_data_is_a_clear_message(app, db):
    with db.session() as session:
        accounts.create_user(session, "board", "correct horse battery", "admin")
    client = app.test_client()
    _login(client, "board")
    response = client.get("/reports/2023/consolidated.docx")
    assert response.status_code == 422
    assert "2023" in response.get_data(as_text=True)
    assert client.get("/reports/1999/consolidated.xlsx").status_code == 400


def test_users_carry_their_agency(db):
    with db.session() as session:
        user = accounts.create_user(session, "ctuser", "correct horse battery", "viewer", agency="sct")
        assert isinstance(user, User) and user.agency.code == "SCT"
        with pytest.raises(Exception, match="Unknown agency"):
            accounts.create_user(session, "ctuser2", "correct horse battery", "viewer", agency="NOPE")
