"""The task register in a real browser: a planner narrows the list with the filters and follows a task."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser


def listed(page) -> list[str]:
    return page.page.locator("tr.task-row").evaluate_all("rows => rows.map(r => r.dataset.task)")


def log_in_as_planner(live_server, page) -> None:
    """The task register needs a login, even with public read on (see README: Who sees what)."""
    username = make_user(live_server, "planner")
    page.page.goto(live_server.url + "/login?next=/tasks")
    page.page.fill("input[name=username]", username)
    page.page.fill("input[name=password]", PASSWORD)
    page.page.click("main button[type=submit]")
    page.page.wait_for_url(live_server.url + "/tasks")


def test_task_list_filters_narrow_the_register(live_server, page):
    log_in_as_planner(live_server, page)
    assert len(listed(page)) == 52

    page.page.select_option("select[name=agency]", "SCT")
    page.page.click("#task-filters button[type=submit]")
    page.page.wait_for_url("**/tasks?*agency=SCT*")
    sct = listed(page)
    assert "II.3.4.2" in sct and "II.3.6.1" not in sct

    page.page.select_option("select[name=due]", "overdue")
    page.page.select_option("select[name=sort]", "due")
    page.page.click("#task-filters button[type=submit]")
    page.page.wait_for_url("**due=overdue**")
    overdue = listed(page)
    assert overdue and set(overdue) <= set(sct)
    assert page.page.locator("tr.task-row .badge.status-overdue").count() == len(overdue)
    # sorted by due date: the 2022 deadlines come before the 2023 ones
    assert overdue.index("II.3.4.4") < overdue.index("II.3.4.2")

    page.page.select_option("select[name=zone]", "ccn-dong-dinh")
    page.page.click("#task-filters button[type=submit]")
    page.page.wait_for_url("**zone=ccn-dong-dinh**")
    assert listed(page) == ["II.3.4.2"]

    page.page.click("tr.task-row a >> nth=0")
    page.page.wait_for_url("**/tasks/II.3.4.2")
    text = page.page.locator("main").inner_text()
    assert "Đồng Đình hạ tầng kỹ thuật được đầu tư chỉ đạt 45%" in text  # the plan's wording
    assert "30/06/2023" in text
    assert page.errors == []
