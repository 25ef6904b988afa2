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


# fold()'s twin in the database, and what a zone's search text is made of: zones.search_text is a column generated
# from these (migration 0017), so no write, raw SQL included, can leave it stale. The same steps as fold(): đ/Đ to
# d/D, canonical decomposition, combining marks dropped (the blocks Latin script uses), lower case, whitespace
# runs to one space. Not unaccent(): it also rewrites punctuation ("–" → "-", a seeded name has one) and
# ligatures, so it would disagree with fold(), which `q` is folded with; and it is only STABLE, which a generated
# column refuses. Everything is schema-qualified: a restore's script empties the search_path.
# tests/test_data_access.py checks that khgeo_fold and fold() agree on every seeded name and alias.
FOLD_FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION public.khgeo_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower(pg_catalog.regexp_replace(
    pg_catalog.normalize(pg_catalog.replace(pg_catalog.replace($1, 'đ', 'd'), 'Đ', 'D'), 'NFD'),
    '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g')),
    '[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', ' ', 'g'))
$fn$;
CREATE OR REPLACE FUNCTION public.khgeo_zone_search_text(text, text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT pg_catalog.array_to_string(ARRAY(
    SELECT public.khgeo_fold(names.name)
    FROM unnest(pg_catalog.array_prepend($1, coalesce($2, '{}'::text[]))) WITH ORDINALITY AS names(name, position)
    ORDER BY names.position), ' | ')
$fn$;
"""


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
