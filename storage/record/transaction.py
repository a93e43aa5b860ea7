"""The recorded transaction domain code works in: a guarded session and a record writer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import recordformat as rf
from storage.models import RecordEvent
from storage.record.appending import EventAuthor, RecordLog
from storage.record.guard import RecordGuardedSession

__all__ = ["RecordedWork", "record_transaction"]


@dataclass
class RecordedWork:
    """A transaction and its record writer: domain functions take this, not a bare session."""

    session: AsyncSession
    log: RecordLog
    actor: EventAuthor
    events: list[RecordEvent] = field(default_factory=list)

    async def record(
        self,
        family_id: uuid.UUID,
        kind: rf.EventKind | str,
        payload: Mapping[str, Any],
        *,
        actor: EventAuthor | None = None,
    ) -> RecordEvent:
        event_row = await self.log.append(
            self.session, family_id, kind, payload, actor or self.actor
        )
        self.events.append(event_row)
        return event_row


@asynccontextmanager
async def record_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], log: RecordLog, actor: EventAuthor
) -> AsyncIterator[RecordedWork]:
    """``async with record_transaction(sm, log, actor) as work:`` — one guarded transaction.

    Commits on normal exit (refused by the guard if a contact change has no event), rolls back
    on an exception: the events go with the change, or neither does.
    """
    async with (
        sessionmaker(sync_session_class=RecordGuardedSession) as session,
        session.begin(),
    ):
        yield RecordedWork(session, log, actor)
