"""One clock for the whole app: "today" and "now" are Bắc Giang's, whatever the server's time zone.

Deadlines (15/12 for the agencies, 31/12 for the board), overdue tasks, the latest date a form accepts, the date
printed on a report and every timestamp shown to a user are read here. The province's zone is the setting
``KHGEO_TIMEZONE`` (default ``Asia/Ho_Chi_Minh``); tests and demos freeze the date with ``KHGEO_TODAY`` or the
instant with ``KHGEO_NOW``.

Inside a Flask app context the app's clock is used (each test app may freeze its own); elsewhere (scripts,
benchmarks) a clock built from the environment.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
EXTENSION = "khgeo.clock"


def parse_timezone(value: str) -> ZoneInfo:
    """An IANA zone name such as Asia/Ho_Chi_Minh (ValueError otherwise, for the settings loader)."""
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (expected a name such as {DEFAULT_TIMEZONE})") from exc


def parse_date(value: str) -> dt.date | None:
    """A frozen date, ISO (2026-12-15) or Vietnamese (15/12/2026); empty means not frozen."""
    value = value.strip()
    if not value:
        return None
    try:
        return (
            dt.datetime.strptime(value, "%d/%m/%Y").date() if "/" in value else dt.date.fromisoformat(value)
        )
    except ValueError as exc:
        raise ValueError(f"expected a date such as 2026-12-15 or 15/12/2026, got {value!r}") from exc


def parse_instant(value: str) -> dt.datetime | None:
    """A frozen instant with its offset (2026-12-14T20:00:00+00:00); empty means not frozen."""
    value = value.strip()
    if not value:
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"expected a date and time such as 2026-12-14T20:00:00+00:00, got {value!r}"
        ) from exc
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (add +07:00 or Z)")
    return instant


@dataclass(frozen=True)
class Clock:
    tz: ZoneInfo
    frozen_now: dt.datetime | None = None
    frozen_today: dt.date | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Clock:
        tz = settings.get("KHGEO_TIMEZONE") or DEFAULT_TIMEZONE
        return cls(
            tz=tz if isinstance(tz, ZoneInfo) else parse_timezone(tz),
            frozen_now=settings.get("KHGEO_NOW"),
            frozen_today=settings.get("KHGEO_TODAY"),
        )

    def now(self) -> dt.datetime:
        """The current instant, aware, in the province's zone."""
        if self.frozen_now is not None:
            return self.frozen_now.astimezone(self.tz)
        return dt.datetime.now(self.tz)

    def today(self) -> dt.date:
        """The province's calendar date."""
        if self.frozen_today is not None:
            return self.frozen_today
        return self.now().date()

    def local(self, value: dt.datetime) -> dt.datetime:
        """A stored instant in the province's zone (a naive value is taken as UTC, as PostgreSQL stores it)."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.tz)


@functools.cache
def _environment_clock() -> Clock:
    from khgeo.config import load_settings

    return Clock.from_settings(load_settings())


def current() -> Clock:
    """The running app's clock, or the environment's outside an app."""
    from flask import current_app, has_app_context

    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    return _environment_clock()


def now() -> dt.datetime:
    return current().now()


def today() -> dt.date:
    return current().today()


def zone() -> ZoneInfo:
    return current().tz


def local(value: dt.datetime) -> dt.datetime:
    return current().local(value)


def init_app(app: Any) -> None:
    app.extensions[EXTENSION] = Clock.from_settings(app.config)


def tracking_start() -> dt.date | None:
    """The day progress tracking began (KHGEO_TRACKING_START): recurring periods closed before it are not overdue."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config.get("KHGEO_TRACKING_START")
    from khgeo.config import load_settings

    return load_settings().get("KHGEO_TRACKING_START")
