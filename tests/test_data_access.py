"""Data access that scales with history: the zones' search text made by the database, the indexes the filters
use, and the planners' and yearly report's reads in a fixed number of queries whatever the size of the history."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from khgeo.models import Zone
from khgeo.services import planning
from khgeo.services.reports.data import gather
from khgeo.text import fold
from tests.conftest import FROZEN_TODAY
from tests.test_updates_rules import add_user, login

# 300 zones more, each named by the plan's clearance task, each with 10 dated clearance entries, one a quarter
MORE_ZONES_SQL = """
INSERT INTO zones (code, name, aliases, kind, communes, geom, geometry_source, geometry_note, clearance_area_ha,
                   cleared_area_ha, developer, notes, sources, osm_ref, version, district_id)
SELECT 'many-' || i, 'Cụm Đông Phú ' || i, ARRAY['Đông Phú số ' || i], 'CCN', ARRAY[]::text[],
       ST_Multi(ST_MakeEnvelope(106.0 + i * 0.001, 21.2, 106.0005 + i * 0.001, 21.2005, 4326)), 'illustrative', '',
       100, 10, '', '', '{}'::jsonb, '', 1, (SELECT id FROM districts ORDER BY code LIMIT 1)
FROM generate_series(1, 300) AS i;
INSERT INTO task_zones (task_id, zone_id) SELECT 'II.3.1.2', id FROM zones WHERE code LIKE 'many-%';
INSERT INTO zone_updates (zone_id, zone_version, kind, as_of, source, note, clearance_area_ha, cleared_area_ha,
                          changes)
SELECT z.id, 1, 'status', DATE '2024-01-15' + n * 90, 'web', '', 100, 10 + n * 5,
       jsonb_build_object('cleared_area_ha', jsonb_build_array(5 + n * 5, 10 + n * 5))
FROM zones z, generate_series(1, 10) AS n WHERE z.code LIKE 'many-%';
"""

# one update in 2025 to a seeded zone, so the yearly report has something to consolidate with the seed alone
ONE_UPDATE_SQL = """
INSERT INTO zone_updates (zone_id, zone_version, kind, as_of, source, note, clearance_area_ha, cleared_area_ha,
                          changes)
