"""Settings: validated at startup, documented, and never an insecure default."""

from __future__ import annotations

from pathlib import Path

import pytest

from khgeo.config import PROJECT_ROOT, SETTINGS, load_settings, resolve_secret_key
from khgeo.errors import ConfigError


def test_every_setting_is_documented_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [setting.name for setting in SETTINGS if setting.name not in readme]
    assert missing == []


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
