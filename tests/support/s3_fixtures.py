"""pytest fixtures for a real SeaweedFS S3 server.

Registered from the root conftest with ``pytest_plugins = ["tests.support.s3_fixtures"]``.
``s3_server`` is one server per test session; ``s3_bucket`` a fresh, emptied-afterwards bucket
name per test. Tests that kill or restart a server start their own with `run_seaweedfs`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest
from minio.deleteobjects import DeleteObject

from tests.support.seaweedfs import S3Endpoint, SeaweedFS, run_seaweedfs

_STARTS = pytest.StashKey[list[str]]()


def record_server_start(config: pytest.Config, server: SeaweedFS) -> None:
    """Remember a started server so the terminal summary proves it really ran."""
    endpoint = server.endpoint
    line = (
        f"SeaweedFS S3 started on {endpoint.netloc} (pid {endpoint.pid}, log {endpoint.log_path})"
    )
    config.stash.setdefault(_STARTS, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    starts = terminalreporter.config.stash.get(_STARTS, [])
    if starts:
        terminalreporter.section("real services")
        for line in starts:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def s3_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Endpoint]:
    with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        record_server_start(request.config, server)
        yield server.endpoint


@pytest.fixture
def s3_bucket(s3_server: S3Endpoint) -> Iterator[str]:
    """A bucket name unique to this test; the bucket (if created) is emptied and removed after."""
    name = f"lbx-test-{secrets.token_hex(6)}"
    yield name
    client = s3_server.client()
    with contextlib.suppress(Exception):
        if client.bucket_exists(name):
            doomed = [
                DeleteObject(obj.object_name)
                for obj in client.list_objects(name, recursive=True)
                if obj.object_name is not None
            ]
            for error in client.remove_objects(name, doomed):
                raise AssertionError(f"could not clean bucket {name}: {error}")
            client.remove_bucket(name)
