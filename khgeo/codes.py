"""Every coded value khgeo stores, in one table: key, label, short label, colour, order.

A coded value (wastewater status, operating status, outline source, task status, recurrence, zone kind) is one
row here. The database constraints (``khgeo.models``), the map's indicators and legend, the Jinja filters, the
exports' label columns, the imports' resolver and the reports all read it, so a label is spelled once: an English
msgid in this file and its Vietnamese translation in the catalogue (khgeo/translations/vi/…/messages.po).

A row's order is its position in its list. Labels are lazy: in a request they follow the user's language;
documents and spreadsheets, which are written in Vietnamese whatever the reader's UI, use ``Label.vi``.

Colours: ordered classes use palettes whose classes differ in lightness (they stay apart in greyscale print and
for colour-blind readers: tests/test_codes.py checks both, with a deuteranopia simulation); "no figure yet" is
drawn hatched, never as a plain colour a figure could have.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask_babel import LazyString, gettext

from khgeo.text import fold

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOCUMENT_LANGUAGE = "vi"


@functools.cache
def catalogue(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` read without Flask (for files written outside a request)."""
    return Translations.load(str(TRANSLATIONS_DIR), [language])


class Label(LazyString):
    """A lazily translated label that remembers its msgid, so it can also be written in a fixed language."""

    def __init__(self, msgid: str):
        super().__init__(gettext, msgid)
        self.msgid = msgid

    def in_language(self, language: str) -> str:
        return catalogue(language).gettext(self.msgid)

    @property
    def vi(self) -> str:
        return self.in_language(DOCUMENT_LANGUAGE)


def _l(msgid: str) -> Label:  # named _l so that `pybabel extract -k _l` finds the msgids
    return Label(msgid)


# -- palettes -------------------------------------------------------------------------------------------------------
# Five ordered classes, light → dark (ColorBrewer YlGnBu, two middle steps nudged so that neighbours differ by
# ≥ 15 in CIE L*): more done is darker, whatever the hue a reader sees.
SEQUENTIAL_5 = ("#ffffcc", "#9fd9b4", "#3fb0c3", "#2277b4", "#253494")
# "No figure yet": hatched (see HATCH), light grey; a zone known to be unfinished but with no figure: hatched
# Okabe–Ito orange. Both differ from each other by lightness and from every figure by the hatching.
NO_FIGURE_COLOUR = "#d9d9d9"
NO_FIGURE_FLAGGED_COLOUR = "#e69f00"
HATCH = "hatch"
HATCH_INK = "#4d4d4d"


@dataclass(frozen=True)
class Code:
    key: str | None  # None: the value is not known (stored NULL)
    label: Label
    short: Label | None = None  # for table cells; the label when None
    colour: str | None = None
    pattern: str | None = None  # HATCH: a class without a figure
    computed: bool = False  # derived when read, never stored

    @property
    def short_label(self) -> Label:
        return self.short or self.label


class CodeList:
    """The rows of one coded value, in their order."""

    def __init__(self, name: str, *codes: Code):
        self.name = name
        self.codes = codes
        self._by_key = {code.key: code for code in codes}

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    @property
    def keys(self) -> tuple[str, ...]:
        """The values the database may store (NULL aside)."""
        return tuple(code.key for code in self.codes if code.key is not None and not code.computed)

    def get(self, key: str | None) -> Code | None:
        """The row of ``key``; an unknown key or NULL gives the "not known" row if the list has one."""
        return self._by_key.get(key) or self._by_key.get(None)

    def label(self, key: str | None, default: str = "—"):
        code = self.get(key)
        return code.label if code else (key or default)

    def short_label(self, key: str | None, default: str = "—"):
        code = self.get(key)
        return code.short_label if code else (key or default)

    def labels(self) -> dict:
        """key → lazy label (None → the "not known" label where there is one)."""
        return {code.key: code.label for code in self.codes}

    def labels_vi(self, short: bool = False) -> dict:
        """key → Vietnamese label, for files (written outside any request)."""
        return {code.key: (code.short_label if short else code.label).vi for code in self.codes}

    def lookup(self, text: object) -> tuple[bool, str | None]:
        """(understood, key) for a value typed as its key or any of its labels, in Vietnamese or English,
        ignoring case, diacritics and spacing (the Vietnamese label, "under construction", "UNDER_CONSTRUCTION")."""
        wanted = fold(str(text).replace("_", " "))
        for code in self.codes:
            names = {code.key or "unknown", *_spellings(code.label), *_spellings(code.short_label)}
            if wanted in {fold(name.replace("_", " ")) for name in names}:
                return True, code.key
        return False, None


def _spellings(label: Label) -> tuple[str, ...]:
    return (label.msgid, label.vi)


