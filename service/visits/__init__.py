"""In-centre contact: supported and supervised sessions at the centre, handovers (the two
adults staggered so they never meet) and pre-visits, with each person's arrival and
departure. All of it is attendance in the family record; supported contact keeps dates and
times only (here and in the schema).

No names for other capabilities (``__all__`` is empty): the court export reads visits from
the record's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__: list[str] = []


def setup(app: web.Application) -> None:
    from service.visits import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
