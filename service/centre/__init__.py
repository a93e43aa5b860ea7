"""Centre administration: staff accounts, referrals, families, parents and referrers, the
role home pages and the demo centre. Domain functions live in the modules named after what
they manage; ``views`` holds the thin page handlers and ``service.api`` the JSON ones."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.typedefs import CleanupContext


def setup(app: web.Application) -> None:
    from service.centre import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
