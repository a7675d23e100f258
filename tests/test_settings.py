"""Configuration: defaults, the environment, test overrides, and the table of docs/configuration.md kept in step."""

import re
from pathlib import Path

import pytest

from app import create_app
from gallery.settings import DEFAULTS, SETTINGS, SettingError, Settings

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
    monkeypatch.setenv("GALLERY_API_BACKOFF", "0.25")
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "from-the-environment")
    app = create_app()
    assert app.config["MAX_IDS"] == 7
    assert app.extensions["gallery"].tasks.client.backoff == 0.25  # the client waits what the setting says
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


def test_every_setting_but_the_token_is_a_typed_attribute():
    assert {field.upper() for field in Settings.__dataclass_fields__} == set(DEFAULTS)
    parsed = Settings.from_config(DEFAULTS)
    assert parsed.thumb_sizes == (384, 768) and parsed.image_hosts == () and parsed.rate_limit == 60
    assert parsed.allow_private_image_hosts is False and parsed.api_timeout == 10.0


@pytest.mark.parametrize(("name", "value", "message"), [
    ("GALLERY_PROXY_HOPS", "2", "PROXY_HOPS must be 0 or 1"),
    ("GALLERY_RATE_LIMIT", "sixty", "RATE_LIMIT must be a whole number"),
    ("GALLERY_MAX_IDS", "0", "MAX_IDS must be at least 1"),
    ("GALLERY_API_TIMEOUT", "-1", "API_TIMEOUT must be a number of at least 0"),
    ("GALLERY_POLL_SECONDS", "0", "POLL_SECONDS must be a number of at least 0.1"),  # 0 would never stop asking
    ("GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS", "maybe", "ALLOW_PRIVATE_IMAGE_HOSTS must be true or false"),
    ("GALLERY_EMULATOR", "sometimes", "EMULATOR must be auto or off"),
])
def test_a_bad_value_in_the_environment_stops_the_start_naming_the_setting(monkeypatch, tmp_path, name, value,
                                                                           message):
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "t")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=message):
        create_app()


def test_text_settings_from_the_environment_stay_as_written(monkeypatch, tmp_path, emulator):
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "t")
    monkeypatch.setenv("GALLERY_ACCESS_KEY", "1e3")  # JSON would read this as the number 1000.0
    monkeypatch.setenv("GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS", "yes")
    monkeypatch.setenv("GALLERY_IMAGE_HOSTS", "cdn.example.com, *.example.org")
    app = create_app()
    settings = app.extensions["gallery"].settings
    assert settings.access_key == "1e3" and app.config["ACCESS_KEY"] == "1e3"
    assert settings.allow_private_image_hosts is True
    assert settings.image_hosts == ("cdn.example.com", "*.example.org")
    client = app.test_client()
    assert client.post("/access", data={"key": "1e3", "next": "/"}).status_code == 303
