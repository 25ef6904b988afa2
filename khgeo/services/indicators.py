"""What the map can colour zones by, as data: each indicator is an ordered list of classes.

The same spec is sent to the browser (static/js/khgeo-map.js applies it to every feature) and drawn as the
legend, so the colours on the map, in the legend and in the side list can never disagree.
A class matches when its test holds; the first match wins; the last class is the "no data" catch-all.
"""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from khgeo.codes import HATCH, NO_FIGURE_COLOUR, NO_FIGURE_FLAGGED_COLOUR, SEQUENTIAL_5, WWTP_STATUS
from khgeo.errors import BadRequest

NO_DATA_COLOUR = NO_FIGURE_COLOUR


@dataclass(frozen=True)
class IndicatorClass:
    label: Any  # lazy string
    colour: str
    # test: {"min": a, "max": b} (a ≤ v < b; no "max": v ≥ a), {"equals": v}, {"flag": prop} (v unknown and
    # the property prop true), {} (catch-all)
    test: dict = field(default_factory=dict)
    pattern: str | None = (
        None  # "hatch": the class of zones without a figure (drawn hatched, never a plain fill)
    )

    @property
    def no_figure(self) -> bool:
        return self.pattern == HATCH


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Any
    property: str  # the GeoJSON property it reads
    unit: str
    classes: tuple[IndicatorClass, ...]

    def classify(self, properties: dict) -> IndicatorClass:
        value = properties.get(self.property)
        for cls in self.classes:
            if _matches(cls.test, value, properties):
                return cls
        return self.classes[-1]

    @builtins.property  # the field above named "property" hides the builtin in this class's body
    def reads(self) -> tuple[str, ...]:
        """The properties a classification looks at."""
        flags = tuple(cls.test["flag"] for cls in self.classes if "flag" in cls.test)
        return (self.property, *flags)

    def classify_object(self, obj: object) -> IndicatorClass:
        return self.classify({name: getattr(obj, name) for name in self.reads})

    def to_json(self) -> dict:
        data = asdict(self)
        data["label"] = str(self.label)
        data["classes"] = [{**asdict(c), "label": str(c.label)} for c in self.classes]
        return data


def _matches(test: dict, value: Any, properties: dict) -> bool:
    if "flag" in test:
        return value is None and bool(properties.get(test["flag"]))
    if "equals" in test:
        return value == test["equals"]
    if "min" in test:
        if value is None:
            return False
        number = float(value)
        return test["min"] <= number and ("max" not in test or number < test["max"])
    return True  # the catch-all


def _pct_classes(extra: tuple[IndicatorClass, ...] = ()) -> tuple[IndicatorClass, ...]:
    lowest, low, middle, high, done = SEQUENTIAL_5
    return (
        IndicatorClass("< 25 %", lowest, {"min": 0, "max": 25}),
        IndicatorClass("25–50 %", low, {"min": 25, "max": 50}),
        IndicatorClass("50–75 %", middle, {"min": 50, "max": 75}),
        IndicatorClass("75–< 100 %", high, {"min": 75, "max": 100}),
        IndicatorClass("100 %", done, {"min": 100}),
        *extra,
        IndicatorClass(_l("No data"), NO_DATA_COLOUR, pattern=HATCH),
    )


def _wwtp_classes() -> tuple[IndicatorClass, ...]:
    """One class per wastewater status, from the codes table (the last, NULL, is the catch-all)."""
    return tuple(
        IndicatorClass(
            code.label, code.colour or NO_DATA_COLOUR, {"equals": code.key} if code.key else {}, code.pattern
        )
        for code in WWTP_STATUS
    )


INDICATORS: dict[str, Indicator] = {
    "clearance": Indicator(
        "clearance",
        _l("Site clearance"),
        "clearance_pct",
        "%",
        _pct_classes(
            (
                IndicatorClass(
                    _l("Not finished, no figure (plan)"),
                    NO_FIGURE_FLAGGED_COLOUR,
                    {"flag": "clearance_incomplete"},
                    HATCH,
                ),
            )
        ),
    ),
    "wwtp": Indicator("wwtp", _l("Wastewater treatment"), "wwtp_status", "", _wwtp_classes()),
    "infrastructure": Indicator(
        "infrastructure", _l("Infrastructure completion"), "infrastructure_pct", "%", _pct_classes()
    ),
}
DEFAULT_INDICATOR = "wwtp"


def get_indicator(key: str | None) -> Indicator:
    if not key:
        return INDICATORS[DEFAULT_INDICATOR]
    try:
        return INDICATORS[key]
    except KeyError:
        raise BadRequest(
            _l(
                "Unknown colour indicator %(value)s: use one of %(allowed)s",
                value=key,
                allowed=", ".join(INDICATORS),
            ),
            field="color",
        ) from None


WWTP_LABELS = WWTP_STATUS.labels()  # kept for callers; the labels live in khgeo/codes.py
