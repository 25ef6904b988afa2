"""The cited sources behind zone facts (data/sources.toml): key → title, URL, date."""

from __future__ import annotations

import tomllib
from functools import cache

from khgeo.services.seed import DATA_DIR


@cache
def catalogue() -> dict[str, dict]:
    return tomllib.loads((DATA_DIR / "sources.toml").read_text(encoding="utf-8"))


def describe(field_sources: dict[str, list[str]]) -> list[dict]:
    """One row per cited source with the fields it supports, in first-cited order. A key not in the catalogue is
    a citation an admin typed: its text is the title, and a web address is also its link."""
    rows: dict[str, dict] = {}
    for field, keys in (field_sources or {}).items():
        for key in keys:
            entry = catalogue().get(key, {})
            row = rows.setdefault(
                key,
                {
                    "key": key,
                    "title": entry.get("title", key),
                    "url": entry.get(
                        "url", key if not entry and key.startswith(("https://", "http://")) else ""
                    ),
                    "date": entry.get("date", ""),
                    "fields": [],
                },
            )
            row["fields"].append(field)
    return list(rows.values())
