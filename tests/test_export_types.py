"""Exports keep a date a date: GeoPackage has Date and DateTime fields, the Shapefile a Date field, NULLs stay
NULL, and the file imports back unchanged."""

from __future__ import annotations

import datetime as dt
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import select

from khgeo.cli import main
from khgeo.models import Task, Zone
from khgeo.services.interop.field_names import EXPORT_COLUMNS
from khgeo.services.interop.source import plain_value


def export(app, tmp_path: Path, fmt: str, *filters: str) -> Path:
    output = tmp_path / f"out.{fmt}"
    result = app.test_cli_runner().invoke(
        main, ["export", "--format", fmt, "--output", str(output), *filters]
    )
    assert result.exit_code == 0, result.output
    return output


def field_types(path: Path, layer: str | None = None) -> dict[str, str]:
    info = pyogrio.read_info(path, layer=layer)
    return dict(zip(info["fields"], info["ogr_types"], strict=True))


def to_ms(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def without_as_of(db, code: str) -> None:
    with db.session() as session:
        session.scalars(select(Zone).where(Zone.code == code)).one().as_of = None
        session.commit()


def test_the_geopackage_has_date_and_datetime_fields_with_the_zones_values(app, db, tmp_path):
    without_as_of(db, "ccn-my-an")  # an unknown date stays NULL, not "" or 1970-01-01
    output = export(app, tmp_path, "gpkg")
    zone_types = field_types(output, "zones")
    assert zone_types["as_of"] == "OFTDate" and zone_types["updated_at"] == "OFTDateTime"
    assert field_types(output, "tasks")["due_date"] == "OFTDate"
    # the text types and numbers are what they were
    assert zone_types["code"] == "OFTString" and zone_types["area_ha"] == "OFTReal"
    assert (
        zone_types["households_total"] == "OFTInteger64"
        and zone_types["clearance_incomplete"] == "OFTInteger"
    )

    ogrinfo = subprocess.run(
        ["ogrinfo", "-so", str(output), "zones"], capture_output=True, text=True, check=True
    ).stdout
    assert "as_of: Date" in ogrinfo and "updated_at: DateTime" in ogrinfo

    frame = pyogrio.read_dataframe(output, layer="zones")
    exported = {
        code: (as_of, updated)
        for code, as_of, updated in zip(frame["code"], frame["as_of"], frame["updated_at"], strict=True)
    }
    with db.session() as session:
        zones = session.execute(select(Zone.code, Zone.as_of, Zone.updated_at)).all()
        tasks = dict(session.execute(select(Task.id, Task.due_date)).all())
    assert len(exported) == len(zones)
    for code, as_of, updated_at in zones:
        got_as_of, got_updated = exported[code]
        assert (None if pd.isna(got_as_of) else got_as_of.date()) == as_of, code
        assert got_updated.to_pydatetime() == to_ms(updated_at), code
    assert pd.isna(exported["ccn-my-an"][0])
    assert any(as_of is not None for _, as_of, _ in zones)

    task_frame = pyogrio.read_dataframe(output, layer="tasks")
    due = dict(zip(task_frame["id"], task_frame["due_date"], strict=True))
    assert {k: None if pd.isna(v) else v.date() for k, v in due.items()} == tasks
    assert any(v is None for v in tasks.values()) and any(v is not None for v in tasks.values())


def test_an_empty_geopackage_export_keeps_the_field_types(app, tmp_path):
    output = export(app, tmp_path, "gpkg", "--q", "khong co khu nao ten nay")
    assert pyogrio.read_info(output, layer="zones")["features"] == 0
    types = field_types(output, "zones")
    assert types["name"] == "OFTString" and types["communes"] == "OFTString" and types["as_of"] == "OFTDate"


def test_the_shapefile_has_a_date_field_and_keeps_the_time_stamp_as_text(app, db, tmp_path):
    output = export(app, tmp_path, "shp")
    with zipfile.ZipFile(output) as archive:
        archive.extractall(tmp_path / "shp")
    shp = tmp_path / "shp" / "khgeo-zones.shp"
    types = field_types(shp)
    names = {column.key: column.shp for column in EXPORT_COLUMNS}
    assert types[names["as_of"]] == "OFTDate" and types[names["updated_at"]] == "OFTString"
    frame = pyogrio.read_dataframe(shp)
    with db.session() as session:
        expected = dict(session.execute(select(Zone.code, Zone.as_of)).all())
    got = {
        c: None if pd.isna(v) else v.date() for c, v in zip(frame["code"], frame[names["as_of"]], strict=True)
    }
    assert got == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.datetime64("2026-03-04"), dt.datetime(2026, 3, 4)),
        (np.datetime64("2026-03-04T05:06:07.123"), dt.datetime(2026, 3, 4, 5, 6, 7, 123000)),
        (np.datetime64("NaT"), None),
        (pd.Timestamp("2026-03-04"), dt.datetime(2026, 3, 4)),
        (pd.NaT, None),
    ],
)
def test_an_import_reads_numpy_and_pandas_dates(value, expected):
    assert plain_value(value) == expected


def test_a_geopackage_export_with_dates_imports_back_as_a_no_op(app, db, tmp_path):
    without_as_of(db, "ccn-my-an")
    app.config["KHGEO_DEFAULT_LOCALE"] = "en"  # the command's summary in English
    output = export(app, tmp_path, "gpkg")
    with db.session() as session:
        before = dict(session.execute(select(Zone.code, Zone.version)).all())
        as_of_before = dict(session.execute(select(Zone.code, Zone.as_of)).all())
    dry = app.test_cli_runner().invoke(main, ["import", str(output), "--layer", "zones", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"0 to create, 0 to update, {len(before)} unchanged, 0 rejected" in dry.output
    real = app.test_cli_runner().invoke(main, ["import", str(output), "--layer", "zones", "--yes"])
    assert real.exit_code == 0 and "nothing to import" in real.output
    with db.session() as session:
        assert dict(session.execute(select(Zone.code, Zone.version)).all()) == before
        assert dict(session.execute(select(Zone.code, Zone.as_of)).all()) == as_of_before
