"""Serve folium's JS/CSS from static/vendor instead of CDNs (the app runs on an offline intranet).

folium declares its assets per class (``default_js``/``default_css``: name → CDN URL). We replace them on each
element *instance* (never the class lists, which every later map would share) using static/vendor/manifest.json.
Assets we do not use are dropped; an asset we have not vendored is an error, so a new plugin cannot silently
bring a CDN back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from branca.element import Element

from khgeo.config import PROJECT_ROOT

MANIFEST_PATH = PROJECT_ROOT / "static" / "vendor" / "manifest.json"
# Declared by folium.Map but not needed by our pages (no Bootstrap chrome, no awesome-markers icons).
UNUSED = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


class UnvendoredAsset(RuntimeError):
    pass


@cache
def manifest() -> dict[str, str]:
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _local(assets: list[tuple[str, str]], static_url: Callable[[str], str]) -> list[tuple[str, str]]:
    local = []
    for name, url in assets:
        if name in UNUSED:
            continue
        if name not in manifest():
            raise UnvendoredAsset(
                f"folium asset {name!r} ({url}) is not vendored in static/vendor/manifest.json"
            )
        local.append((name, static_url(manifest()[name])))
    return local


def localize(root: Element, static_url: Callable[[str], str]) -> None:
    """Point every element under ``root`` at the vendored copies of its assets."""
    for element in _walk(root):
        if "default_js" in dir(element):  # JSCSSMixin and the odd plugin (Timeline) that declares its own
            owner: Any = element
            owner.default_js = _local(owner.default_js, static_url)
            owner.default_css = _local(owner.default_css, static_url)