SELECT id, 1, 'status', DATE '2025-06-01', 'web', '', 100, 50, '{"cleared_area_ha": [40, 50]}'::jsonb
FROM zones WHERE code = 'kcn-dinh-tram';
"""


@contextmanager
def statements(db):
    """The SQL statements the database is sent inside the block."""
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _reads(db) -> dict[str, int]:
    counts = {}
    with db.session() as session:
        for name, read in {
            "stalled": lambda: planning.stalled_clearance(session, 90, FROZEN_TODAY),
            "series": lambda: planning.clearance_series(session),
            "report zones": lambda: gather(session, 2025, FROZEN_TODAY).zones,
        }.items():
            session.expunge_all()  # nothing comes from the previous read's identity map
            with statements(db) as sent:
                assert read() is not None
            counts[name] = len(sent)
    return counts


def test_planning_and_report_reads_take_as_many_queries_for_a_long_history(app, db):
    with db.session() as session:
        session.execute(text(ONE_UPDATE_SQL))
    few = _reads(db)
    with db.session() as session:
        session.execute(text(MORE_ZONES_SQL))
    many = _reads(db)
    assert many == few, f"the query count grows with zones × history: {few} → {many}"
    assert few["series"] <= 3 and few["stalled"] <= 3


def test_the_reads_give_the_history_figures(app, db):
    with db.session() as session:
        session.execute(text(MORE_ZONES_SQL))
    with db.session() as session:
        series = {line["code"]: line for line in planning.clearance_series(session)["series"]}
        # ten entries, one a quarter from 14/04/2024: 15 % … 60 %, in date order
        points = series["many-7"]["points"]
        assert [pct for _day, pct in points] == [float(10 + n * 5) for n in range(1, 11)]
        assert points[0][0] == "2024-04-14" and points == sorted(points)
        assert series["many-7"]["name"] == "CCN Cụm Đông Phú 7"

        zones = {line.code: line for line in gather(session, 2025, FROZEN_TODAY).zones}
        # 2025 starts from the last 2024 entry and ends with the last of 2025
        line = zones["many-7"]
        days = {n: dt.date(2024, 1, 15) + dt.timedelta(days=n * 90) for n in range(1, 11)}
        last_before = max(n for n, day in days.items() if day.year < 2025)
        last_in = max(n for n, day in days.items() if day.year == 2025)
        assert line.start.clearance_pct == 10 + last_before * 5
        assert line.end.clearance_pct == 10 + last_in * 5
        assert line.updates_in_year == sum(day.year == 2025 for day in days.values())

        # cleared area last moved on 03/07/2026: stalled for 90 days, not for 200
        last = max(days.values())
        stalled = {row.zone.code: row for row in planning.stalled_clearance(session, 90, FROZEN_TODAY)}
        assert (stalled["many-7"].last_change, stalled["many-7"].days) == (last, (FROZEN_TODAY - last).days)
        assert "many-7" not in {
            row.zone.code for row in planning.stalled_clearance(session, 200, FROZEN_TODAY)
        }


def test_every_zones_search_text_is_its_names_folded_by_the_database(app, db):
    with db.session() as session:
        zones = session.scalars(select(Zone)).all()
        assert len(zones) == 25
        for zone in zones:
            assert zone.search_text == " | ".join(fold(name) for name in [zone.name, *zone.aliases]), (
                zone.code
            )
        assert any(
            "đ" in zone.name.lower() for zone in zones
        )  # the seed has the letter fold() must turn into d


def test_a_raw_sql_rename_is_found_by_search_at_once(app, db, client):
    with db.session() as session:
        session.execute(
            text(
                "UPDATE zones SET name = 'Đình Trám  Mới', aliases = ARRAY['Khu ĐTM'] WHERE code = 'kcn-dinh-tram'"
            )
        )
    for query in ("dinh tram moi", "ĐÌNH TRÁM MỚI", "khu dtm"):
        features = client.get("/api/zones", query_string={"q": query}).get_json()["features"]
        assert [f["properties"]["code"] for f in features] == ["kcn-dinh-tram"], query
    with db.session() as session:
        assert session.scalar(select(Zone.search_text).where(Zone.code == "kcn-dinh-tram")) == (
            "dinh tram moi | khu dtm"
        )


def test_nobody_can_write_the_search_text(app, db):
    with pytest.raises(DBAPIError, match="search_text"), db.session() as session:
        session.execute(text("UPDATE zones SET search_text = 'stale' WHERE code = 'kcn-dinh-tram'"))
    # the ORM writes a zone without ever naming the column, and reads back what the database made of it
    with db.session() as session:
        zone = session.scalars(select(Zone).where(Zone.code == "kcn-dinh-tram")).one()
        zone.aliases = [*zone.aliases, "Khu công nghiệp Đoàn Bái 2"]
        session.flush()
        assert zone.search_text.endswith(" | khu cong nghiep doan bai 2")


@pytest.mark.parametrize(
    ("table", "index", "definition"),
    [
        ("zones", "ix_zones_search_text_trgm", "USING gin (search_text gin_trgm_ops)"),
        ("zone_updates", "ix_zone_updates_zone_id_as_of", "(zone_id, as_of)"),
        ("task_coordinators", "ix_task_coordinators_agency_id", "(agency_id)"),
        ("audit_events", "ix_audit_events_user_id_at", "(user_id, at)"),
    ],
)
def test_the_filters_have_their_indexes(app, db, table, index, definition):
    with db.engine.connect() as conn:
        found = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :table AND indexname = :index"),
            {"table": table, "index": index},
        ).scalar()
    assert found is not None and found.endswith(definition), found


def test_the_zone_search_can_use_the_trigram_index(app, db):
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            conn.execute(text("EXPLAIN SELECT id FROM zones WHERE search_text LIKE '%dinh tram%'")).scalars()
        )
    assert "ix_zones_search_text_trgm" in plan, plan


@pytest.mark.parametrize(
    ("url", "outline"),
    [
        ("/", "ST_AsEWKB(zones.geom)"),
        ("/planning", "ST_AsEWKB(zones.geom)"),
        ("/planning/stalled.xlsx", "ST_AsEWKB(zones.geom)"),
        ("/zones/kcn-dinh-tram", "ST_AsEWKB(zone_updates.geom)"),
    ],
)
def test_lists_do_not_read_outlines(app, db, client, url, outline):
    """The map's list, the planners' views and a zone's timeline show no outline: they never read one."""
    with db.session() as session:
        session.execute(text("UPDATE zones SET geom = NULL WHERE code = 'ccn-dong-dinh'"))
    assert login(client, add_user(db, "planner")).status_code == 302  # the planners' views want an account
    with statements(db) as sent:
        response = client.get(url)
    assert response.status_code == 200
    reading = [statement for statement in sent if outline in statement]
    assert sent and not reading, "\n\n".join(reading)
    if url == "/":  # and still says which zones have no location
        with db.engine.connect() as conn:
            unlocated = conn.execute(text("SELECT count(*) FROM zones WHERE geom IS NULL")).scalar()
        assert (
            unlocated >= 1 and response.get_data(as_text=True).count("<em>chưa có vị trí</em>") == unlocated
        )
