"""Numbers typed by people or read from files: ONE bounded parser for forms, the API, imports and the seed.

Why bounded: ``Decimal("1e600000")`` is nine characters, and turning it into an int (or a string) makes Python
build a 600,000-digit integer while holding the GIL: ~10 s during which the worker answers nobody. So the text
is checked for length and exponent *before* any conversion, and every value is checked against its field's range
before it can reach a column (no int4 overflow ever reaches the database).

How numbers are read (issue 9): people write "1.234,5" (Vietnamese), "1,234.5" (English), "1234,5" or "1234.5".
- both "." and "," present: the last one is the decimal separator, the other groups thousands;
- one of them, repeated: it groups thousands ("1.234.567");
- one of them, once: a decimal separator, unless exactly three digits follow and the integer part could be
  a thousands group — then the reader's language decides: in Vietnamese "4.000" is four thousand and "4,000"
  is four; in English the other way round. Without a language (API strings, files, the seed) both are decimal
  separators, as programs write them.
Thousands groups must be well formed (1–3 digits, then groups of exactly three); anything else is refused with
a message saying how to write the number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_CHARS = 32  # more than any real figure needs ("100.000.000,25" is 14)
MAX_EXPONENT = 20  # "1e5" notation: refuse exponents beyond ±20 before building anything
MAX_DIGITS = 30  # digits of an int or Decimal given as such (JSON numbers, spreadsheet cells)

_NUMBER = re.compile(r"([+-]?)([0-9.,]+)(?:[eE]([+-]?[0-9]+))?")
_GROUPS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:,[0-9]{3})+")
_SPACES = "\u00a0\u202f\u2009"  # no-break and thin spaces some spreadsheets put around numbers


class NumberError(ValueError):
    """The text is not a number we accept; ``message`` is safe to show the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def parse_decimal(raw: Any, *, locale: str | None = None) -> Decimal:
    """A finite Decimal of bounded size from a str, int, float or Decimal; NumberError otherwise."""
    if isinstance(raw, bool):
        raise NumberError(_l("Enter a number."))
    if isinstance(raw, int):
        if raw and math.log10(abs(raw)) >= MAX_DIGITS:  # log10 of an int never builds a string
            raise NumberError(_l("This value is too large."))
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise NumberError(_l("Enter a number."))
        if abs(raw) >= 10.0**MAX_DIGITS:
            raise NumberError(_l("This value is too large."))
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise NumberError(_l("Enter a number."))
        if raw.adjusted() >= MAX_DIGITS:
            raise NumberError(_l("This value is too large."))
        return raw
    if not isinstance(raw, str):
        raise NumberError(_l("Enter a number."))
    return _parse_text(raw, locale)


def _parse_text(raw: str, locale: str | None) -> Decimal:
    text = raw.strip(" \t" + _SPACES)
    if len(text) > MAX_CHARS:
        raise NumberError(_l("Too many characters for a number (%(n)d at most).", n=MAX_CHARS))
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise NumberError(_l("Enter a number."))
    sign, body, exponent = match.groups()
    if exponent is not None and abs(int(exponent)) > MAX_EXPONENT:
        raise NumberError(_l("This value is too large."))
    whole, fraction = _split(body, locale)
    try:
        digits = (whole or "0") + (f".{fraction}" if fraction else "")
        return Decimal(f"{sign}{digits}" + (f"e{exponent}" if exponent else ""))
    except InvalidOperation:  # pragma: no cover - the pattern lets only digits through
        raise NumberError(_l("Enter a number.")) from None


def _split(body: str, locale: str | None) -> tuple[str, str]:
    """(integer digits, fraction digits) of "1.234,5" and its kin; NumberError for ambiguous garbage."""
    unreadable = NumberError(_l("This number cannot be read: write it like 1234,5 or 1.234,5."))
    dots, commas = body.count("."), body.count(",")
    if not dots and not commas:
        return body, ""
    if dots and commas:
        decimal_mark = "." if body.rfind(".") > body.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        whole, _, fraction = body.rpartition(decimal_mark)
        if decimal_mark in whole or not fraction or not _GROUPS.fullmatch(whole):
            raise unreadable
        return whole.replace(group_mark, ""), fraction
    mark = "." if dots else ","
    if body.count(mark) > 1:  # only thousands repeat
        if not _GROUPS.fullmatch(body):
            raise unreadable
        return body.replace(mark, ""), ""
    whole, _, fraction = body.partition(mark)
    if not whole and not fraction:
        raise unreadable
    could_be_group = len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0")
    if could_be_group and (locale, mark) in (("vi", "."), ("en", ",")):
        return whole + fraction, ""
    return whole, fraction


@dataclass(frozen=True)
class Bounds:
    """The range a field accepts (inclusive), and whether it holds whole numbers."""

    maximum: Decimal
    minimum: Decimal = Decimal(0)
    integer: bool = False
    positive: bool = False  # strictly above the minimum
    out_of_range: Any = None  # the message for a value outside the range, when the default ones would not do


def parse_bounded(raw: Any, bounds: Bounds, *, locale: str | None = None) -> Decimal | int:
    """parse_decimal, then the field's range: an int for whole-number fields, else a Decimal."""
    number = parse_decimal(raw, locale=locale)
    outside = number > bounds.maximum or number < bounds.minimum
    if bounds.out_of_range is not None and (outside or bounds.positive and number == bounds.minimum):
        raise NumberError(bounds.out_of_range)
    if number < bounds.minimum or (bounds.positive and number == bounds.minimum):
        if bounds.minimum == 0:
            raise NumberError(_l("Must be above 0.") if bounds.positive else _l("Cannot be negative."))
        raise NumberError(_l("This value is too small."))
    if number > bounds.maximum:
        raise NumberError(_l("This value is too large."))
    if bounds.integer:
        if number != number.to_integral_value():
            raise NumberError(_l("Enter a whole number."))
        return int(number)  # bounded above: cheap
    return number


def parse_int(raw: Any, *, minimum: int = 0, maximum: int, locale: str | None = None) -> int:
    """A whole number in [minimum, maximum]; NumberError otherwise."""
    bounds = Bounds(maximum=Decimal(maximum), minimum=Decimal(minimum), integer=True)
    return int(parse_bounded(raw, bounds, locale=locale))
