"""The production compose file and its companions: valid, non-root, secrets only from env
files, healthchecks everywhere, and a TURN server that cannot be turned against the centre."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from service.settings import Settings, SettingsError
from service.turn import ice_servers_for, turn_credentials

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "support" / "schemas" / "compose-spec.json"


def validate(document: dict[str, Any]) -> None:
    # The schema names draft 2019-09 with a trailing "#" that jsonschema does not map itself.
    jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text())).validate(document)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _has_compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
    )
    return result.returncode == 0


def test_compose_file_is_valid() -> None:
    if _has_compose_plugin():
        # `config` parses and validates without needing a running engine.
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet", "--no-interpolate"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
    validate(compose())


def test_compose_schema_check_catches_a_broken_file() -> None:
    broken = compose()
    broken["services"]["app"]["healthcheck"]["interval"] = ["not", "a", "duration"]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_compose_has_the_production_services_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"app", "postgres", "minio", "minio-init", "coturn", "clamav"} <= set(services)
    for name, service in services.items():
        if name == "minio-init":  # a one-shot job, not a service that stays up
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_secrets_come_only_from_env_files() -> None:
    for name, service in compose()["services"].items():
        environment = service.get("environment", {})
        items = (
            environment.items()
            if isinstance(environment, dict)
            else (e.split("=", 1) for e in environment)
        )
        for key, _ in items:
            assert not any(word in key.upper() for word in ("PASSWORD", "SECRET", "KEY")), (
                f"{name} sets {key} inline; secrets belong in deploy/*.env"
            )
    for example in (ROOT / "deploy").glob("*.env.example"):
        for line in example.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                if any(word in key for word in ("PASSWORD", "SECRET")):
                    assert value.startswith("CHANGE_ME"), (
                        f"{example.name}: {key} has a real-looking value"
                    )


def test_app_runs_as_a_non_root_user() -> None:
    app = compose()["services"]["app"]
    assert app["user"].split(":")[0] not in ("0", "root")
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


def test_turn_server_refuses_to_relay_to_private_and_loopback_ranges() -> None:
    conf = (ROOT / "deploy" / "turnserver.conf").read_text().splitlines()
    denied = {line.split("=", 1)[1] for line in conf if line.startswith("denied-peer-ip=")}
    for private in (
        "10.0.0.0-10.255.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
        "::1",
    ):
        assert private in denied
    assert "no-loopback-peers" in conf and "use-auth-secret" in conf
    assert not any(line.startswith("static-auth-secret") for line in conf)


def test_turn_credentials_are_the_coturn_rest_api_hmac_and_expire() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    username, credential = turn_credentials("a-long-shared-secret", "call-7", now)
    expires, label = username.split(":")
    assert label == "call-7" and int(expires) > now.timestamp()
    expected = base64.b64encode(
        hmac.new(b"a-long-shared-secret", username.encode(), hashlib.sha1).digest()
    ).decode()
    assert credential == expected


def test_ice_servers_include_turn_only_when_configured() -> None:
    now = datetime.now(UTC)
    plain = Settings.from_env({})
    assert ice_servers_for(plain, "x", now) == []
    with_turn = Settings.from_env(
        {"LETTERBOX_TURN_URLS": "turn:turn.centre.example:3478", "LETTERBOX_TURN_SECRET": "s" * 20}
    )
    (server,) = ice_servers_for(with_turn, "x", now)
    assert server["urls"] == ["turn:turn.centre.example:3478"]
    assert "s" * 20 not in json.dumps(server)  # the secret itself never leaves the server
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LETTERBOX_TURN_URLS": "turn:turn.centre.example:3478"})
    assert raised.value.variable == "LETTERBOX_TURN_SECRET"
