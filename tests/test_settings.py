"""Configuration: defaults, the environment, test overrides, and the table of docs/configuration.md kept in step."""

import re
from pathlib import Path

import pytest

from app import create_app
from gallery.settings import DEFAULTS, SETTINGS

CONFIGURATION = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def documented_settings() -> dict[str, str]:
    """The table under "## Settings" in docs/configuration.md as {environment name: default cell}."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    section = re.search(r"^## Settings\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, "docs/configuration.md has no \"## Settings\" section"
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.*?) \|", section[1], re.MULTILINE)
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), "a setting is listed twice in docs/configuration.md"
    return dict(rows)


def test_every_setting_is_documented_with_its_default():
    table = documented_settings()
    for setting in SETTINGS:
        assert setting.env in table, f"{setting.env} is missing from the table in docs/configuration.md"
        shown = table[setting.env].strip("`")
        expected = "(empty)" if setting.default == "" else str(setting.default)
        assert shown == expected, (f"docs/configuration.md shows {shown!r} as the default of {setting.env}, "
                                   f"the code has {expected!r}")


def test_the_documentation_lists_no_setting_the_code_lacks():
    assert set(documented_settings()) == {setting.env for setting in SETTINGS}


def test_environment_overrides_defaults(monkeypatch, tmp_path, emulator):
    monkeypatch.setenv("GALLERY_MAX_IDS", "7")
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "from-the-environment")
    app = create_app()
    assert app.config["MAX_IDS"] == 7
    assert app.config["ACEDATACLOUD_API_BASE_URL"] == emulator.url
    assert "from-the-environment" not in repr(dict(app.config))
    assert "emulator" not in app.extensions


def test_test_config_wins(app):
    assert app.config["API_DEADLINE"] == 5.0 and app.config["TESTING"]
    assert app.config["MAX_IDS"] == DEFAULTS["MAX_IDS"]


def test_no_token_starts_the_built_in_emulator(sample_app):
    assert sample_app.extensions["emulator"].url.startswith("http://127.0.0.1:")
    assert b"sample data" in sample_app.test_client().get("/").data


@pytest.mark.parametrize("sizes", ["0", "abc", "5000"])
def test_bad_thumbnail_sizes_fail_at_start(sizes, emulator, tmp_path):
    with pytest.raises(ValueError):
        create_app({"THUMB_SIZES": sizes, "ACEDATACLOUD_API_TOKEN": "t", "EMULATOR": "off",
                    "ACEDATACLOUD_API_BASE_URL": emulator.url, "CACHE_DIR": str(tmp_path)})
