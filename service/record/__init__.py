"""The family record's pages, commands, court bundle and offline verifier (``storage.record``
is the log itself).

Imports stay inside functions here: ``service.record.verifier`` must run with nothing but
``cryptography`` and ``storage/recordformat.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext


def setup(app: web.Application) -> None:
    from service.record import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.record.checkpoints import checkpoint_loop

    # Makes the record-signing key on first start, then checkpoints families with new events.
    return (checkpoint_loop,)
