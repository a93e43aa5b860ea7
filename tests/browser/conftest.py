"""Real headless Chromium (Debian's, never a downloaded one) against the real app served on
a free loopback port, with a real SMTP server catching the e-mails, and axe-core run on
every page a test visits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Playwright, async_playwright, expect

from service.app import create_app
from tests.support.browser import AXE, CHROMIUM, TIMEOUT_MS, LiveApp
from tests.support.settings import make_settings
from tests.support.smtp import Inbox, free_port, smtp_server

__all__ = ["smtp_server"]


@pytest.fixture
async def live_app(database_url: str, tmp_path: Path, smtp_server: Inbox) -> AsyncIterator[LiveApp]:
    port = free_port()
    settings = make_settings(
        database_url,
        tmp_path / "data",
        public_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp_server.url,
    )
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield LiveApp(server, settings, smtp_server)
    finally:
        await server.close()


@pytest.fixture
def browser_tools() -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required at /usr/bin/chromium (make test-services)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make test-services` (npm ci --prefix tests/browser)")


@pytest.fixture
async def playwright(browser_tools: None) -> AsyncIterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as running:
        yield running
