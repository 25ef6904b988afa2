"""The folders show the architecture: every package is in README's "Layout", and no module grows past 500 lines
without saying why at its top."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KHGEO = ROOT / "khgeo"
MAX_LINES = 500


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_every_package_is_in_the_readme_layout():
    layout = _layout_block()
    packages = sorted(
        path.parent.relative_to(KHGEO).as_posix()
        for path in KHGEO.rglob("__init__.py")
        if "migrations" not in path.parts
    )
    missing = [name for name in packages if name != "." and f"{name.split('/')[-1]}/" not in layout]
    assert not missing, f"packages missing from README's Layout: {missing}"


def test_no_module_over_500_lines_without_a_reason_at_its_top():
    too_long = []
    for path in KHGEO.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        if source.count("\n") <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if not re.search(r"Why one module", docstring):
            too_long.append(f"{path.relative_to(ROOT)} ({source.count(chr(10))} lines)")
    assert not too_long, f"split these or say at their top why they stay one module: {too_long}"
