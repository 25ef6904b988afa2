"""The data model: administrative units, agencies, zones and plan tasks (SQLAlchemy 2 typed models).

Administrative units and agencies are rows, not code: the province was merged in 2025 and district level was
abolished, so new units arrive as data. The schema itself is created only by Alembic (khgeo/migrations).

Why one module over 500 lines: the models reference each other (zones ↔ tasks ↔ agencies ↔ users ↔ parcels), the
schema is read as one piece next to its migrations, and tests/test_migrations.py compares all of it with them.
Each model is a short declaration; splitting them would add import cycles, not clarity.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from khgeo import codes

# the stored values of each coded column come from the one table in khgeo/codes.py
ZONE_KINDS = codes.ZONE_KIND.keys  # ("KCN", "CCN")
WWTP_STATUSES = codes.WWTP_STATUS.keys  # none, planned, under_construction, operating; NULL = unknown
OPERATING_STATUSES = codes.OPERATING_STATUS.keys  # planned, under_construction, operating, suspended
GEOMETRY_SOURCES = codes.GEOMETRY_SOURCE.keys  # illustrative, surveyed, imported
RECURRENCES = codes.RECURRENCE.keys  # monthly, quarterly, yearly, ongoing
TASK_STATUSES = codes.TASK_STATUS.keys  # not_started, in_progress, done ("overdue" is computed, never stored)
ROLES = codes.ROLE.keys  # viewer, field, planner, admin
PARCEL_STAGES = codes.PARCEL_STAGE.keys  # not_notified … handed_over, in order
LAND_USER_KINDS = codes.LAND_USER_KIND.keys  # household, individual, organisation
UPDATE_KINDS = (
    "seed",
    "status",
    "geometry",
    "import",
    "info",
    "parcels",
)  # info: an admin edited the zone's facts
# parcels: the zone's clearance figures derived from its parcels (khgeo.services.parcels.derive)
PARCEL_TIMER_KINDS = (
    codes.TIMER_KIND.keys
)  # deadline: overdue after it; earliest: the next step not before it
PARCEL_TIMER_CONDITIONS = codes.TIMER_CONDITION.keys

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _pct(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 0 AND 100", name=f"{column}_range")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class District(Base):
    """A district-level unit as of 2022 (GSO code), with its boundary."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)  # GSO code, e.g. "222" Việt Yên
    name: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    unit_type: Mapped[str] = mapped_column(Text)  # "Huyện", "Thành phố"
    province_code: Mapped[str] = mapped_column(String(10))
    # deferred: lists of districts (accounts, filters) need no outline; what draws them asks for it (undefer)
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), deferred=True
    )
    source: Mapped[str] = mapped_column(Text, default="")

    communes: Mapped[list[Commune]] = relationship(back_populates="district", order_by="Commune.name")


class Commune(Base):
    """A commune-level unit of the GSO register (01/10/2022); no boundary (none with a usable licence)."""

    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(Text)
    unit_type: Mapped[str] = mapped_column(Text)  # "Xã", "Phường", "Thị trấn"
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)

    district: Mapped[District] = relationship(back_populates="communes")


