"""Behind a proxy the client's address comes from the trusted X-Forwarded-For entry only."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from service.appkeys import SETTINGS
from service.http.clientip import client_address
from tests.support.settings import make_settings


def request_with(headers: dict[str, str], tmp_path: Path, trusted: int) -> web.Request:
    app = web.Application()
    app[SETTINGS] = make_settings(
        "sqlite+aiosqlite:///unused.db", tmp_path, trusted_proxies=str(trusted)
    )
    return make_mocked_request("GET", "/", headers=headers, app=app)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "203.0.113.9", None),  # no proxy: the header is ignored, the socket peer counts
        (1, "203.0.113.9", "203.0.113.9"),
        # The client wrote the left entry itself; only the proxy's own entry is believed.
        (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.66, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "not-an-address", None),
    ],
)
def test_only_the_trusted_forwarded_entry_is_believed(
    tmp_path: Path, trusted: int, forwarded: str, expected: str | None
) -> None:
    request = request_with({"X-Forwarded-For": forwarded}, tmp_path, trusted)
    assert client_address(request) == (expected if expected is not None else request.remote)
