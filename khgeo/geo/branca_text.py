"""branca never reads the text it has already rendered as a template again.

branca (under folium) renders each map element with its Jinja template, then wraps the rendered text in a new
``Element(text)`` to place it in the page, and ``Element.__init__`` compiles any text it is given as a Jinja
template (``jinja2.Template(text)``) before rendering it a second time. Whatever a user typed and a map shows
(a zone's name in the data of the zones layer, a popup's text) was therefore evaluated as Jinja on the server:
a zone named ``{{ 7*7 }}`` showed "49", a name with ``{%`` made every map page an error, and Jinja's unsandboxed
expressions reach Python objects. It also cost ~15 ms a map page, lexing ~250 KB of JavaScript each time.

No branca setting turns this off (folium and branca are pinned in pyproject.toml for their internals), so this
module replaces the ``Template`` that ``branca.element`` looks up when an element is made from a string: the one
string branca itself gives ``Element`` as a template (``Div``'s list of children) is still compiled; any other
text is kept as it is, and renders to itself. Templates that branca and folium define on their classes are
compiled at import, before this runs, and are unchanged. ``install()`` runs when khgeo.geo.mapbuilder is
imported; tests/test_map_text.py checks that a map shows the braces users typed, and that this still applies to
the installed branca.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import branca.element
from jinja2 import Template

# Div.html's template (branca/element.py): the one template string branca hands to Element() itself
LIBRARY_TEMPLATES = frozenset(
    {"{% for name, element in this._children.items() %}{{element.render(**kwargs)}}{% endfor %}"}
)


class Text:
    """Stands in for a compiled template where branca wraps text that is already rendered."""

    def __init__(self, text: str):
        self.text = text
        self.module = SimpleNamespace()  # no macros: branca looks for header/html/script in module.__dict__

    def render(self, *_args: Any, **_kwargs: Any) -> str:
        return self.text


def template_or_text(source: str) -> Template | Text:
    return Template(source) if source in LIBRARY_TEMPLATES else Text(source)


def install() -> None:
    setattr(branca.element, "Template", template_or_text)  # noqa: B010 (mypy: a module's class, replaced)
