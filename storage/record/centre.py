"""The centre-wide chain of checkpoints: every family's head, signed, each link naming the last.

A family's own checkpoints can be deleted by someone with database write access, and a family
with no checkpoint used to be trusted as it stood. A centre checkpoint signs every family's
(size, head) at once, carries a gap-free ``seq`` and the hash of the previous centre checkpoint,
so deleting one shows as a gap or a broken link, deleting the newest shows as a stale chain
while events exist after it (`verify_database`), and every rewrite of an event a centre
checkpoint covered is caught (docs/record.md, "Centre checkpoints").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import recordformat as rf
from storage.models import CentreCheckpoint, RecordEvent, RecordHead
from storage.record.appending import GLOBAL_SCOPE, _lock_head, family_chain
from storage.record.errors import CheckpointInconsistent
from storage.record.signing import RecordSigner

__all__ = [
    "check_against_centre",
    "latest_centre_checkpoint",
    "make_centre_checkpoint",
]


async def latest_centre_checkpoint(session: AsyncSession) -> rf.CentreCheckpoint | None:
    body = await session.scalar(
        select(CentreCheckpoint.body).order_by(CentreCheckpoint.seq.desc()).limit(1)
    )
    return None if body is None else rf.CentreCheckpoint.parse(bytes(body))


def check_against_centre(
    latest: rf.CentreCheckpoint | None, family_id: uuid.UUID, chain: list[rf.EventRecord]
) -> None:
    """Refuse a family chain that does not extend what the latest centre checkpoint signed.

    A family missing from that checkpoint may only have events appended after it: a family
    with older events and no entry was rewritten or its entry removed.
    """
    if latest is None:
        return
    entry = latest.families.get(str(family_id))
    if entry is None:
        older = next((e for e in chain if e.seq <= latest.events), None)
        if older is not None:
            raise CheckpointInconsistent(
                f"family {family_id}: event {older.seq} is older than centre checkpoint "
                f"{latest.seq}, which does not list the family; refusing to sign"
            )
        return
    size, head = entry
    if len(chain) < size or chain[size - 1].event_hash != head:
        raise CheckpointInconsistent(
            f"family {family_id}: the chain no longer passes through the head centre checkpoint "
            f"{latest.seq} signed at {size} events; refusing to sign"
        )


async def make_centre_checkpoint(
    session: AsyncSession,
    signer: RecordSigner,
    *,
    now: datetime | None = None,
    chains: dict[uuid.UUID, list[rf.EventRecord]] | None = None,
) -> CentreCheckpoint:
    """Sign every family's head as the next link of the centre's chain of checkpoints.

    Holds the global record lock (no event is appended meanwhile, and two makers get
    consecutive ``seq``). Families whose chain grew since the previous centre checkpoint are
    re-hashed from their first event and must pass through the head it signed; ``chains``
    passes chains just read (an export's). Raises `CheckpointInconsistent` and signs nothing
    otherwise.
    """
    global_size, _ = await _lock_head(session, GLOBAL_SCOPE)
    previous_row = (
        await session.execute(
            select(CentreCheckpoint).order_by(CentreCheckpoint.seq.desc()).limit(1)
        )
    ).scalar_one_or_none()
    previous = None if previous_row is None else rf.CentreCheckpoint.parse(bytes(previous_row.body))
    heads = {
        uuid.UUID(scope[len("family:") :]): (int(size), bytes(last_hash))
        for scope, size, last_hash in (
            await session.execute(
                select(RecordHead.scope, RecordHead.last_seq, RecordHead.last_hash).where(
                    RecordHead.scope.like("family:%")
                )
            )
        ).all()
        if size
    }
    # Families with events but no head row (a deleted head) are re-hashed too.
    with_events = set(
        (await session.execute(select(RecordEvent.family_id).distinct())).scalars().all()
    )
    families: dict[str, tuple[int, bytes]] = {}
    for family_id in sorted(with_events | set(heads)):
        key = str(family_id)
        stated = heads.get(family_id)
        signed = None if previous is None else previous.families.get(key)
        if stated is not None and stated == signed:
            families[key] = stated  # unchanged since the previous centre checkpoint signed it
            continue
        chain = (chains or {}).get(family_id)
        if chain is None:
            chain = await family_chain(session, family_id)
        check_against_centre(previous, family_id, chain)
        if not chain:
            raise CheckpointInconsistent(f"family {family_id}: its head names events that are gone")
        if stated != (len(chain), chain[-1].event_hash):
            raise CheckpointInconsistent(
                f"family {family_id}: the head row does not match the chain; refusing to sign"
            )
        families[key] = stated
    # A family the previous checkpoint listed must still be here, at least as long.
    if previous is not None:
        for key, (size, _) in previous.families.items():
            if families.get(key, (0, b""))[0] < size:
                raise CheckpointInconsistent(
                    f"family {key}: had {size} events at centre checkpoint {previous.seq}, "
                    "now fewer; refusing to sign"
                )
    if sum(size for size, _ in families.values()) != global_size:
        raise CheckpointInconsistent(
            f"the families' chains hold {sum(s for s, _ in families.values())} events but the "
            f"record head says {global_size}; refusing to sign"
        )
    made_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    checkpoint = rf.CentreCheckpoint(
        seq=1 if previous is None else previous.seq + 1,
        previous=rf.GENESIS_HASH if previous is None else previous.digest(),
        time=rf.format_time(made_at, micro=False),
        events=global_size,
        families=families,
    )
    body = checkpoint.body()
    row = CentreCheckpoint(
        seq=checkpoint.seq,
        made_at=made_at,
        events=global_size,
        previous_hash=checkpoint.previous,
        body=body,
        signature=rf.sign_detached(rf.CENTRE_CONTEXT, body, signer.name, signer.private_key),
        key_fingerprint=signer.fingerprint,
    )
    session.add(row)
    await session.flush()
    return row
