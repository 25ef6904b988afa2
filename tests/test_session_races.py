"""Requests running side by side must not undo each other's session: the map page's forms and the offline app's
background downloads (issue 16) share one cookie."""

from __future__ import annotations

from tests import helpers


def test_the_login_answer_already_carries_the_csrf_secret(app, db, client):
    """Drawn at login, the secret is the same for every page opened after it, whatever order they finish in; drawn
    by the first pages instead, two pages loading at once each wrote their own and one page's forms failed."""
    helpers.make_user(db, "admin", username="bao")
    response = helpers.login(client, "bao")
    assert response.status_code == 302
    with client.session_transaction() as session:
        secret = session.get("csrf_token")
    assert secret
    client.get("/")
    client.get("/zones/kcn-van-trung")
    with client.session_transaction() as session:
        assert session.get("csrf_token") == secret


def test_a_background_download_never_writes_the_session(app, db, client):
    helpers.make_user(db, "admin", username="bao")
    helpers.login(client, "bao")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Đã lưu.")]  # what the page the user opens next must still show
    background = client.get("/zones/kcn-van-trung", headers={"X-Khgeo-Precache": "1"})
    assert background.status_code == 200
    assert "Set-Cookie" not in background.headers
    assert "Đã lưu." in client.get("/zones/kcn-van-trung").get_data(as_text=True)
