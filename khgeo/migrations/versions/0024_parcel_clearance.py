"""parcels' clearance: the zone's figures follow from its parcels (a marker and the parcel count on zones, history
entries of kind "parcels"), timers with a kind and a condition, and the legal timers of the process notes

The zones' stored Features carry the marker: their serialisation (khgeo.services.zones) gained two properties, and
khgeo.migrate.upgrade re-installs the generated function and rewrites every Feature after the migrations
(khgeo.services.stored_features.sync), as for 0016.

Revision ID: 0024
Revises: 0022
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('seed', 'status', 'geometry', 'import', 'info')"
KINDS_AFTER = "kind IN ('seed', 'status', 'geometry', 'import', 'info', 'parcels')"
TIMER_KINDS = "kind IN ('deadline', 'earliest')"
CONDITIONS = (
    "applies_when IS NULL OR applies_when IN "
    "('no_resettlement', 'resettlement', 'compulsory_inventory', 'agricultural', 'non_agricultural')"
)

# The legal timers of /work/shared/research/gpmb-process-notes.md §2, as of this migration (a migration never
# imports the application): code, stage, kind, days, months, condition, label (vi), label (en), citation.
# The citations are secondary sources; the board corrects the rows when it checks the official text.
TIMERS = (
    (
        "notice_validity",
        "notified",
        "deadline",
        0,
        12,
        None,
        "Thông báo thu hồi đất có hiệu lực 12 tháng",
        "The recovery notice is valid 12 months",
        "Luật Đất đai 31/2024/QH15, Điều 85 khoản 5 (nguồn thứ cấp: laodong.vn …1503773, en.vcci.com.vn)",
    ),
    (
        "notice_ahead_agricultural",
        "notified",
        "earliest",
        90,
        0,
        "agricultural",
        "Thông báo trước ít nhất 90 ngày (đất nông nghiệp) trước khi quyết định thu hồi",
        "Notice at least 90 days before the recovery decision (agricultural land)",
        "Luật Đất đai 31/2024/QH15, Điều 85 khoản 1 (nguồn thứ cấp: laodong.vn …1644315)",
    ),
    (
        "notice_ahead_non_agricultural",
        "notified",
        "earliest",
        180,
        0,
        "non_agricultural",
        "Thông báo trước ít nhất 180 ngày (đất phi nông nghiệp) trước khi quyết định thu hồi",
        "Notice at least 180 days before the recovery decision (non-agricultural land)",
        "Luật Đất đai 31/2024/QH15, Điều 85 khoản 1 (nguồn thứ cấp: laodong.vn …1644315)",
    ),
    (
        "compulsory_inventory",
        "notified",
        "deadline",
        25,
        0,
        "compulsory_inventory",
        "Quyết định kiểm đếm bắt buộc sau 15 ngày vận động và 10 ngày",
        "Compulsory-inventory decision after 15 days of persuasion and 10 more days",
        "Luật Đất đai 31/2024/QH15, Điều 87 (nguồn thứ cấp: laodong.vn …1503773)",
    ),
    (
        "plan_posting",
        "plan_posted",
        "deadline",
        30,
        0,
        None,
        "Niêm yết phương án bồi thường 30 ngày",
        "The compensation plan is posted for 30 days",
        "Luật Đất đai 31/2024/QH15, Điều 87 khoản 3 điểm a (nguồn thứ cấp: baonghean.vn/en/…10291123.html)",
    ),
    (
        "payment",
        "plan_approved",
        "deadline",
        30,
        0,
        None,
        "Chi trả trong 30 ngày kể từ khi phê duyệt phương án",
        "Payment within 30 days of the plan's approval",
        "Luật Đất đai 31/2024/QH15, Điều 94 (cần đối chiếu; nguồn thứ cấp: laodong.vn …1573642)",
    ),
    (
        "recovery_decision",
        "plan_approved",
        "deadline",
        10,
        0,
        "no_resettlement",
        "Quyết định thu hồi trong 10 ngày kể từ khi phê duyệt phương án (không phải tái định cư)",
        "Recovery decision within 10 days of the plan's approval (no resettlement needed)",
        "Luật Đất đai 31/2024/QH15, Điều 87 khoản 5 (nguồn thứ cấp: laodong.vn …1573642)",
    ),
)


def upgrade() -> None:
    op.add_column(
        "zones",
        sa.Column("clearance_from_parcels", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("zones", sa.Column("parcel_count", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint(op.f("ck_zones_parcel_count"), "zones", "parcel_count >= 0")
    op.drop_constraint(op.f("ck_zone_updates_kind"), "zone_updates", type_="check")
    op.create_check_constraint(op.f("ck_zone_updates_kind"), "zone_updates", KINDS_AFTER)
    op.add_column(
        "parcel_timers", sa.Column("kind", sa.String(length=10), server_default="deadline", nullable=False)
    )
    op.add_column("parcel_timers", sa.Column("applies_when", sa.String(length=30), nullable=True))
    op.create_check_constraint(op.f("ck_parcel_timers_kind"), "parcel_timers", TIMER_KINDS)
    op.create_check_constraint(op.f("ck_parcel_timers_applies_when"), "parcel_timers", CONDITIONS)
    # site photos of a parcel's step (the zones' photo pipeline, khgeo.services.photos)
    op.alter_column("photos", "update_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("photos", sa.Column("parcel_event_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_photos_parcel_event_id_parcel_events"),
        "photos",
        "parcel_events",
        ["parcel_event_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_photos_parcel_event_id"), "photos", ["parcel_event_id"], unique=False)
    op.create_check_constraint(
        op.f("ck_photos_owner"), "photos", "(update_id IS NULL) <> (parcel_event_id IS NULL)"
    )
    timers = sa.table(
        "parcel_timers",
        sa.column("code", sa.String),
        sa.column("stage", sa.String),
        sa.column("kind", sa.String),
        sa.column("days", sa.Integer),
        sa.column("months", sa.Integer),
        sa.column("applies_when", sa.String),
        sa.column("label", sa.Text),
        sa.column("label_en", sa.Text),
        sa.column("citation", sa.Text),
        sa.column("active", sa.Boolean),
    )
    keys = ("code", "stage", "kind", "days", "months", "applies_when", "label", "label_en", "citation")
    op.bulk_insert(timers, [{**dict(zip(keys, row, strict=True)), "active": True} for row in TIMERS])


def downgrade() -> None:
    op.execute("DELETE FROM photos WHERE parcel_event_id IS NOT NULL")
    op.drop_constraint(op.f("ck_photos_owner"), "photos", type_="check")
    op.drop_index(op.f("ix_photos_parcel_event_id"), table_name="photos")
    op.drop_constraint(op.f("fk_photos_parcel_event_id_parcel_events"), "photos", type_="foreignkey")
    op.drop_column("photos", "parcel_event_id")
    op.alter_column("photos", "update_id", existing_type=sa.Integer(), nullable=False)
    timers = sa.table("parcel_timers", sa.column("code", sa.String))
    op.execute(timers.delete().where(timers.c.code.in_([row[0] for row in TIMERS])))
    op.drop_constraint(op.f("ck_parcel_timers_applies_when"), "parcel_timers", type_="check")
    op.drop_constraint(op.f("ck_parcel_timers_kind"), "parcel_timers", type_="check")
    op.drop_column("parcel_timers", "applies_when")
    op.drop_column("parcel_timers", "kind")
    op.execute("DELETE FROM zone_updates WHERE kind = 'parcels'")
    op.drop_constraint(op.f("ck_zone_updates_kind"), "zone_updates", type_="check")
    op.create_check_constraint(op.f("ck_zone_updates_kind"), "zone_updates", KINDS_BEFORE)
    op.drop_constraint(op.f("ck_zones_parcel_count"), "zones", type_="check")
    op.drop_column("zones", "parcel_count")
    op.drop_column("zones", "clearance_from_parcels")