class Agency(Base):
    """A body the plan assigns work to: the zone board, a department, the police, a district committee."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(30))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    # where the agency's reminders go (reporting deadline, weekly digest): khgeo/services/followup
    contact_email: Mapped[str | None] = mapped_column(String(254))

    district: Mapped[District | None] = relationship()


task_zones = Table(
    "task_zones",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True, index=True),
)

task_coordinators = Table(
    "task_coordinators",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id", ondelete="RESTRICT"), primary_key=True),
    # an agency's tasks as a coordinator (the key leads with task_id)
    Index("ix_task_coordinators_agency_id", "agency_id"),
)


class Zone(Base):
    """An industrial zone (KCN) or cluster (CCN) with its current figures."""

    __tablename__ = "zones"
    __table_args__ = (
        CheckConstraint(_in("kind", ZONE_KINDS), name="kind"),
        CheckConstraint(f"wwtp_status IS NULL OR {_in('wwtp_status', WWTP_STATUSES)}", name="wwtp_status"),
        CheckConstraint(
            f"operating_status IS NULL OR {_in('operating_status', OPERATING_STATUSES)}",
            name="operating_status",
        ),
        CheckConstraint(_in("geometry_source", GEOMETRY_SOURCES), name="geometry_source"),
        _pct("infrastructure_pct"),
        _pct("occupancy_pct"),
        CheckConstraint("clearance_area_ha IS NULL OR clearance_area_ha >= 0", name="clearance_area"),
        CheckConstraint(
            "cleared_area_ha IS NULL OR (cleared_area_ha >= 0 AND "
            "(clearance_area_ha IS NULL OR cleared_area_ha <= clearance_area_ha))",
            name="cleared_area",
        ),
        CheckConstraint(
            "households_agreed IS NULL OR households_total IS NULL OR households_agreed <= households_total",
            name="households",
        ),
        CheckConstraint("stated_area_ha IS NULL OR stated_area_ha > 0", name="stated_area"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("parcel_count >= 0", name="parcel_count"),
        # the monitored zones by id: an OGC API page counts them and finds its ids in this index alone
        Index("ix_zones_monitored_id", "id", postgresql_where=text("retired_at IS NULL")),
        # `q` is a substring search (LIKE '%…%'): a trigram index answers it without reading every zone
        Index(
            "ix_zones_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    # name and aliases folded (no diacritics, lower case, đ → d; khgeo.text.fold's twin khgeo_fold), " | " between
    # them: what `q` searches. Generated by the database (migration 0017): never set it, nothing can leave it stale.
    search_text: Mapped[str] = mapped_column(
        Text, Computed("khgeo_zone_search_text(name, aliases)", persisted=True)
    )
    kind: Mapped[str] = mapped_column(String(3), index=True)
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="RESTRICT"), index=True
    )
    communes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)  # as stated by the source

    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
    # whether the zone has an outline, read without the outline: lists defer geom and show "no location" from this
    has_outline: Mapped[bool] = column_property(geom.is_not(None))
    geometry_source: Mapped[str] = mapped_column(String(20), default="illustrative")
    geometry_note: Mapped[str] = mapped_column(Text, default="")
    stated_area_ha: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # area of the outline in UTM zone 48N (EPSG:32648, geo/crs.METRIC_SRID), the metric CRS covering Bắc Giang
    computed_area_ha: Mapped[float | None] = mapped_column(
        Computed("ST_Area(ST_Transform(geom, 32648)) / 10000.0", persisted=True)
    )

    developer: Mapped[str] = mapped_column(Text, default="")
    managing_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    operating_status: Mapped[str | None] = mapped_column(String(30))
    infrastructure_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    clearance_area_ha: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # area to clear
    cleared_area_ha: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # percent cleared, derived in the database so it can never disagree with the areas
    clearance_pct: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 1),
        Computed(
            "CASE WHEN clearance_area_ha > 0 THEN round(100 * cleared_area_ha / clearance_area_ha, 1) END",
            persisted=True,
        ),
    )
    clearance_incomplete: Mapped[bool | None] = mapped_column()  # stated by a source with no figure
    households_total: Mapped[int | None] = mapped_column(Integer)
    households_agreed: Mapped[int | None] = mapped_column(Integer)
    wwtp_status: Mapped[str | None] = mapped_column(String(30), index=True)
    wwtp_capacity_m3_day: Mapped[Decimal | None] = mapped_column(Numeric(10, 1))
    occupancy_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    as_of: Mapped[dt.date | None] = mapped_column(Date)  # the date the figures describe
    # the clearance figures follow from the zone's parcels (khgeo.services.parcels.derive): typed ones are refused
    clearance_from_parcels: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    parcel_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    notes: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[dict] = mapped_column(JSONB, default=dict)  # field -> [source keys]
    osm_ref: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now(), onupdate=func.now()
    )
    # a retired zone is no longer monitored: it leaves every listing (khgeo.services.zones.apply_filter) but keeps
    # its page and history, and an admin can restore it
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # the zone's CRS84 GeoJSON Feature (khgeo.services.zones.feature_text), written only by the database's triggers
    # in the transaction of every write to the zone or its district (khgeo.services.stored_features): never set
    # it here. Deferred: loading a zone does not read it. STORAGE EXTERNAL (migration 0016): never compressed.
    feature_json: Mapped[str | None] = mapped_column(Text, deferred=True)

    # "Phường Nếnh (trước 01/7/2025: xã Quang Châu, huyện Việt Yên)": the zone's unit(s) today with the plan's, the
    # same text its Feature carries (SQL function of migration 0020); read only when asked (zone page, popup)
    units_label: Mapped[str | None] = column_property(func.khgeo_zone_units_label(id), deferred=True)

    district: Mapped[District | None] = relationship()
    # the 2025 units the zone lies in today (kept by the database: khgeo/services/units/sql.py)
    current_units: Mapped[list[AdminUnit]] = relationship(
        secondary="zone_units", order_by="AdminUnit.code", viewonly=True
    )
    managing_agency: Mapped[Agency | None] = relationship()
    retired_by: Mapped[User | None] = relationship()
    tasks: Mapped[list[Task]] = relationship(
        secondary=task_zones, back_populates="zones", order_by="Task.position"
    )

    __mapper_args__ = {"version_id_col": version}


# What a client that types fields from the first features it reads (QGIS 3.22: ten) must meet on the first page
# of the OGC API (khgeo.services.interop.ogc_collections._leaders): for each, the first monitored zone having it opens the pages. Each
# has a partial index of the monitored zones having it (declared below from the same expression), so "the first
# zone with it" is one index probe, also when no zone has it (a scan of every zone otherwise: ~100 ms a page at
# 10,000 zones). The first entry must stay the aliases (the pages open with a zone that has some).
PAGE_LEADING_FACTS: dict[str, ColumnElement[bool]] = {
    "aliases": func.cardinality(Zone.aliases) > 0,
    "stated_area": Zone.stated_area_ha.is_not(None),
    "computed_area": Zone.computed_area_ha.is_not(None),
    "clearance_area": Zone.clearance_area_ha.is_not(None),
    "cleared_area": Zone.cleared_area_ha.is_not(None),
    "clearance_pct": Zone.clearance_pct.is_not(None),
    # clearance_incomplete as served (a figure decides, else the sources' statement) is known exactly when this holds
    "clearance_known": or_(Zone.clearance_pct.is_not(None), Zone.clearance_incomplete.is_not(None)),
    "households_total": Zone.households_total.is_not(None),
    "households_agreed": Zone.households_agreed.is_not(None),
    "wwtp_capacity": Zone.wwtp_capacity_m3_day.is_not(None),
    "infrastructure_pct": Zone.infrastructure_pct.is_not(None),
    "occupancy_pct": Zone.occupancy_pct.is_not(None),
    "as_of": Zone.as_of.is_not(None),
}
for _key, _fact in PAGE_LEADING_FACTS.items():
    Index(f"ix_zones_with_{_key}", Zone.id, postgresql_where=and_(Zone.retired_at.is_(None), _fact))


class Task(Base):
    """One task of the plan (KH thực hiện NQ 24/NQ-HĐND), with its owner and deadline."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"recurrence IS NULL OR {_in('recurrence', RECURRENCES)}", name="recurrence"),
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        CheckConstraint("due_date IS NOT NULL OR recurrence IS NOT NULL", name="has_deadline"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)  # the plan's numbering, e.g. "II.3.1.2"
    section: Mapped[str] = mapped_column(String(20), index=True)
    section_title: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    applies_to_all_agencies: Mapped[bool] = mapped_column(default=False)
    deadline_text: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    recurrence: Mapped[str | None] = mapped_column(String(20))
    yearly_due: Mapped[str | None] = mapped_column(String(5))  # "MM-DD" for yearly tasks with a stated day
    due_exceptions: Mapped[dict] = mapped_column(JSONB, default=dict)  # {"2024": "2024-05-01"}
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the plan

    lead_agency: Mapped[Agency] = relationship(foreign_keys=[lead_agency_id])
    coordinating_agencies: Mapped[list[Agency]] = relationship(
        secondary=task_coordinators, order_by="Agency.code"
    )
    zones: Mapped[list[Zone]] = relationship(
        secondary=task_zones, back_populates="tasks", order_by="Zone.code"
    )


