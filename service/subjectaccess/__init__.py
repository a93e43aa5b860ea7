"""Subject access: an admin starts a request for one person (a parent or a child); what the
centre holds about them is gathered with other people's names blacked out by default; a
moderator reviews it (choosing names that may be shown) and releases it as a PDF and a JSON
file, within the month the law allows. Started and released are recorded.

No names for other capabilities (``__all__`` is empty)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__: list[str] = []


def setup(app: web.Application) -> None:
    from service.subjectaccess import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
