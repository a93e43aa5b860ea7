"""The family record's pages, commands, court bundle and offline verifier (``storage.record``
is the log itself).

Imports stay inside functions here: ``service.record.verifier`` must run with nothing but
``cryptography`` and ``storage/recordformat.py``. So the names other capabilities may use
(``__all__``) are loaded when first asked for:

- ``describe(kind, payload, actor, names)``: an event of the family record as one sentence in the
  reader's language (the timeline's words; the subject access copy reuses them).
- ``Names``: who an event's ids stand for, as ``describe`` names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from service.record.timeline import Names, describe
    from service.typedefs import CleanupContext

__all__ = ["Names", "describe"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from service.record import timeline

        return getattr(timeline, name)
    raise AttributeError(f"module 'service.record' has no attribute {name!r}")


def setup(app: web.Application) -> None:
    from service.record import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.record.checkpoints import checkpoint_loop

    # Makes the record-signing key on first start, then checkpoints families with new events.
    return (checkpoint_loop,)
