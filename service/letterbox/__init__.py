"""The letterbox: intake (sanitiser, scanner, clamd), moderation, opening sessions, replies,
physical gifts and the parent's view. ``setup(app)`` adds its routes; ``service.app`` owns the sanitiser pool
(``intake.sanitiser_pool_ctx``)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    # Imported here, not at module import: nothing happens at import time of the package.
    from service.letterbox import views

    views.setup_routes(app)
