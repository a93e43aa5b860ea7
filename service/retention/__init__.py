"""Retention: each family's content is kept for a set time and then crypto-shredded
automatically (the record stays verifiable). The rule is the family's own or the centre's
default (until the youngest child is 25, or a number of years after the case closed); a
legal hold (proceedings ongoing) stops it; admins see a warning list a month before.

No names for other capabilities (``__all__`` is empty)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__: list[str] = []


def setup(app: web.Application) -> None:
    from service.retention import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.retention.job import retention_ctx

    # The shredding job, once per centre under a database lease; safe to run twice.
    return (retention_ctx,)