user_districts = Table(
    "user_districts",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("district_id", ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """An account. Field staff edit only zones of their districts; see khgeo/services/authz.py."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    email: Mapped[str | None] = mapped_column(String(254))  # for reminders (khgeo/services/followup)

    districts: Mapped[list[District]] = relationship(secondary=user_districts, order_by="District.code")
    # the area of responsibility by unit, of either period (khgeo/services/units/area.py)
    units: Mapped[list[AdminUnit]] = relationship(secondary="user_units", order_by="AdminUnit.code")
    agency: Mapped[Agency | None] = relationship()

    # the four attributes Flask-Login reads (kept here so models need no Flask import)
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """A token for scripts (Authorization: Bearer …); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # to the minute
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(
        Text, default=""
    )  # what the token is for, e.g. "QGIS on the board's PC"
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class UserSession(Base):
    """One login. The cookie holds a random key, this row its SHA-256: deleting the row ends the session.

    The login lasts KHGEO_SESSION_HOURS from ``created_at`` however much it is used (see services/accounts.py).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class ZoneUpdate(Base):
    """One entry of a zone's history, never overwritten: who reported what, as of when.

    Values are the zone's figures after this update (a full row, so the timeline and charts need no replay);
    ``changes`` holds {field: [old, new]} for what this update changed.
    """

    __tablename__ = "zone_updates"
    __table_args__ = (
        CheckConstraint(_in("kind", UPDATE_KINDS), name="kind"),
        # a zone's history in date order, and "the latest entry before a day" (planning, the yearly report)
        Index("ix_zone_updates_zone_id_as_of", "zone_id", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))  # indexed with as_of
    zone_version: Mapped[int] = mapped_column(Integer)  # the zone's version after this update
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), unique=True
    )  # makes retries safe
    source: Mapped[str] = mapped_column(String(200), default="")  # "web", "api", "seed", an import file name
    note: Mapped[str] = mapped_column(Text, default="")

    clearance_area_ha: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    cleared_area_ha: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    households_total: Mapped[int | None] = mapped_column(Integer)
    households_agreed: Mapped[int | None] = mapped_column(Integer)
    wwtp_status: Mapped[str | None] = mapped_column(String(30))
    wwtp_capacity_m3_day: Mapped[Decimal | None] = mapped_column(Numeric(10, 1))
    infrastructure_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    occupancy_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    clearance_pct: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 1),
        Computed(
            "CASE WHEN clearance_area_ha > 0 THEN round(100 * cleared_area_ha / clearance_area_ha, 1) END",
            persisted=True,
        ),
    )
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    geometry_source: Mapped[str | None] = mapped_column(String(20))
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)

    zone: Mapped[Zone] = relationship()
    user: Mapped[User | None] = relationship()
    photos: Mapped[list[Photo]] = relationship(back_populates="update", order_by="Photo.id")


class Photo(Base):
    """A site photo attached to an update: re-encoded, metadata stripped, GPS kept as data. Lives in the
    database so every app instance serves it and backups include it."""

    __tablename__ = "photos"
    # a zone's update or a parcel's history event (issue 14), exactly one
    __table_args__ = (CheckConstraint("(update_id IS NULL) <> (parcel_event_id IS NULL)", name="owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int | None] = mapped_column(
        ForeignKey("zone_updates.id", ondelete="CASCADE"), index=True
    )
    parcel_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("parcel_events.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(Text, default="")
    gps_lat: Mapped[float | None] = mapped_column()
    gps_lon: Mapped[float | None] = mapped_column()
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    update: Mapped[ZoneUpdate] = relationship(back_populates="photos")


class AuditEvent(Base):
    """Every change to a zone, task or user: who, when, what, old → new."""

    __tablename__ = "audit_events"
    # a user's events by time (the audit log's filter); the key also serves "by user" alone
    __table_args__ = (Index("ix_audit_events_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(60), default="")  # kept when the account is gone
    action: Mapped[str] = mapped_column(String(40))  # "zone.update", "zone.geometry", "user.create", …
    entity_type: Mapped[str] = mapped_column(String(20), index=True)
    entity_id: Mapped[str] = mapped_column(String(60), index=True)
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)  # {field: [old, new]}
    context: Mapped[dict] = mapped_column(JSONB, default=dict)  # channel, file name, remote address


class LoginAttempt(Base):
    """Failed and successful logins, for rate limiting that holds across app instances."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="", index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    throttled: Mapped[bool] = mapped_column(Boolean, default=False)  # refused unchecked: too many failures


class LoginThrottle(Base):
    """Failed-login counters per (username, address) pair and per address, updated atomically.

    ``failures`` counts guesses since ``window_started_at`` (a guess counts before its password is checked, so
    concurrent requests cannot overtake the limit); at the limit the key waits until ``blocked_until``, a delay
    that doubles with each ``lockouts`` (see services/accounts.py).
    """

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # "pair" or "address"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TaskProgress(Base):
    """A progress note on a task by an agency's user, optionally changing its status. Append-only."""

    __tablename__ = "task_progress"
    __table_args__ = (CheckConstraint(f"status IS NULL OR {_in('status', TASK_STATUSES)}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reported_on: Mapped[dt.date] = mapped_column(
        Date
    )  # the day the progress refers to (dd/mm/yyyy in the UI)
    status: Mapped[str | None] = mapped_column(String(20))  # the task's new status, if it changed
    note: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[Task] = relationship()
    user: Mapped[User | None] = relationship()
    agency: Mapped[Agency | None] = relationship()


class AgencyReport(Base):
    """An agency's yearly report to the zone board on the plan (due 15/12; 01/05 in 2024)."""

    __tablename__ = "agency_reports"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2022 AND 2100", name="year"),
        UniqueConstraint("agency_id", "year", name="uq_agency_reports_agency_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    year: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str] = mapped_column(Text, default="")
    attachment_type: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    agency: Mapped[Agency] = relationship()
    submitted_by: Mapped[User | None] = relationship()
    items: Mapped[list[AgencyReportItem]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="AgencyReportItem.task_id"
    )

    __mapper_args__ = {"version_id_col": version}


class AgencyReportItem(Base):
    """What an agency reports for one task in its yearly report."""

    __tablename__ = "agency_report_items"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("agency_reports.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[AgencyReport] = relationship(back_populates="items")
    task: Mapped[Task] = relationship()


class ImportUpload(Base):
    """An admin's uploaded file between the import preview and the apply. Kept in the database, not on one
    app server's disk, so the apply may reach any instance; removed once applied or after a day."""

    __tablename__ = "import_uploads"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(Text)
    suffix: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class DocumentCache(Base):
    """A generated document (consolidated report, planners' XLSX) kept for the data it was made from.

    The key holds the document, its parameters and the data version, so a change to the data makes a new key;
    in the database, so every app instance (gunicorn worker, server) shares it. See khgeo/services/reports/documents.py.
    """

    __tablename__ = "document_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    mimetype: Mapped[str] = mapped_column(String(100))
    disposition: Mapped[str] = mapped_column(Text)  # the Content-Disposition header it is served with
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class DocumentRequest(Base):
    """One download of a generated document by a user, for the per-user rate limit across app instances."""

    __tablename__ = "document_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class ZoneFeaturesVersion(Base):
    """One row: a random token drawn again by the stored Features' triggers in every transaction that writes zones
    (insert, update, delete, truncate) or districts, so "same token" means "same zones": a server keeps OGC API
    pages in memory under it (khgeo.services.interop.ogc.PageCache). See khgeo/services/stored_features.py."""

    __tablename__ = "zone_features_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())


class Parcel(Base):
    """A land parcel (thửa đất) of a zone's site clearance: where it is, whose it is, and how far its recovery got.

    Its natural key is (commune code, map sheet, parcel number); ``uid`` is the parcel identifier of Circular 19/2026
    (the 12-character geohash of a point inside the parcel), computed by khgeo when a file brings none. The land
    user's name and households are personal data (Decree 13/2023): see khgeo/services/authz.py.
    """

    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("commune_code", "sheet", "number", name="uq_parcels_commune_sheet_number"),
        CheckConstraint(_in("stage", PARCEL_STAGES), name="stage"),
        CheckConstraint(
            f"land_user_kind IS NULL OR {_in('land_user_kind', LAND_USER_KINDS)}", name="land_user_kind"
        ),
        CheckConstraint(_in("geometry_source", GEOMETRY_SOURCES), name="geometry_source"),
        CheckConstraint("commune_code ~ '^[0-9]{5}$'", name="commune_code"),
        CheckConstraint("uid ~ '^[0-9b-hjkmnp-z]{12}$'", name="uid"),
        CheckConstraint("legal_area_m2 IS NULL OR legal_area_m2 > 0", name="legal_area"),
        CheckConstraint("households IS NULL OR households >= 0", name="households"),
        CheckConstraint("people IS NULL OR people >= 0", name="people"),
        CheckConstraint("amount_approved IS NULL OR amount_approved >= 0", name="amount_approved"),
        CheckConstraint("amount_paid IS NULL OR amount_paid >= 0", name="amount_paid"),
        CheckConstraint("version >= 1", name="version"),
        # a zone's parcels by stage: the pipeline bar and the derived figures
        Index("ix_parcels_zone_id_stage", "zone_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(12), unique=True)  # geohash-12 parcel identifier
    commune_code: Mapped[str] = mapped_column(String(5), index=True)  # official 5-digit unit code
    sheet: Mapped[str] = mapped_column(String(20))  # số tờ bản đồ
    number: Mapped[str] = mapped_column(String(20))  # số thửa
    old_sheet: Mapped[str | None] = mapped_column(String(20))
    old_number: Mapped[str | None] = mapped_column(String(20))
    land_type: Mapped[str] = mapped_column(String(20), default="")  # e.g. LUC, ONT
    legal_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))
    area_m2: Mapped[float | None] = mapped_column()  # of the outline, in the metric CRS (khgeo.geo)
    address: Mapped[str] = mapped_column(Text, default="")

    # the land user: personal data
    land_user_kind: Mapped[str | None] = mapped_column(String(20))
    land_user_name: Mapped[str] = mapped_column(Text, default="")
    households: Mapped[int | None] = mapped_column(Integer)  # households affected
    people: Mapped[int | None] = mapped_column(Integer)  # people affected

    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    zone_overridden: Mapped[bool] = mapped_column(Boolean, default=False)  # set by hand, not from the outline
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
    # the outline in Web Mercator, kept by PostgreSQL, for the vector tiles (khgeo/services/parcels/tiles.py)
    geom_3857: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=3857, spatial_index=True),
        Computed("ST_Transform(geom, 3857)", persisted=True),
    )
    geometry_source: Mapped[str] = mapped_column(String(20), default="imported")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)  # generated demo data, never real

    stage: Mapped[str] = mapped_column(String(20), default="not_notified")
    stage_date: Mapped[dt.date | None] = mapped_column(Date)  # when the current stage was reached
    compulsory_inventory: Mapped[bool] = mapped_column(Boolean, default=False)
    enforcement: Mapped[bool] = mapped_column(Boolean, default=False)
    dispute: Mapped[bool] = mapped_column(Boolean, default=False)
    resettlement_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_approved: Mapped[Decimal | None] = mapped_column(Numeric(16, 0))  # VND
    amount_paid: Mapped[Decimal | None] = mapped_column(Numeric(16, 0))  # VND

    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now(), onupdate=func.now()
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    zone: Mapped[Zone | None] = relationship()
    steps: Mapped[list[ParcelStep]] = relationship(back_populates="parcel", order_by="ParcelStep.date")

    __mapper_args__ = {"version_id_col": version}


class ParcelStep(Base):
    """The date and document of one stage a parcel reached (one row per stage)."""

    __tablename__ = "parcel_steps"
    __table_args__ = (
        UniqueConstraint("parcel_id", "stage", name="uq_parcel_steps_parcel_stage"),
        CheckConstraint(_in("stage", PARCEL_STAGES), name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    document_number: Mapped[str] = mapped_column(String(100), default="")
    document_date: Mapped[dt.date | None] = mapped_column(Date)
    document_signer: Mapped[str] = mapped_column(String(200), default="")

    parcel: Mapped[Parcel] = relationship(back_populates="steps")


class ParcelEvent(Base):
    """One entry of a parcel's history, append-only: who changed what, when, old → new, why."""

    __tablename__ = "parcel_events"
    __table_args__ = (Index("ix_parcel_events_parcel_id_at", "parcel_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id", ondelete="CASCADE"))
    parcel_version: Mapped[int] = mapped_column(Integer)  # the parcel's version after this change
    kind: Mapped[str] = mapped_column(String(20))  # import, stage, edit, correction
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)  # safe retries
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)  # {field: [old, new]}
    note: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict] = mapped_column(JSONB, default=dict)  # {number, date, signer}

    parcel: Mapped[Parcel] = relationship()
    user: Mapped[User | None] = relationship()
    photos: Mapped[list[Photo]] = relationship(order_by="Photo.id", viewonly=True)


