"""Types shared by the app's wiring (no application state here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

# A cleanup context: opens a resource when the app starts, closes it when the app stops.
CleanupContext = Callable[[web.Application], AsyncIterator[None]]
