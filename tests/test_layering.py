"""The code's layering, read from the source with ast (no app, no database): what imports what, and where the
queries are.

Dependencies point one way (web/api → services → models/db): the request's session lives with the database
(khgeo.db), so nothing but the ``khgeo`` command imports the application factory back, and the HTML and JSON
adapters run no query of their own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "khgeo"
# the command line creates the app; everything else reaches the database through khgeo.db
MAY_IMPORT_APP = {"cli/__init__.py", "cli/transfer.py", "app.py"}


def _modules(folder: Path = PACKAGE):
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports_app(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module == "khgeo.app" or (
                node.module == "khgeo" and any(alias.name == "app" for alias in node.names)
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(alias.name == "khgeo.app" for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_only_the_command_line_imports_the_application_factory():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path, tree in _modules()
        if path.relative_to(PACKAGE).as_posix() not in MAY_IMPORT_APP
        for line in _imports_app(tree)
    ]
    assert offenders == [], "import get_db/get_session from khgeo.db, today from khgeo.clock"


def test_the_probe_sees_an_import_of_the_app():
    assert _imports_app(ast.parse("from khgeo.app import get_session"))
    assert _imports_app(ast.parse("def f():\n    from khgeo import app"))
    assert _imports_app(ast.parse("import khgeo.app"))
    assert not _imports_app(ast.parse("from khgeo.db import get_session"))


def test_the_request_session_is_the_databases():
    from khgeo import db

    assert callable(db.init_app) and callable(db.get_db) and callable(db.get_session)


# --- the HTML and JSON adapters run no query of their own ------------------------------------------------------

QUERY_METHODS = {"execute", "scalars", "scalar", "scalar_one", "query", "add", "add_all", "merge"}
ALLOWED_SQLALCHEMY = {"sqlalchemy.exc", "sqlalchemy.orm"}  # errors to catch; Session for type hints


def _queries(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if node.module not in ALLOWED_SQLALCHEMY or (
                node.module == "sqlalchemy.orm" and any(alias.name != "Session" for alias in node.names)
            ):
                found.append(f"{node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Import) and any(
            alias.name.startswith("sqlalchemy") for alias in node.names
        ):
            found.append(f"{node.lineno}: import sqlalchemy")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in QUERY_METHODS:
                found.append(f"{node.lineno}: .{method}(…)")
            # session.get(Model, key): a model is a CamelCase class; cookie_session.get(SESSION_KEY) is not
            elif (
                method == "get"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id[0].isupper()
                and not node.args[0].id.isupper()
            ):
                found.append(f"{node.lineno}: .get({node.args[0].id}, …)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in {"select", "delete", "insert", "update", "text"}:
                found.append(f"{node.lineno}: {node.func.id}(…)")
    return found


@pytest.mark.parametrize("folder", ["web", "api"])
def test_adapters_run_no_query_of_their_own(folder):
    offenders = {
        str(path.relative_to(PACKAGE.parent)): found
        for path, tree in _modules(PACKAGE / folder)
        if (found := _queries(tree))
    }
    assert offenders == {}, "move the query into a function of khgeo/services/ and call it"


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "rows = session.scalars(q)",
        "session.execute(delete(ImportUpload))",
        "row = get_session().get(Photo, 3)",
        "agencies = select(Agency)",
    ],
)
def test_the_probe_sees_a_query(source):
    assert _queries(ast.parse(source))


def test_the_probe_leaves_cookies_and_type_hints_alone():
    source = "from sqlalchemy.orm import Session\nfrom sqlalchemy.exc import SQLAlchemyError\nx = session.get('lang') or session.get(SESSION_KEY)"
    assert _queries(ast.parse(source)) == []
