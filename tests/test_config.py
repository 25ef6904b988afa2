"""Settings: validated at startup, documented, and never an insecure default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from khgeo.config import PROJECT_ROOT, SETTINGS, load_settings, resolve_secret_key
from khgeo.errors import ConfigError


def _readme_settings_table() -> list[str]:
    """The setting names in the first column of the table under the README's "## Settings" heading."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(KHGEO_[A-Z0-9_]+)` \|", section, flags=re.M)


def test_every_setting_is_a_row_of_the_readme_settings_table_and_every_row_a_setting():
    documented = _readme_settings_table()
    declared = [setting.name for setting in SETTINGS]
    assert [name for name in declared if name not in documented] == [], "declared but not in the table"
    assert [name for name in documented if name not in declared] == [], "in the table but not declared"
    assert len(documented) == len(set(documented)), "one row per setting"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KHGEO_DATABASE_URL", "mysql://nope"),
        ("KHGEO_EMBED_MAX_FEATURES", "0"),
        ("KHGEO_EMBED_MAX_FEATURES", "many"),
        ("KHGEO_DEFAULT_LOCALE", "fr"),
    ],
)
def test_bad_values_fail_fast_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={name: value})


def test_plain_postgresql_urls_use_psycopg3():
    settings = load_settings(environ={"KHGEO_DATABASE_URL": "postgresql://u:p@db/khgeo"})
    assert settings["KHGEO_DATABASE_URL"] == "postgresql+psycopg://u:p@db/khgeo"


def test_secret_key_is_required_with_an_external_database():
    settings = load_settings(environ={"KHGEO_DATABASE_URL": "postgresql://u@db/khgeo"})
    with pytest.raises(ConfigError, match="KHGEO_SECRET_KEY"):
        resolve_secret_key(settings)


def test_embedded_setup_generates_one_private_secret_and_keeps_it(tmp_path: Path):
    settings = load_settings(environ={"KHGEO_DATA_DIR": str(tmp_path)})
    first = resolve_secret_key(settings)
    assert len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert resolve_secret_key(settings) == first
