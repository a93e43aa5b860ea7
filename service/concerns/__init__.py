"""Safeguarding concerns: any member of staff raises one from an item, a reply, a call or a
session; an item is withheld at once (its sender still sees "Being checked"); the centre's
designated safeguarding lead (a flag an admin sets on a staff account) is e-mailed at once,
with no content; the lead acknowledges within 24 hours, or the admins are reminded, and
records the action taken. Staff-only list; every step in the family record.

No names for other capabilities (``__all__`` is empty): the court export reads concerns
from the record's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__: list[str] = []


def setup(app: web.Application) -> None:
    from service.concerns import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.concerns.reminders import concerns_ctx

    # Tells leads whose e-mail could not go at once, and reminds the admins of concerns not
    # acknowledged within 24 hours; once per centre under a database lease.
    return (concerns_ctx,)
