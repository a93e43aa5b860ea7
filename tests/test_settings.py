"""Settings fail fast with one line naming the variable; defaults are the embedded mode."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from service.settings import Settings, SettingsError


def test_nothing_set_gives_embedded_default_under_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.mode == "development"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/data/letterbox.db"
    assert settings.s3 is None
    assert settings.smtp is None
    assert settings.ice_servers == ()  # never a third-party STUN server by default
    assert settings.data_dir == tmp_path / "data"
    assert "DEVELOPMENT MODE" in settings.banner()
    assert settings.session_cookie_name == "letterbox-dev"


PRODUCTION_BASE = {
    "LETTERBOX_ENV": "production",
    "LETTERBOX_DATABASE_URL": "postgresql+asyncpg://app@db/letterbox",
    "LETTERBOX_S3_URL": "https://minio:9000/letterbox",
    "LETTERBOX_S3_ACCESS_KEY": "access",
    "LETTERBOX_S3_SECRET_KEY": "secret",
    "LETTERBOX_MASTER_KEY": base64.b64encode(b"k" * 32).decode(),
    "LETTERBOX_PUBLIC_URL": "https://letterbox.example.org",
    "LETTERBOX_SMTP_URL": "smtp+starttls://u:p@mail.example.org:587",
    "LETTERBOX_ICE_HOST_ADDRESS": "203.0.113.10",
    "LETTERBOX_TRUSTED_PROXIES": "1",
}


def test_complete_production_settings_are_accepted() -> None:
    settings = Settings.from_env(PRODUCTION_BASE)
    assert settings.production
    assert settings.session_cookie_name == "__Host-letterbox"
    assert settings.s3 is not None and settings.s3.bucket == "letterbox"
    assert settings.smtp is not None and settings.smtp.starttls


@pytest.mark.parametrize(
    "missing",
    [
        "LETTERBOX_DATABASE_URL",
        "LETTERBOX_S3_URL",
        "LETTERBOX_MASTER_KEY",
        "LETTERBOX_PUBLIC_URL",
        "LETTERBOX_SMTP_URL",
        "LETTERBOX_ICE_HOST_ADDRESS",
        "LETTERBOX_TRUSTED_PROXIES",
    ],
)
def test_production_refuses_to_start_without_each_secret(missing: str) -> None:
    environ = {k: v for k, v in PRODUCTION_BASE.items() if k != missing}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert raised.value.variable == missing
    assert str(raised.value).startswith(missing)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LETTERBOX_DATABASE_URL", "mysql://root@localhost/x"),
        ("LETTERBOX_PORT", "eighty"),
        ("LETTERBOX_PORT", "70000"),
        ("LETTERBOX_MASTER_KEY", "not base64!"),
        ("LETTERBOX_MASTER_KEY", base64.b64encode(b"short").decode()),
        ("LETTERBOX_ICE_SERVERS", "stun:stun.example.org"),
        ("LETTERBOX_ICE_SERVERS", '[{"username": "x"}]'),
        ("LETTERBOX_PUBLIC_URL", "letterbox.example.org"),
        ("LETTERBOX_ENV", "staging"),
        ("LETTERBOX_SMTP_URL", "http://mail"),
    ],
)
def test_malformed_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable


def test_production_refuses_plain_http_public_url() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            PRODUCTION_BASE | {"LETTERBOX_PUBLIC_URL": "http://letterbox.example.org"}
        )
    assert raised.value.variable == "LETTERBOX_PUBLIC_URL"


def test_s3_url_without_credentials_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LETTERBOX_S3_URL": "http://127.0.0.1:9000/bucket"})
    assert raised.value.variable == "LETTERBOX_S3_ACCESS_KEY"


def test_ice_servers_are_read_as_given() -> None:
    settings = Settings.from_env(
        {
            "LETTERBOX_ICE_SERVERS": '[{"urls": "turn:turn.centre.example:3478", "username": "u", "credential": "p"}]'
        }
    )
    assert settings.ice_servers == (
        {"urls": "turn:turn.centre.example:3478", "username": "u", "credential": "p"},
    )


def test_production_relay_offers_only_the_configured_public_addresses() -> None:
    environ = {k: v for k, v in PRODUCTION_BASE.items() if k != "LETTERBOX_ICE_HOST_ADDRESS"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert raised.value.variable == "LETTERBOX_ICE_HOST_ADDRESS"
    assert "LETTERBOX_ICE_HOST_ADDRESS" in str(raised.value)
    assert "every interface" in str(raised.value)
    settings = Settings.from_env(
        environ | {"LETTERBOX_ICE_HOST_ADDRESS": "203.0.113.10, 2001:db8::10"}
    )
    assert settings.ice_host_addresses == ("203.0.113.10", "2001:db8::10")


@pytest.mark.parametrize(
    "value", ["media.example.org", "203.0.113.10,203.0.113.11", "203.0.113.10,,2001:db8::1"]
)
def test_ice_host_address_must_be_one_ip_of_each_family(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LETTERBOX_ICE_HOST_ADDRESS": value})
    assert raised.value.variable == "LETTERBOX_ICE_HOST_ADDRESS"


def test_production_accepts_zero_trusted_proxies_when_set_explicitly() -> None:
    settings = Settings.from_env(PRODUCTION_BASE | {"LETTERBOX_TRUSTED_PROXIES": "0"})
    assert settings.trusted_proxies == 0
    with pytest.raises(SettingsError, match=r"TRUSTED_PROXIES.*1 behind the usual TLS proxy"):
        Settings.from_env({k: v for k, v in PRODUCTION_BASE.items() if "PROXIES" not in k})
