"""Appending events to the family record, and reading a family's chain back checked.

Every contact event is appended with `RecordLog.append` in the *caller's* transaction, so it
commits or rolls back with the change it describes. One hash chain per family; a gap-free
global sequence is allocated under the head rows' locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import recordformat as rf
from storage.models import RecordEvent, RecordHead
from storage.record.errors import CheckpointInconsistent, RecordError
from storage.record.sealing import PayloadSealer, seal_payload

__all__ = [
    "APPENDED",
    "GLOBAL_SCOPE",
    "EventAuthor",
    "RecordLog",
    "family_chain",
    "to_record",
]

GLOBAL_SCOPE: Final = "global"
# session.info: {seq: family_id} of the events appended in the transaction (the guard reads it)
APPENDED: Final = "letterbox.record.appended"


@dataclass(frozen=True, slots=True)
class EventAuthor:
    """Who wrote an event: a user id and the role they acted in, or the system (``id=None``).

    Not `service.http.access.Actor` (who is signed in to a request): that one becomes an
    `EventAuthor` when it writes to the record.
    """

    id: uuid.UUID | None
    role: str

    def __post_init__(self) -> None:
        if self.role not in rf.ACTOR_ROLES:
            raise RecordError(f"actor role {self.role!r} is not one of {sorted(rf.ACTOR_ROLES)}")

    @classmethod
    def system(cls) -> EventAuthor:
        return cls(None, "system")


def to_record(row: Any) -> rf.EventRecord:
    """The format's view of a stored event, from a `RecordEvent` or a row of its columns
    (the payload text parsed strictly)."""
    return rf.EventRecord(
        seq=row.seq,
        family_id=str(row.family_id),
        family_seq=row.family_seq,
        at=rf.format_time(row.at),
        actor_id=None if row.actor_id is None else str(row.actor_id),
        actor_role=row.actor_role,
        kind=row.kind,
        payload=rf.parse_canonical(row.payload),
        prev_hash=bytes(row.prev_hash),
        event_hash=bytes(row.event_hash),
    )


def _heads_table() -> Table:
    table = RecordHead.__table__
    assert isinstance(table, Table)  # noqa: S101 - a declarative model's table
    return table


async def _lock_head(session: AsyncSession, scope: str) -> tuple[int, bytes]:
    """Lock the head row of ``scope`` (creating it on first use) and read it.

    PostgreSQL: SELECT … FOR UPDATE holds the row until commit, so a second appender waits and
    then reads the committed successor. SQLite: the transaction began with BEGIN IMMEDIATE and
    already holds the only write lock (storage/db.py).
    """
    query = select(RecordHead.last_seq, RecordHead.last_hash).where(RecordHead.scope == scope)
    row = (await session.execute(query.with_for_update())).one_or_none()
    if row is None:
        dialect = session.get_bind().dialect.name
        values = {"scope": scope, "last_seq": 0, "last_hash": rf.GENESIS_HASH}
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(RecordHead).values(values).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(RecordHead).values(values).on_conflict_do_nothing()
        await session.execute(stmt)
        row = (await session.execute(query.with_for_update())).one()
    return int(row.last_seq), bytes(row.last_hash)


@dataclass(frozen=True)
class RecordLog:
    """Appends events to the family record. ``sealer`` seals `Sealed` payload values."""

    sealer: PayloadSealer | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def append(
        self,
        session: AsyncSession,
        family_id: uuid.UUID,
        kind: rf.EventKind | str,
        payload: Mapping[str, Any],
        actor: EventAuthor,
    ) -> RecordEvent:
        """Append one event in the caller's transaction (never commits) and return it.

        Locks the global head, then the family's, always in that order (no deadlock between
        appenders). Append as the last write of a transaction: the global lock is held until
        commit, so every other appender waits for it.
        """
        if kind not in rf.EVENT_KINDS:
            raise RecordError(f"event kind {kind!r} is not in the closed list")
        sealer = self.sealer

        async def seal(plaintext: bytes) -> bytes:
            assert sealer is not None  # noqa: S101 - checked by seal_payload
            return await sealer.seal(session, family_id, plaintext)

        stored_payload = await seal_payload(dict(payload), seal if sealer else None)
        payload_text = rf.canonical_json(stored_payload).decode("utf-8")

        global_seq, _ = await _lock_head(session, GLOBAL_SCOPE)
        family_seq, family_head = await _lock_head(session, f"family:{family_id}")
        at = self.clock().astimezone(UTC)
        if family_seq:
            # Times never go backwards inside a family, even across nodes with skewed clocks:
            # an export for a date range is then one unbroken run of the chain.
            previous_at = await session.scalar(
                select(RecordEvent.at).where(
                    RecordEvent.family_id == family_id, RecordEvent.family_seq == family_seq
                )
            )
            if previous_at is not None and previous_at > at:
                at = previous_at
        record = rf.EventRecord.build(
            seq=global_seq + 1,
            family_id=str(family_id),
            family_seq=family_seq + 1,
            at=rf.format_time(at),
            actor_id=None if actor.id is None else str(actor.id),
            actor_role=actor.role,
            kind=str(kind),
            payload=stored_payload,
            prev_hash=family_head,
        )
        row = RecordEvent(
            seq=record.seq,
            family_id=family_id,
            family_seq=record.family_seq,
            at=rf.parse_time(record.at),
            actor_id=actor.id,
            actor_role=actor.role,
            kind=record.kind,
            payload=payload_text,
            prev_hash=record.prev_hash,
            event_hash=record.event_hash,
        )
        session.add(row)
        # Core statements on the table: no ORM bulk-update bookkeeping on the hot path.
        heads = _heads_table()
        await session.execute(
            update(heads)
            .where(heads.c.scope == GLOBAL_SCOPE)
            .values(last_seq=record.seq, last_hash=record.event_hash)
        )
        await session.execute(
            update(heads)
            .where(heads.c.scope == f"family:{family_id}")
            .values(last_seq=record.family_seq, last_hash=record.event_hash)
        )
        await session.flush()
        session.info.setdefault(APPENDED, {})[record.seq] = family_id
        return row


_EVENT_COLUMNS: Final = (
    RecordEvent.seq,
    RecordEvent.family_id,
    RecordEvent.family_seq,
    RecordEvent.at,
    RecordEvent.actor_id,
    RecordEvent.actor_role,
    RecordEvent.kind,
    RecordEvent.payload,
    RecordEvent.prev_hash,
    RecordEvent.event_hash,
)


async def family_chain(session: AsyncSession, family_id: uuid.UUID) -> list[rf.EventRecord]:
    """The family's events in chain order, re-checked link by link from the first.

    Raises `CheckpointInconsistent` if any event is altered, missing or out of place, so
    nothing is ever signed or exported over a broken chain.
    """
    result = await session.stream(
        select(*_EVENT_COLUMNS)
        .where(RecordEvent.family_id == family_id)
        .order_by(RecordEvent.family_seq)
        .execution_options(yield_per=2000)
    )
    chain: list[rf.EventRecord] = []
    running = rf.GENESIS_HASH
    async for row in result:
        try:
            record = to_record(row)
            computed = record.computed_hash()
        except rf.RecordFormatError:
            computed = b""
        if (
            row.family_seq != len(chain) + 1
            or bytes(row.prev_hash) != running
            or computed != bytes(row.event_hash)
        ):
            raise CheckpointInconsistent(
                f"family {family_id}: event {row.family_seq} (seq {row.seq}) is altered, "
                "missing or out of place; refusing to sign"
            )
        running = computed
        chain.append(record)
    return chain
