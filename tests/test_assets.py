"""Front-end assets: every vendored file exists, and no folium asset can fall back to a CDN."""

from __future__ import annotations

import folium
import pytest
from folium import plugins

from khgeo.config import PROJECT_ROOT
from khgeo.geo.assets import UnvendoredAsset, localize, manifest


def test_every_manifest_entry_is_a_vendored_file():
    for name, path in manifest().items():
        assert (PROJECT_ROOT / "static" / path).is_file(), name


def test_an_unvendored_plugin_is_an_error_not_a_silent_cdn():
    fmap = folium.Map()
    plugins.MarkerCluster().add_to(fmap)
    with pytest.raises(UnvendoredAsset, match="markercluster"):
        localize(fmap, lambda path: "/static/" + path)


def test_localize_changes_instances_not_folium_classes():
    before = list(folium.Map.default_js)
    localize(folium.Map(), lambda path: "/static/" + path)
    assert folium.Map.default_js == before
