"""The cited sources behind zone facts (data/sources.toml): key → title, publisher, date, URL, as a reader cites
them. The catalogue also holds compilers' notes (how a page was read, commit ids, file paths); those never reach a
page: a source shows its title, its publisher (stated, or the web site's name), its date (dd/mm/yyyy, mm/yyyy or
the year; "c. 2022" when the page is undated and the year is inferred) and its URL."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from urllib.parse import urlsplit

from khgeo.services.seed import DATA_DIR

_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_COMMIT_ID = re.compile(r"\b[0-9a-f]{20,}\b")


@cache
def catalogue() -> dict[str, dict]:
    return tomllib.loads((DATA_DIR / "sources.toml").read_text(encoding="utf-8"))


def publisher(entry: dict) -> str:
    """The stated publisher, else the web site's host name (``baobacgiang.vn``); "" when neither is known."""
    if entry.get("publisher"):
        return entry["publisher"]
    host = urlsplit(entry.get("url", "")).hostname or ""
    return host.removeprefix("www.")


def reader_date(raw: str) -> tuple[str, bool]:
    """(date as Vietnamese readers write it, approximate?): "2022-11-08" → ("08/11/2022", False), "2022-10" →
    ("10/2022", False), "c. late 2022–2023 (undated)" → ("2022–2023", True), "undated" → ("", False)."""
    raw = (raw or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        year, month, day = raw.split("-")
        return f"{day}/{month}/{year}", False
    if re.fullmatch(r"\d{4}-\d{2}", raw):
        year, month = raw.split("-")
        return f"{month}/{year}", False
    if re.fullmatch(r"\d{4}", raw):
        return raw, False
    years = sorted(set(_YEAR.findall(raw)))
    if not years:
        return "", False
    return (years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"), True


def describe(field_sources: dict[str, list[str]]) -> list[dict]:
    """One row per cited source with the fields it supports, in first-cited order. A key not in the catalogue is
    a citation an admin typed: its text is the title, and a web address is also its link."""
    rows: dict[str, dict] = {}
    for field, keys in (field_sources or {}).items():
        for key in keys:
            entry = catalogue().get(key, {})
            date, approximate = reader_date(entry.get("cite_date", entry.get("date", "")))
            row = rows.setdefault(
                key,
                {
                    "key": key,
                    "title": entry.get("cite_title") or entry.get("title", key),
                    "publisher": publisher(entry),
                    "url": entry.get(
                        "url", key if not entry and key.startswith(("https://", "http://")) else ""
                    ),
                    # the address as text, without the commit ids some code-hosting addresses carry
                    "url_text": _COMMIT_ID.sub(
                        "…",
                        entry.get(
                            "url", key if not entry and key.startswith(("https://", "http://")) else ""
                        ),
                    ),
                    "date": date,
                    "date_approximate": approximate,
                    "fields": [],
                },
            )
            row["fields"].append(field)
    return list(rows.values())