class ParcelTimer(Base):
    """A legal timer as data: how long a stage may last, or how long after it the next must come, with the text
    it comes from. The board corrects these against the official text (the citations are secondary sources)."""

    __tablename__ = "parcel_timers"
    __table_args__ = (
        CheckConstraint(_in("stage", PARCEL_STAGES), name="stage"),
        CheckConstraint("days > 0 OR months > 0", name="length"),
        CheckConstraint("length(trim(citation)) > 0", name="citation"),
        CheckConstraint(_in("kind", PARCEL_TIMER_KINDS), name="kind"),
        CheckConstraint(
            f"applies_when IS NULL OR {_in('applies_when', PARCEL_TIMER_CONDITIONS)}", name="applies_when"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    stage: Mapped[str] = mapped_column(String(20))  # runs while the parcel is in this stage
    days: Mapped[int] = mapped_column(Integer, default=0)
    months: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(Text)  # Vietnamese, as the board words it
    label_en: Mapped[str] = mapped_column(Text, default="")
    citation: Mapped[str] = mapped_column(Text)  # article and source it comes from
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(10), default="deadline", server_default=text("'deadline'"))
    applies_when: Mapped[str | None] = mapped_column(String(30))  # a condition on the parcel; None: always


class ParcelsVersion(Base):
    """One row: a token drawn again in every transaction that writes parcels, so tiles' ETags follow the data."""

    __tablename__ = "parcels_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())


# -- follow-up: notifications, e-mail, calendar feeds (khgeo/services/followup) ----------------------------------
NOTIFICATION_KINDS = codes.NOTIFICATION_KIND.keys
MAIL_STATUSES = ("queued", "sent", "failed")


class NotificationSetting(Base):
    """A user's choice for one kind of event: in the app, by e-mail; ``days`` for "no update for N days".
    No row: the role's default (khgeo.services.followup.notifications.DEFAULTS)."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        CheckConstraint("days IS NULL OR days BETWEEN 1 AND 365", name="days"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    days: Mapped[int | None] = mapped_column(Integer)


class Notification(Base):
    """One in-app notification; ``dedupe_key`` (event, object, deadline, offset, user) makes it once only."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(Text, default="")  # a path inside khgeo, e.g. /tasks/II.3.4.2
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class MailMessage(Base):
    """The e-mail outbox and sent-log: a message is queued once (``dedupe_key``), sent once, retried on failure."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint(_in("status", MAIL_STATUSES), name="status"),
        Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CalendarFeed(Base):
    """A secret iCalendar address of an agency's or a user's deadlines; only the secret's SHA-256 is kept."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("(agency_id IS NULL) <> (user_id IS NULL)", name="owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# -- administrative units over time (issue 13; khgeo/services/units) ---------------------------------------------
# The plan of 2022 speaks of its districts and communes; since 01/07/2025 the province (now Bắc Ninh) has only
# communes and wards (NQ 1658/NQ-UBTVQH15). Both periods are rows here, with their validity, and each 2022 commune
# points to the 2025 unit(s) that succeeded it. The districts/communes tables stay (zones, accounts and agencies
# refer to them); their rows are linked to the 2022 rows here by district_id / commune_id.
UNIT_LEVELS = ("province", "district", "commune")
UNIT_PERIODS = ("2022", "2025")  # the plan's register (GSO 01/10/2022) and the units since 01/07/2025
ZONE_UNIT_BASES = ("outline", "crosswalk")
SUCCESSION_KINDS = codes.SUCCESSION_KIND.keys


class AdminUnit(Base):
    """An administrative unit of one period: a province, a 2022 district, a commune or ward (2022 or 2025)."""

    __tablename__ = "admin_units"
    __table_args__ = (
        CheckConstraint(_in("level", UNIT_LEVELS), name="level"),
        CheckConstraint(_in("period", UNIT_PERIODS), name="period"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),
        UniqueConstraint("period", "level", "code", name="uq_admin_units_period_level_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(4))
    level: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(10))  # GSO / QĐ 19/2025 code; a 2025 unit reuses a constituent's
    name: Mapped[str] = mapped_column(Text)  # without its type: "Nếnh"
    full_name: Mapped[str] = mapped_column(Text)  # "Phường Nếnh"
    unit_type: Mapped[str] = mapped_column(Text, default="")  # "Phường", "Xã", "Huyện", "Tỉnh" …
    # the full names a 2022 commune had later under the same code (register of 2025-03: "Xã Đồng Tiến" for 07816)
    later_names: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_units.id", ondelete="RESTRICT"), index=True
    )
    valid_from: Mapped[dt.date | None] = mapped_column(Date)  # None: before the register we hold
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # None: still in force
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), unique=True
    )
    commune_id: Mapped[int | None] = mapped_column(
        ForeignKey("communes.id", ondelete="SET NULL"), unique=True
    )
    # deferred: resolving a name loads every unit (~3 MB of outlines, 0.1 s a call when loaded); outlines are
    # read in SQL (zone_units, the boundary overlay), never from these objects
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), deferred=True
    )
    source: Mapped[str] = mapped_column(Text, default="")

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[AdminUnit]] = relationship(back_populates="parent", order_by="AdminUnit.code")
    successors: Mapped[list[AdminUnit]] = relationship(
        secondary="admin_unit_links",
        primaryjoin="AdminUnit.id == admin_unit_links.c.predecessor_id",
        secondaryjoin="AdminUnit.id == admin_unit_links.c.successor_id",
        order_by="AdminUnit.code",
        viewonly=True,
    )
    predecessors: Mapped[list[AdminUnit]] = relationship(
        secondary="admin_unit_links",
        primaryjoin="AdminUnit.id == admin_unit_links.c.successor_id",
        secondaryjoin="AdminUnit.id == admin_unit_links.c.predecessor_id",
        order_by="AdminUnit.code",
        viewonly=True,
    )


