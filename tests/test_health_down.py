"""When the database is down: /healthz says 503, pages say so clearly, no stack trace."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.conftest import make_app


def test_database_down_is_a_503_not_a_stack_trace():
    nowhere = Path(tempfile.mkdtemp(prefix="khgeo-no-db-"))
    app = make_app(f"postgresql+psycopg://khgeo@/khgeo?host={nowhere}")
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable"}
    page = client.get("/")
    assert page.status_code == 503
    assert "Traceback" not in page.get_data(as_text=True)
    api = client.get("/api/zones")
    assert api.status_code == 503
    assert api.get_json()["error"]["status"] == 503
