"""Supervised video calls: scheduling, the per-node registry of live calls, signalling, pages.

The media relay itself is ``media.py`` (on top of ``passthrough.py``, the only module that
touches aiortc internals)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.typedefs import CleanupContext


def setup(app: web.Application) -> None:
    from service.calls import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.calls.node import calls_ctx

    # Installs the media passthrough once, closes every relay at shutdown.
    return (calls_ctx,)
