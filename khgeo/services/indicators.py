"""What the map can colour zones by, as data: each indicator is an ordered list of classes.

The same spec is sent to the browser (static/js/khgeo-map.js applies it to every feature) and drawn as the
legend, so the colours on the map, in the legend and in the side list can never disagree.
A class matches when its test holds; the first match wins; the last class is the "no data" catch-all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from khgeo.errors import BadRequest

NO_DATA_COLOUR = "#9e9e9e"
# ColorBrewer RdYlGn (colour-blind safer end points), red = worst
RED, ORANGE, YELLOW, LIGHT_GREEN, GREEN = "#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"


@dataclass(frozen=True)
class IndicatorClass:
    label: Any  # lazy string
    colour: str
    # test: {"min": a, "max": b} (a ≤ v < b; no "max": v ≥ a), {"equals": v}, {"flag": prop} (v unknown and
    # the property prop true), {} (catch-all)
    test: dict = field(default_factory=dict)


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

    @property
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
    return (
        IndicatorClass("< 25 %", RED, {"min": 0, "max": 25}),
        IndicatorClass("25–50 %", ORANGE, {"min": 25, "max": 50}),
        IndicatorClass("50–75 %", YELLOW, {"min": 50, "max": 75}),
        IndicatorClass("75–< 100 %", LIGHT_GREEN, {"min": 75, "max": 100}),
        IndicatorClass("100 %", GREEN, {"min": 100}),
        *extra,
        IndicatorClass(_l("No data"), NO_DATA_COLOUR),
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
                    _l("Not finished, no figure (plan)"), "#f46d43", {"flag": "clearance_incomplete"}
                ),
            )
        ),
    ),
    "wwtp": Indicator(
        "wwtp",
        _l("Wastewater treatment"),
        "wwtp_status",
        "",
        (
            IndicatorClass(_l("No central plant"), RED, {"equals": "none"}),
            IndicatorClass(_l("Planned"), ORANGE, {"equals": "planned"}),
            IndicatorClass(_l("Under construction"), YELLOW, {"equals": "under_construction"}),
            IndicatorClass(_l("Operating"), GREEN, {"equals": "operating"}),
            IndicatorClass(_l("Unknown"), NO_DATA_COLOUR),
        ),
    ),
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


WWTP_LABELS = {cls.test.get("equals"): cls.label for cls in INDICATORS["wwtp"].classes}
