"""The letterbox: intake (sanitiser, scanner, clamd), moderation, opening sessions, replies,
physical gifts and the parent's view.

Other capabilities use the letterbox only through these names: ``queue_summary`` and
``QueueSummary`` (how many items wait, how many are past the centre's target, the oldest:
for the home pages)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.letterbox.queue import QueueSummary, queue_summary
from service.typedefs import CleanupContext

__all__ = ["QueueSummary", "cleanup_contexts", "queue_summary", "setup"]


def setup(app: web.Application) -> None:
    # Imported here, not at module import: nothing happens at import time of the package.
    from service.letterbox import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.background import periodic
    from service.letterbox.intake import sanitiser_pool_ctx
    from service.letterbox.queue import LATE_CHECK_SECONDS, late_items_job

    # Uploads are sanitised and images redacted in worker processes, never on the event loop.
    return (
        sanitiser_pool_ctx,
        periodic("late items", lambda app: LATE_CHECK_SECONDS, late_items_job),
    )
