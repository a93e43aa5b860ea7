"""Checkpoints: the centre signs the head of a family's chain, never over a rewritten one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import recordformat as rf
from storage.models import Family, RecordCheckpoint, RecordEvent
from storage.record.appending import family_chain
from storage.record.centre import (
    check_against_centre,
    latest_centre_checkpoint,
    make_centre_checkpoint,
)
from storage.record.errors import CheckpointInconsistent, RecordError
from storage.record.signing import RecordSigner

__all__ = ["checkpoint_families_with_new_events", "checkpoint_task", "make_checkpoint"]

log = logging.getLogger(__name__)


async def make_checkpoint(
    session: AsyncSession,
    family_id: uuid.UUID,
    signer: RecordSigner,
    *,
    now: datetime | None = None,
    chain: list[rf.EventRecord] | None = None,
) -> RecordCheckpoint:
    """Sign the family's current head, after checking it extends the previous checkpoint.

    The whole chain is re-hashed first (`family_chain`; pass ``chain`` if you just read it),
    and it must pass through the previous checkpoint's head at its size and through the head the
    latest centre checkpoint signed (a family it does not list may have no older events): a
    family whose own checkpoints were deleted is not trusted as it stands.
    """
    case_reference = await session.scalar(
        select(Family.case_reference).where(Family.id == family_id)
    )
    if case_reference is None:
        raise RecordError(f"no family {family_id}")
    if chain is None:
        chain = await family_chain(session, family_id)
    size = len(chain)
    head = chain[-1].event_hash if chain else rf.GENESIS_HASH
    previous = (
        await session.execute(
            select(RecordCheckpoint)
            .where(RecordCheckpoint.family_id == family_id)
            .order_by(RecordCheckpoint.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if previous is not None:
        if previous.size > size:
            raise CheckpointInconsistent(
                f"family {family_id}: the record shrank from {previous.size} to {size} events"
            )
        at_previous = chain[previous.size - 1].event_hash if previous.size else rf.GENESIS_HASH
        if at_previous != bytes(previous.head):
            raise CheckpointInconsistent(
                f"family {family_id}: the chain no longer passes through the previous "
                f"checkpoint at {previous.size} events"
            )
    check_against_centre(await latest_centre_checkpoint(session), family_id, chain)
    made_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    checkpoint = rf.Checkpoint(
        family_id=str(family_id),
        case_reference=case_reference,
        size=size,
        head=head,
        time=rf.format_time(made_at, micro=False),
    )
    row = RecordCheckpoint(
        family_id=family_id,
        size=size,
        head=head,
        made_at=made_at,
        signed_note=signer.sign_note(checkpoint),
        key_fingerprint=signer.fingerprint,
    )
    session.add(row)
    await session.flush()
    return row


async def checkpoint_families_with_new_events(
    session: AsyncSession, signer: RecordSigner, *, now: datetime | None = None
) -> list[RecordCheckpoint]:
    """One checkpoint for every family whose record grew since its last checkpoint, then the
    next centre checkpoint over every family (made every round, grown or not)."""
    last_size = (
        select(
            RecordCheckpoint.family_id.label("family_id"),
            func.max(RecordCheckpoint.size).label("size"),
        )
        .where(RecordCheckpoint.family_id.is_not(None))
        .group_by(RecordCheckpoint.family_id)
        .subquery()
    )
    grown = await session.execute(
        select(RecordEvent.family_id)
        .outerjoin(last_size, last_size.c.family_id == RecordEvent.family_id)
        .group_by(RecordEvent.family_id, last_size.c.size)
        .having(func.max(RecordEvent.family_seq) > func.coalesce(last_size.c.size, 0))
    )
    made = []
    chains: dict[uuid.UUID, list[rf.EventRecord]] = {}
    for family_id in sorted(grown.scalars()):
        chains[family_id] = await family_chain(session, family_id)
        made.append(
            await make_checkpoint(session, family_id, signer, now=now, chain=chains[family_id])
        )
    await make_centre_checkpoint(session, signer, now=now, chains=chains)
    return made


async def checkpoint_task(
    sessionmaker: async_sessionmaker[AsyncSession],
    signer: RecordSigner,
    interval_seconds: float,
    after_round: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run forever: every ``interval_seconds``, checkpoint the families with new events.

    For a cleanup context::

        async def checkpoint_ctx(app):
            task = asyncio.create_task(checkpoint_task(sm, signer, settings.checkpoint_interval_seconds))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    """
    while True:
        try:
            async with sessionmaker.begin() as session:
                made = await checkpoint_families_with_new_events(session, signer)
            if made:
                log.info("record checkpoints made for %d families", len(made))
            if after_round is not None:
                # Outside the transaction: sending the checkpoint out of the centre (a
                # time-stamp) may wait on the network.
                await after_round()
        except CheckpointInconsistent:
            # Never sign over a rewritten chain; say so loudly and keep trying the others later.
            log.exception("record checkpoint refused: the record was altered")
        except Exception:
            log.exception("record checkpoint round failed; retrying next interval")
        await asyncio.sleep(interval_seconds)