WWTP_STATUS = CodeList(
    "wwtp_status",
    Code("none", _l("No central plant"), _l("No plant yet"), "#b2182b"),
    Code("planned", _l("Planned"), None, "#fdb863"),
    Code("under_construction", _l("Under construction"), None, "#4393c3"),
    Code("operating", _l("Operating"), None, "#053061"),
    Code(None, _l("Unknown"), None, NO_FIGURE_COLOUR, HATCH),
)
OPERATING_STATUS = CodeList(
    "operating_status",
    Code("planned", _l("Planned")),
    Code("under_construction", _l("Under construction")),
    Code("operating", _l("Operating")),
    Code("suspended", _l("Suspended")),
)
GEOMETRY_SOURCE = CodeList(
    "geometry_source",
    Code("illustrative", _l("Illustrative outline (not surveyed)"), _l("Illustrative")),
    Code("surveyed", _l("Surveyed outline"), _l("Surveyed")),
    Code("imported", _l("Imported outline"), _l("Imported from a file")),
)
TASK_STATUS = CodeList(
    "task_status",
    Code("not_started", _l("Not started")),
    Code("in_progress", _l("In progress")),
    Code("done", _l("Done")),
    Code("overdue", _l("Overdue"), computed=True),  # from the deadline
)
RECURRENCE = CodeList(
    "recurrence",
    Code("monthly", _l("Monthly")),
    Code("quarterly", _l("Quarterly")),
    Code("yearly", _l("Yearly")),
    Code("ongoing", _l("Ongoing")),
)
ZONE_KIND = CodeList(
    "kind",
    Code("KCN", _l("industrial zone"), _l("KCN")),
    Code("CCN", _l("industrial cluster"), _l("CCN")),
)
# accounts' roles; the short label is what a reader who may not see names sees instead of one (a zone's history)
ROLE = CodeList(
    "role",
    Code("viewer", _l("Viewer (officials)"), _l("official")),
    Code("field", _l("Field staff"), _l("field officer")),
    Code("planner", _l("Planner"), _l("planning officer")),
    Code("admin", _l("Zone board (administrator)"), _l("zone board officer")),
)
# The stages of one parcel's recovery (Land Law 2024, Art. 85–87; see docs/parcels.md and the timers table), in
# the order they happen: a parcel only moves forward, except by an admin correction that says why. Darker = further.
PARCEL_STAGE = CodeList(
    "parcel_stage",
    Code("not_notified", _l("Not yet notified"), _l("Not notified"), "#ffffd9"),
    Code("notified", _l("Notified of recovery"), _l("Notified"), "#edf8b1"),
    Code("inventoried", _l("Inventoried"), None, "#c7e9b4"),
    Code("plan_posted", _l("Compensation plan posted"), _l("Plan posted"), "#7fcdbb"),
    Code("plan_approved", _l("Compensation plan approved"), _l("Plan approved"), "#41b6c4"),
    Code("paid", _l("Compensation paid"), _l("Paid"), "#1d91c0"),
    Code("recovery_decided", _l("Recovery decided"), _l("Decided"), "#225ea8"),
    Code("handed_over", _l("Handed over"), None, "#0c2c84"),
)
LAND_USER_KIND = CodeList(
    "land_user_kind",
    Code("household", _l("Household")),
    Code("individual", _l("Individual")),
    Code("organisation", _l("Organisation")),
)
# The legal timers of a stage (khgeo/services/parcels/timers.py): what kind, and to which parcels they apply.
TIMER_KIND = CodeList(
    "timer_kind",
    Code("deadline", _l("Deadline (overdue after it)")),
    Code("earliest", _l("Not before (never overdue)")),
)
TIMER_CONDITION = CodeList(
    "timer_condition",
    Code("no_resettlement", _l("No resettlement needed")),
    Code("resettlement", _l("Resettlement needed")),
    Code("compulsory_inventory", _l("Compulsory inventory")),
    Code("agricultural", _l("Agricultural land")),
    Code("non_agricultural", _l("Non-agricultural land")),
)
# One agency succeeding another (khgeo/services/units/succession.py).
SUCCESSION_KIND = CodeList(
    "succession_kind",
    Code("merged", _l("Merged")),
    Code("renamed", _l("Renamed")),
    Code("split", _l("Split")),
)
# What a user may be reminded of (khgeo/services/followup): the label is the choice on the settings page.
NOTIFICATION_KIND = CodeList(
    "notification_kind",
    Code("task_due", _l("A task of my agency is due in 30, 7 or 1 days")),
    Code("task_overdue", _l("A task of my agency is overdue")),
    Code("report_due", _l("The yearly report to the board is due in 30, 14, 7 or 1 days")),
    Code("report_late", _l("My agency's yearly report is late")),
    Code("board_due", _l("The board's consolidated report is due (31/12)")),
    Code("zone_stale", _l("A zone of my area has had no update for some days")),
    Code("digest", _l("Weekly digest of my agency's overdue items")),
)
ALL: tuple[CodeList, ...] = (
    WWTP_STATUS,
    OPERATING_STATUS,
    GEOMETRY_SOURCE,
    TASK_STATUS,
    RECURRENCE,
    ZONE_KIND,
    ROLE,
    PARCEL_STAGE,
    LAND_USER_KIND,
    TIMER_KIND,
    TIMER_CONDITION,
    SUCCESSION_KIND,
    NOTIFICATION_KIND,
)