admin_unit_links = Table(
    "admin_unit_links",
    Base.metadata,
    Column("predecessor_id", ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True),
    Column("successor_id", ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("effective", Date, nullable=False),
    Column("source", Text, nullable=False),  # the act and the data file that say so
)

# Names the plan states for zones that no 2022 register row resolves (merged before 2022, or gone by 2025),
# placed by the data file bacgiang_zones_to_2025_units.csv ("by GADM point"); name folded (khgeo_fold)
unit_name_placements = Table(
    "unit_name_placements",
    Base.metadata,
    Column("name_folded", Text, primary_key=True),
    Column("unit_id", ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True),
    Column("source", Text, nullable=False),
)

# each zone's current (2025) unit(s): written only by the database (khgeo_place_zones, migration 0020) from the
# zone's outline, or else from the crosswalk of the communes the plan names. Never written by the app.
zone_units = Table(
    "zone_units",
    Base.metadata,
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("basis", String(10), nullable=False),
    CheckConstraint(_in("basis", ZONE_UNIT_BASES), name="basis"),
)

# an account's area of responsibility: units of either period (a 2022 district: the 2025 units now covering it)
user_units = Table(
    "user_units",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True),
)


class AgencySuccession(Base):
    """An agency succeeded by another from a date (merged, renamed, split), with the act that did it."""

    __tablename__ = "agency_successions"
    __table_args__ = (
        CheckConstraint(_in("kind", SUCCESSION_KINDS), name="kind"),
        CheckConstraint("predecessor_id <> successor_id", name="not_itself"),
        UniqueConstraint("predecessor_id", "successor_id", name="uq_agency_successions_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    effective: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(Text)  # the act: number and date
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    predecessor: Mapped[Agency] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped[Agency] = relationship(foreign_keys=[successor_id])
