"""Call tests run the real app with host candidates restricted to loopback (the only address a
test machine is sure to have), exactly like a media node restricted to its public address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.calls.media import CallMedia
from service.settings import Settings
from tests.support.settings import make_settings
from tests.support.synthetic_calls import SyntheticParticipant


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", ice_host_address="127.0.0.1")


@pytest.fixture
async def call() -> AsyncIterator[CallMedia]:
    """A relay of its own, closed at the end (a module may define its own ``call``)."""
    media = CallMedia()
    try:
        yield media
    finally:
        await media.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[SyntheticParticipant]]:
    """Participants made by a test; every one is closed at the end, whatever happened."""
    made: list[SyntheticParticipant] = []
    try:
        yield made
    finally:
        await asyncio.gather(*(c.close() for c in made))
