"""Stage updates from a spreadsheet (issue 14): upload → preview (nothing written, every row's fate said) → apply,
through the same batch service as the API; rows matched by (commune, sheet, parcel) within the zone."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import openpyxl
from sqlalchemy import func, select

from khgeo.codes import PARCEL_STAGE
from khgeo.models import Parcel, ParcelEvent
from tests.helpers import client_as, csrf_of
from tests.parcel_helpers import make_parcel

ZONE = "kcn-van-trung"


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_preview_then_apply(app, db):
    with db.session() as session:
        for n in (1, 2, 3):
            make_parcel(session, ZONE, n, stage="plan_approved", stage_date=dt.date(2026, 9, 1))
    paid = PARCEL_STAGE.labels_vi()["paid"]
    content = _xlsx(
        [
            ["Số tờ", "Số thửa", "Bước", "Ngày", "Số văn bản", "Người ký"],
            [1, 1, paid, dt.date(2026, 11, 20), "9/QĐ", "Chủ tịch"],
            [1, 2, "paid", "20/11/2026", "9/QĐ", "Chủ tịch"],
            [1, 3, "notified", "20/11/2026", "", ""],  # backwards
            [1, 99, paid, "20/11/2026", "", ""],  # no such parcel
        ]
    )
    client = client_as(app, "field")
    page = client.get(f"/zones/{ZONE}/parcels/stages").get_data(as_text=True)
    preview = client.post(
        f"/zones/{ZONE}/parcels/stages",
        data={"csrf_token": csrf_of(page), "file": (io.BytesIO(content), "buoc.xlsx")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "2 dòng sẽ được lưu, 2 bị từ chối" in html
    assert "các bước chỉ đi tiến" in html and "Không có thửa nào của khu này" in html
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ParcelEvent)) == 0
    rows = re.search(r'name="rows" value="([^"]*)"', html).group(1)
    import html as html_module

    rows = html_module.unescape(rows)
    assert len(json.loads(rows)) == 4
    applied = client.post(
        f"/zones/{ZONE}/parcels/stages/apply", data={"csrf_token": csrf_of(html), "rows": rows}
    )
    assert "2 dòng đã lưu, 2 bị từ chối" in applied.get_data(as_text=True)
    with db.session() as session:
        stages = dict(session.execute(select(Parcel.number, Parcel.stage)).all())
    assert stages == {"1": "paid", "2": "paid", "3": "plan_approved"}


def test_only_those_who_update_the_zones_parcels_may_upload(app):
    assert client_as(app, "viewer").get(f"/zones/{ZONE}/parcels/stages").status_code == 403
    assert (
        client_as(app, "field", districts=["Hiệp Hòa"]).get(f"/zones/{ZONE}/parcels/stages").status_code
        == 403
    )
