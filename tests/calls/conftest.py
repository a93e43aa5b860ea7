"""Call tests run the real app with host candidates restricted to loopback (the only address a
test machine is sure to have), exactly like a media node restricted to its public address."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", ice_host_address="127.0.0.1")
