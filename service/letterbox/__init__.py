"""The letterbox: intake (sanitiser, scanner, clamd), moderation, opening sessions, replies,
physical gifts and the parent's view. ``setup(app)`` adds its routes and, in test mode, the
fault-test hooks; ``service.app`` owns the sanitiser's worker processes
(``intake.sanitiser_pool_ctx``)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    # Imported here, not at module import: nothing happens at import time of the package.
    from service.appkeys import INTAKE_BEFORE_COMMIT
    from service.letterbox import faulttest, views

    app[INTAKE_BEFORE_COMMIT] = []
    # Does nothing unless the settings name a fault test's pause (test mode only).
    faulttest.install(app)
    views.setup_routes(app)
