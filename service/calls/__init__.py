"""Supervised video calls: scheduling, the per-node registry of live calls, signalling, pages.

The media relay itself is ``media.py`` (on top of ``passthrough.py``, the only module that
touches aiortc internals)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Add the call routes. The registry's cleanup context is added by ``service.app``."""
    from service.calls import views

    views.setup(app)
