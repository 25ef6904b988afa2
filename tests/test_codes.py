"""The coded values table (khgeo/codes.py) and the map's palettes: one spelling per label, colours anyone can tell
apart in greyscale print and with deuteranopia."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from khgeo import codes
from khgeo.services.indicators import INDICATORS

ROOT = Path(__file__).resolve().parents[1]
# Thresholds in CIE L*a*b* (ΔL* of 15 is a clearly different grey on paper; ΔE 20 is far beyond "just noticeable")
MIN_GREY_DELTA_L = 15.0
MIN_DEUTAN_DELTA_E = 20.0

# Machado, Oliveira & Fernandes (2009), deuteranopia at severity 1.0, applied to linear RGB
MACHADO_DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
D65 = np.array([0.95047, 1.0, 1.08883])


def linear_rgb(hex_colour: str) -> np.ndarray:
    channels = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)


def lab(linear: np.ndarray) -> np.ndarray:
    ratio = SRGB_TO_XYZ @ np.clip(linear, 0, 1) / D65
    f = np.where(ratio > 0.008856, np.cbrt(ratio), 7.787 * ratio + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def grey_lightness(hex_colour: str) -> float:
    """L* of the colour printed in greyscale (relative luminance)."""
    return float(lab(linear_rgb(hex_colour))[0])


def deutan_lab(hex_colour: str) -> np.ndarray:
    return lab(MACHADO_DEUTERANOPIA @ linear_rgb(hex_colour))


def test_the_simulation_and_thresholds_catch_the_old_palette():
    """Guard for the test itself: the previous wastewater palette had two oranges a deutan reader could not
    separate from the greens, so these measures must reject it."""
    old = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]
    pairs = list(itertools.combinations(old, 2))
    assert any(abs(grey_lightness(a) - grey_lightness(b)) < MIN_GREY_DELTA_L for a, b in pairs)
    assert any(np.linalg.norm(deutan_lab(a) - deutan_lab(b)) < MIN_DEUTAN_DELTA_E for a, b in pairs)


def _figure_and_no_figure(indicator):
    figures = [cls for cls in indicator.classes if not cls.no_figure]
    no_figure = [cls for cls in indicator.classes if cls.no_figure]
    return figures, no_figure


@pytest.mark.parametrize("key", sorted(INDICATORS))
def test_every_class_of_a_palette_differs_in_greyscale_and_for_deuteranopia(key):
    figures, no_figure = _figure_and_no_figure(INDICATORS[key])
    for group in (figures, no_figure):
        for first, second in itertools.combinations(group, 2):
            grey = abs(grey_lightness(first.colour) - grey_lightness(second.colour))
            assert grey >= MIN_GREY_DELTA_L, (
                f"{key}: {first.colour} vs {second.colour} in greyscale: ΔL {grey:.1f}"
            )
            deutan = float(np.linalg.norm(deutan_lab(first.colour) - deutan_lab(second.colour)))
            assert deutan >= MIN_DEUTAN_DELTA_E, (
                f"{key}: {first.colour} vs {second.colour} for deuteranopia: ΔE {deutan:.1f}"
            )


@pytest.mark.parametrize("key", sorted(INDICATORS))
def test_no_figure_is_hatched_and_no_figure_class_is_hatched(key):
    """A zone without a figure never looks like a zone with one: only the no-figure classes are hatched."""
    indicator = INDICATORS[key]
    figures, no_figure = _figure_and_no_figure(indicator)
    assert no_figure and indicator.classes[-1].no_figure  # the catch-all is "no figure"
    assert all(cls.pattern == codes.HATCH for cls in no_figure)
    assert all(cls.pattern is None for cls in figures)
    assert all(cls.colour not in {c.colour for c in no_figure} for cls in figures)
    assert indicator.to_json()["classes"][-1]["pattern"] == codes.HATCH


def test_ordered_percentage_classes_get_darker():
    figures, _ = _figure_and_no_figure(INDICATORS["infrastructure"])
    lightness = [grey_lightness(cls.colour) for cls in figures]
    assert lightness == sorted(lightness, reverse=True)


def test_the_database_values_come_from_the_table():
    from khgeo import models

    assert models.WWTP_STATUSES == ("none", "planned", "under_construction", "operating")
    assert models.TASK_STATUSES == ("not_started", "in_progress", "done")  # "overdue" is computed
    assert models.GEOMETRY_SOURCES == ("illustrative", "surveyed", "imported")
    assert models.ZONE_KINDS == ("KCN", "CCN")


def test_labels_in_vietnamese_outside_a_request_match_the_ui_catalogue(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("vi"):
        for code_list in codes.ALL:
            for code in code_list:
                assert str(code.label) == code.label.vi, (code_list.name, code.key)
    assert codes.WWTP_STATUS.labels_vi()["none"] == "Chưa có hệ thống XLNT tập trung"
    assert codes.WWTP_STATUS.labels_vi(short=True)["none"] == "Chưa có"
    assert codes.GEOMETRY_SOURCE.labels_vi(short=True)["illustrative"] == "Minh họa"


def test_a_typed_label_resolves_to_its_code_in_either_language():
    assert codes.WWTP_STATUS.lookup("Đang xây dựng") == (True, "under_construction")
    assert codes.WWTP_STATUS.lookup("UNDER CONSTRUCTION") == (True, "under_construction")
    assert codes.WWTP_STATUS.lookup("chưa có") == (True, "none")
    assert codes.WWTP_STATUS.lookup("chua ro") == (True, None)
    assert codes.WWTP_STATUS.lookup("tốt") == (False, None)


def test_illustrative_is_spelled_minh_hoa_everywhere():
    """ "Minh hoạ" and "Minh họa" were both in use: only the modern spelling "minh họa" is left."""
    old_spelling = re.compile("minh hoạ", re.IGNORECASE)
    places = [ROOT / "khgeo", ROOT / "templates", ROOT / "static" / "js", ROOT / "README.md"]
    offenders = []
    for place in places:
        files = (
            [place]
            if place.is_file()
            else [p for p in place.rglob("*") if p.suffix in {".py", ".po", ".html", ".js", ".md"}]
        )
        offenders += [str(p) for p in files if old_spelling.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_each_status_label_is_written_once_in_code():
    """The Vietnamese label of a status is in the catalogue only, not repeated in Python modules."""
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "khgeo").rglob("*.py")}
    for text in (
        "Đang xây dựng",
        "Chưa có hệ thống XLNT tập trung",
        "Tạm dừng hoạt động",
        "Hàng quý",
        "Chưa thực hiện",
    ):
        assert [str(p) for p, source in sources.items() if text in source] == [], text
