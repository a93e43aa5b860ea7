"""The `letterbox` command: one clear line for a bad setting, a clean start and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, unique_name


def letterbox(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env["LETTERBOX_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LETTERBOX_DATABASE_URL", "mysql://root@localhost/x", "LETTERBOX_DATABASE_URL"),
        (
            "LETTERBOX_DATABASE_URL",
            "postgresql+asyncpg://nobody@127.0.0.1:1/x",
            "cannot reach the database",
        ),
        ("LETTERBOX_DATA_DIR", "/proc/letterbox-cannot-write-here", "LETTERBOX_DATA_DIR"),
        ("LETTERBOX_ENV", "production", "LETTERBOX_DATABASE_URL"),
    ],
)
def test_bad_setting_gives_one_clear_line_and_nonzero_exit(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = base_env(tmp_path) | {variable: value}
    result = letterbox("serve", env=env, cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("letterbox:")]
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_serve_refuses_unmigrated_database_and_says_which_command(tmp_path: Path) -> None:
    result = letterbox("serve", env=base_env(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "letterbox db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_then_serve_answers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = base_env(tmp_path) | {"LETTERBOX_PORT": str(free_port())}
    upgraded = letterbox("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{env['LETTERBOX_PORT']}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        with urllib.request.urlopen(f"{base}/sign-in", timeout=5) as response:  # noqa: S310
            assert b"Sign in" in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "DEVELOPMENT MODE" in out
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_db_upgrade_works_on_postgresql(tmp_path: Path, pg: PostgresServer) -> None:
    name = unique_name("letterbox_cli")
    pg.psql(f"CREATE DATABASE {name}")
    try:
        env = base_env(tmp_path) | {"LETTERBOX_DATABASE_URL": pg.url(name)}
        result = letterbox("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert pg.psql("SELECT version_num FROM alembic_version", database=name) != ""
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_serve_with_no_workers_says_how_many_are_allowed(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert letterbox("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = letterbox("serve", "--workers", "0", env=env, cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("letterbox:")]
    assert len(lines) == 1 and "--workers must be at least 1" in lines[0]
    assert "Traceback" not in result.stderr
