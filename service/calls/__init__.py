"""Supervised video calls: scheduling, the per-node registry of live calls, signalling, pages.

The media relay itself is ``media.py`` (on top of ``passthrough.py``, the only module that
touches aiortc internals).

Other capabilities use calls only through these names: ``calls_for_parent`` and
``ParentCall`` (a parent's upcoming and past calls, and when "Join" goes live)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.calls.mine import ParentCall, calls_for_parent
from service.typedefs import CleanupContext

__all__ = ["ParentCall", "calls_for_parent", "cleanup_contexts", "setup"]


def setup(app: web.Application) -> None:
    from service.calls import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.calls.node import calls_ctx
    from service.calls.reminders import reminders_ctx

    # Installs the media passthrough once, closes every relay at shutdown; then the reminders
    # of tomorrow's calls (once per centre, under a database lease).
    return (calls_ctx, reminders_ctx)
