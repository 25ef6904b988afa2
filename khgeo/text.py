"""Vietnamese text helpers shared by search, matching and slugs."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask_babel import lazy_gettext as _l

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_FILENAME = re.compile(r"[^A-Za-z0-9._]+")


def fold(text: str) -> str:
    """Lower-case and strip diacritics; đ/Đ become d (Unicode decomposition alone leaves them alone).

    ``fold("Đồng Đình") == fold("DONG DINH") == "dong dinh"``; ``fold("Đoàn Bái") == fold("Đoan Bái")``.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def slugify(text: str) -> str:
    return _NON_ALNUM.sub("-", fold(text)).strip("-")


def file_name(words: str) -> str:
    """A download's name from words, Vietnamese kept: spaces and separators become single dashes.

    ``file_name("khu cụm CCN chưa có XLNT.xlsx") == "khu-cụm-CCN-chưa-có-XLNT.xlsx"``.
    """
    return re.sub(r"[\s/\\\"';,]+", "-", words.strip()).strip("-")


def ascii_file_name(name: str) -> str:
    """The ASCII fallback of a file name (case kept, diacritics and đ folded): "khu-cum-CCN-chua-co-XLNT.xlsx"."""
    text = name.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return re.sub(r"-{2,}", "-", _NOT_FILENAME.sub("-", stripped)).strip("-") or "download"


def parse_date(text: str) -> dt.date:
    """dd/mm/yyyy as people write it; ISO yyyy-mm-dd as programs and <input type=date> send it.

    Raises ValueError for anything else.
    """
    text = text.strip()
    if "/" in text:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    return dt.date.fromisoformat(text)


def reported_date_problem(day: dt.date, today: dt.date, earliest: dt.date):
    """Why a date a report is "as of" cannot be accepted, or None: not after today (the province's date), not
    before ``earliest``. Zone updates and task progress notes share this rule and its messages."""
    if day > today:
        return _l("The date cannot be in the future.")
    if day < earliest:
        return _l("The date cannot be before %(date)s.", date=earliest.strftime("%d/%m/%Y"))
    return None
