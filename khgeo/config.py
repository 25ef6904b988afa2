"""Settings, declared as data.

Every setting is read from a ``KHGEO_*`` environment variable (or from the ``overrides`` mapping given to
``create_app``), converted and validated here, so the rest of the code never reads ``os.environ``.
A test fails when a setting is missing from the README (tests/test_config.py).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from khgeo.clock import DEFAULT_TIMEZONE, parse_date, parse_instant, parse_timezone
from khgeo.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive integer")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or a positive integer")
    return number


def _locale(value: str) -> str:
    if value not in ("vi", "en"):
        raise ValueError("must be vi or en")
    return value


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _database_url(value: str) -> str:
    if value and not value.startswith("postgresql"):
        raise ValueError("must be a PostgreSQL URL such as postgresql+psycopg://user:pass@host/db")
    return (
        value.replace("postgresql://", "postgresql+psycopg://", 1)
        if value.startswith("postgresql://")
        else value
    )


def _public_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            "must be the address users open, such as https://khgeo.example.gov.vn (no ?query or #)"
        )
    return value.rstrip("/")


def _smtp_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must look like smtp://user:password@host:587 or smtps://user:password@host:465")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError("the port must be a number, e.g. smtp://mail.example.gov.vn:587") from None
    return value


def _mail_address(value: str) -> str:
    value = value.strip()
    if value and (value.count("@") != 1 or any(c in value for c in " <>,;")):
        raise ValueError(f"expected an address such as khgeo@bqlkcn.bacgiang.gov.vn, got {value!r}")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    convert: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "KHGEO_DATABASE_URL",
        "",
        "PostgreSQL+PostGIS server to use (postgresql+psycopg://…). Empty: khgeo "
        "manages its own embedded cluster under KHGEO_DATA_DIR.",
        _database_url,
    ),
    Setting(
        "KHGEO_DATA_DIR",
        "./instance",
        "Directory for the embedded database, the generated secret key and logs.",
        lambda v: Path(v).expanduser().resolve(),
    ),
    Setting(
        "KHGEO_SECRET_KEY",
        None,
        "Secret for sessions and CSRF: at least 32 random characters. Required with KHGEO_DATABASE_URL; with "
        "the embedded database it is generated once and kept in KHGEO_DATA_DIR/secret_key.",
    ),
    Setting(
        "KHGEO_TILES_URL",
        DEFAULT_TILES_URL,
        "Basemap tile URL template (the only external host a page may "
        "use). Empty: no basemap; zones still draw.",
    ),
    Setting("KHGEO_TILES_ATTRIBUTION", DEFAULT_TILES_ATTRIBUTION, "Attribution shown for the basemap tiles."),
    Setting(
        "KHGEO_EMBED_MAX_FEATURES",
        "500",
        "Above this many zones the map page fetches GeoJSON from the API instead of embedding it.",
        _positive_int,
    ),
    Setting(
        "KHGEO_PG_BINDIR",
        "",
        "Directory of the PostgreSQL server binaries for the embedded cluster "
        "(default: the newest /usr/lib/postgresql/*/bin).",
    ),
    Setting(
        "KHGEO_PUBLIC_READ",
        "false",
        "Let anonymous visitors read the map, zone pages and the JSON API (default off: login required).",
        _bool,
    ),
    Setting(
        "KHGEO_SESSION_HOURS",
        "8",
        "How long a login lasts (hours, counted from the login, however active) before the user must log in again.",
        _positive_int,
    ),
    Setting(
        "KHGEO_TRUSTED_PROXIES",
        "0",
        "How many reverse proxies (nginx) sit in front of khgeo; their X-Forwarded-For/-Proto headers are trusted.",
        int,
    ),
    Setting(
        "KHGEO_MAX_VERTICES_PER_OUTLINE",
        "20000",
        "Most vertices one zone outline may have (imported, uploaded or drawn); more is refused with a message.",
        _positive_int,
    ),
    Setting(
        "KHGEO_MAX_VERTICES_PER_FILE",
        "200000",
        "Most vertices all the outlines of one imported file may have together; a larger file is refused.",
        _positive_int,
    ),
    Setting(
        "KHGEO_PUBLIC_URL",
        "",
        "The address users reach khgeo at (https://khgeo.example.gov.vn, with a path if it is served under one). "
        "Links khgeo writes into documents (the OGC API, its OpenAPI definition) start with it instead of the "
        "request's Host header; empty: from the request.",
        _public_url,
    ),
    Setting("KHGEO_LOG_LEVEL", "INFO", "Logging level (DEBUG, INFO, WARNING, ERROR).", lambda v: v.upper()),
    Setting("KHGEO_DEFAULT_LOCALE", "vi", "Default UI language (vi or en).", _locale),
    Setting(
        "KHGEO_TIMEZONE",
        DEFAULT_TIMEZONE,
        'The province\'s time zone: "today", deadlines and every time shown come from it, whatever the '
        "server's own zone.",
        parse_timezone,
    ),
    Setting(
        "KHGEO_TODAY",
        "",
        'Freeze "today" at this date (2026-12-15 or 15/12/2026), for tests and demonstrations. Empty: the real date.',
        parse_date,
    ),
    Setting(
        "KHGEO_NOW",
        "",
        'Freeze "now" at this instant with its offset (2026-12-14T20:00:00+00:00), for tests. Empty: the real time.',
        parse_instant,
    ),
    Setting(
        "KHGEO_TRACKING_START",
        "2026-01-01",
        "Tracking start (theo dõi từ ngày, YYYY-MM-DD): a recurring task is never overdue for a period whose "
        "deadline came before this day, so a new installation does not start with every recurring task late.",
        _iso_date,
    ),
    Setting(
        "KHGEO_DOCUMENT_LIMIT",
        "20",
        "How many generated documents (consolidated report, planners' XLSX) one user may download in 10 minutes; "
        "more are refused with HTTP 429 and Retry-After.",
        _positive_int,
    ),
    Setting(
        "KHGEO_OGC_PAGE_CACHE_MB",
        "64",
        "Memory (MiB) each server process may use to keep OGC API pages of zones, served again while no zone or "
        "district has changed since; 0: every page is read from the database.",
        _non_negative_int,
    ),
    Setting(
        "KHGEO_SMTP_URL",
        "",
        "Mail server for reminders sent by `khgeo notify`: smtp://user:password@host:587 (STARTTLS, see "
        "KHGEO_SMTP_STARTTLS) or smtps://user:password@host:465 (TLS from the start); %-encode special characters "
        "of the password. Empty: reminders are in the app only.",
        _smtp_url,
    ),
    Setting("KHGEO_MAIL_FROM", "", "Sender address of the reminders (From:).", _mail_address),
    Setting(
        "KHGEO_SMTP_STARTTLS",
        "true",
        "With an smtp:// server, switch to TLS (STARTTLS) before logging in; turn off only for a relay on the "
        "same machine.",
        _bool,
    ),
    Setting(
        "KHGEO_LETTER_PARENT_BODY",
        "UBND TỈNH BẮC GIANG",
        "The body above the issuer in an urging letter's heading (Nghị định 30/2020: cơ quan chủ quản).",
    ),
    Setting(
        "KHGEO_LETTER_ISSUER",
        "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP",
        "The issuing body of urging letters (cơ quan ban hành), in capitals as printed.",
    ),
    Setting(
        "KHGEO_PARCEL_STALLED_DAYS",
        "60",
        "A parcel with no change for this many days (and not handed over) is listed as stalled on its zone's page.",
        _positive_int,
    ),
)


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict:
    """Read every declared setting; raise ConfigError naming the setting on a bad value."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides and not isinstance(overrides[setting.name], str):
            values[setting.name] = overrides.pop(setting.name)  # already typed (tests)
            continue
        raw = (
            overrides.pop(setting.name)
            if setting.name in overrides
            else environ.get(setting.name, setting.default)
        )
        if raw is None:
            values[setting.name] = None
            continue
        try:
            values[setting.name] = setting.convert(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from exc
    values.update(overrides)  # Flask keys such as TESTING pass through
    return values


MIN_SECRET_KEY = 32
# words that mark a key typed by a person rather than drawn at random
_NOT_RANDOM = (
    "secret",
    "password",
    "passwd",
    "changeme",
    "change-me",
    "example",
    "default",
    "production",
    "khgeo",
)
_MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def check_secret_key(key: str) -> None:
    """Refuse a key that is short or obviously not random; the message names the setting and how to make one."""
    if len(key) < MIN_SECRET_KEY:
        raise ConfigError(
            f"KHGEO_SECRET_KEY is too short ({len(key)} characters): use at least {MIN_SECRET_KEY} random "
            f"characters, e.g. the output of {_MAKE_ONE}"
        )
    lowered = key.lower()
    repeated = any(len(set(key[i : i + 8])) == 1 for i in range(len(key) - 7))
    periodic = any(key == (key[:p] * (len(key) // p + 1))[: len(key)] for p in range(1, len(key) // 2 + 1))
    if len(set(key)) < 8 or repeated or periodic or any(word in lowered for word in _NOT_RANDOM):
        raise ConfigError(
            f"KHGEO_SECRET_KEY does not look random (few different characters, a repeated pattern or a word "
            f"such as 'secret'): use the output of {_MAKE_ONE}"
        )


def resolve_secret_key(settings: Mapping[str, Any]) -> str:
    """The secret key is never defaulted: required with an external database, generated once for the embedded one.

    A key that is set must be long and random (check_secret_key); the generated one is both by construction."""
    if settings.get("KHGEO_SECRET_KEY"):
        check_secret_key(settings["KHGEO_SECRET_KEY"])
        return settings["KHGEO_SECRET_KEY"]
    if settings.get("KHGEO_DATABASE_URL"):
        raise ConfigError("KHGEO_SECRET_KEY is required when KHGEO_DATABASE_URL is set")
    data_dir: Path = settings["KHGEO_DATA_DIR"]
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
