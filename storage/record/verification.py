"""Verification of the live database: every hash, link, sequence, head and checkpoint."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import recordformat as rf
from storage.models import (
    CentreCheckpoint,
    CentreKey,
    Family,
    RecordCheckpoint,
    RecordEvent,
    RecordHead,
)
from storage.record.appending import GLOBAL_SCOPE, to_record
from storage.record.signing import SIGNING_KEY_NAME

__all__ = ["STALE_MARGIN", "Problem", "VerifyReport", "verify_database"]

# How late the newest centre checkpoint may be beyond one interval before `verify_database`
# says checkpoints are missing: a round can take a while, and clocks drift.
STALE_MARGIN: Final = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    case_reference: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"event {self.seq}")
        if self.case_reference is not None:
            where.append(f"case {self.case_reference}")
        prefix = f"{', '.join(where)}: " if where else ""
        return prefix + self.message


@dataclass
class VerifyReport:
    events: int = 0
    families: int = 0
    checkpoints: int = 0
    centre_checkpoints: int = 0
    key_fingerprint: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The broken event with the lowest sequence number (else the first other problem)."""
        with_seq = [p for p in self.problems if p.seq is not None]
        if with_seq:
            return min(with_seq, key=lambda p: p.seq or 0)
        return self.problems[0] if self.problems else None


@dataclass
class _FamilyState:
    size: int = 0
    head: bytes = rf.GENESIS_HASH
    at: str = ""
    broken: bool = False


async def verify_database(
    session: AsyncSession,
    *,
    public_key: bytes | None = None,
    max_problems: int = 100,
    now: datetime | None = None,
    checkpoint_interval: timedelta | None = None,
) -> VerifyReport:
    """Check every event hash, chain link and sequence (global and per family), the heads,
    every stored checkpoint's signature and its place in the chain, and the centre's chain of
    checkpoints: no gap, every link to the previous, every family head it signed still in the
    chain, and (given ``now`` and ``checkpoint_interval``) not stale while events exist after
    its newest link.

    ``public_key`` is the centre key to check signatures against (the stored one if None;
    callers should pass the key authenticated by `load_public_key(session, keyring)`).
    """
    report = VerifyReport()
    cases = dict((await session.execute(select(Family.id, Family.case_reference))).all())
    # A missing event names no family; the family whose chain then skips a step is its family.
    unattributed_gaps: list[int] = []

    def problem(seq: int | None, family_id: uuid.UUID | None, message: str) -> None:
        if len(report.problems) < max_problems:
            case = cases.get(family_id) if family_id is not None else None
            report.problems.append(Problem(seq, case, message))
            if family_id is None and seq is not None:
                unattributed_gaps.append(len(report.problems) - 1)

    def attribute_gap(family_id: uuid.UUID) -> None:
        if unattributed_gaps:
            index = unattributed_gaps.pop(0)
            gap = report.problems[index]
            report.problems[index] = Problem(gap.seq, cases.get(family_id), gap.message)

    if public_key is None:
        key_row = await session.get(CentreKey, SIGNING_KEY_NAME)
        public_key = None if key_row is None else bytes(key_row.public_key)
    if public_key is not None:
        report.key_fingerprint = rf.key_fingerprint(public_key)

    heads = {
        scope: (int(size), bytes(last_hash))
        for scope, size, last_hash in (
            await session.execute(
                select(RecordHead.scope, RecordHead.last_seq, RecordHead.last_hash)
            )
        ).all()
    }
    global_size = heads.get(GLOBAL_SCOPE, (0, b""))[0]
    checkpoints = (
        (await session.execute(select(RecordCheckpoint).order_by(RecordCheckpoint.id)))
        .scalars()
        .all()
    )
    wanted: dict[tuple[uuid.UUID | None, int], bytes | None] = {
        (c.family_id, c.size): None for c in checkpoints
    }
    centre = await _centre_chain(session, public_key, problem, report)
    for checkpoint_ in centre:
        for family_text, (size, _) in checkpoint_.families.items():
            wanted[(uuid.UUID(family_text), size)] = None
    first_at: datetime | None = None

    families: dict[uuid.UUID, _FamilyState] = {}
    expected_seq = 1
    last_seq = 0
    beyond_head = False
    result = await session.stream(
        select(RecordEvent).order_by(RecordEvent.seq).execution_options(yield_per=2000)
    )
    async for row in result.scalars():
        report.events += 1
        if first_at is None:
            first_at = row.at
        state = families.setdefault(row.family_id, _FamilyState())
        last_seq = row.seq
        if row.seq > expected_seq:
            missing = (
                f"{expected_seq}"
                if row.seq == expected_seq + 1
                else f"{expected_seq}…{row.seq - 1}"
            )
            problem(
                expected_seq,
                None,
                f"event {missing} is missing from the record (next present is {row.seq})",
            )
        if row.seq > global_size and not beyond_head:
            beyond_head = True
            problem(
                row.seq,
                row.family_id,
                f"event is beyond the record head ({global_size} events): "
                "it was not appended by Letterbox",
            )
        expected_seq = row.seq + 1
        try:
            record = to_record(row)
            record.check_fields()
            computed = record.computed_hash()
        except rf.RecordFormatError as exc:
            problem(row.seq, row.family_id, f"event is malformed ({exc})")
            state.broken = True
            continue
        if computed != record.event_hash:
            problem(row.seq, row.family_id, "event content does not match its hash (altered)")
            state.broken = True
        if record.family_seq != state.size + 1:
            if record.family_seq > state.size + 1:
                attribute_gap(row.family_id)
            problem(
                row.seq,
                row.family_id,
                f"family sequence jumps from {state.size} to {record.family_seq} "
                "(an event is missing, inserted or reordered)",
            )
        elif record.prev_hash != state.head:
            problem(row.seq, row.family_id, "event does not link to the family's previous event")
        if state.at and record.at < state.at:
            problem(row.seq, row.family_id, "event time goes backwards within the family")
        state.size = record.family_seq
        state.head = computed
        state.at = record.at
        if (row.family_id, state.size) in wanted:
            wanted[(row.family_id, state.size)] = computed
    report.families = len(families)

    for family_id, state in families.items():
        stated = heads.get(f"family:{family_id}")
        if stated != (state.size, state.head):
            if stated is not None and stated[0] > state.size:
                attribute_gap(family_id)  # its last events were removed
            problem(
                None,
                family_id,
                f"the family head does not match its last event ({state.size} present, "
                f"head says {None if stated is None else stated[0]})",
            )
    if global_size > last_seq:
        tail_family = next(
            (
                uuid.UUID(scope[7:])
                for scope, (size, _) in heads.items()
                if scope.startswith("family:")
                and size > families.get(uuid.UUID(scope[7:]), _FamilyState()).size
            ),
            None,
        )
        problem(
            last_seq + 1,
            tail_family,
            f"the record head says {global_size} events but only {last_seq} are present "
            "(events deleted from the end)",
        )

    for checkpoint in checkpoints:
        report.checkpoints += 1
        checkpoint_family = checkpoint.family_id
        label = f"checkpoint {checkpoint.id}"
        if public_key is None:
            problem(None, checkpoint_family, f"{label}: no centre key to check its signature")
            continue
        try:
            note = rf.verify_signed_note(checkpoint.signed_note, public_key)
        except rf.RecordFormatError as exc:
            problem(None, checkpoint_family, f"{label}: {exc}")
            continue
        stated_checkpoint = note.checkpoint
        if (
            stated_checkpoint.family_id != str(checkpoint_family)
            or stated_checkpoint.size != checkpoint.size
            or stated_checkpoint.head != bytes(checkpoint.head)
        ):
            problem(
                None, checkpoint_family, f"{label}: the stored row differs from the signed note"
            )
            continue
        if checkpoint_family is None:
            continue
        actual = (
            rf.GENESIS_HASH
            if checkpoint.size == 0
            else wanted.get((checkpoint_family, checkpoint.size))
        )
        if actual != stated_checkpoint.head:
            # The event at the checkpointed size was altered, removed or re-chained.
            state = families.get(checkpoint_family, _FamilyState())
            problem(
                None,
                checkpoint_family,
                f"{label}: the signed head at {stated_checkpoint.size} events is not in the "
                f"chain (the chain now has {state.size}); the record was rewritten",
            )
    _check_centre_heads(centre, wanted, families, last_seq, problem)
    if now is not None and checkpoint_interval is not None and report.events:
        newest = centre[-1] if centre else None
        late = now - checkpoint_interval - STALE_MARGIN
        if newest is None:
            if first_at is not None and first_at < late:
                problem(
                    None,
                    None,
                    "no centre checkpoint, although events are older than the checkpoint "
                    "interval: the centre's checkpoints were deleted",
                )
        elif last_seq > newest.events and rf.parse_time(newest.time) < late:
            problem(
                None,
                None,
                f"the newest centre checkpoint ({newest.seq}, {newest.time}) is older than the "
                f"checkpoint interval plus {int(STALE_MARGIN.total_seconds() // 60)} minutes "
                f"while {last_seq - newest.events} events were recorded after it: newer "
                "checkpoints were deleted, or the checkpoint task is not running",
            )
    return report


async def _centre_chain(
    session: AsyncSession,
    public_key: bytes | None,
    problem: Callable[[int | None, uuid.UUID | None, str], None],
    report: VerifyReport,
) -> list[rf.CentreCheckpoint]:
    """The centre's checkpoints in order, each checked: signature, row, link, no gap."""
    rows = await session.stream(
        select(CentreCheckpoint).order_by(CentreCheckpoint.seq).execution_options(yield_per=500)
    )
    out: list[rf.CentreCheckpoint] = []
    expected, previous = 1, rf.GENESIS_HASH
    async for row in rows.scalars():
        report.centre_checkpoints += 1
        label = f"centre checkpoint {row.seq}"
        if row.seq != expected:
            missing = f"{expected}" if row.seq == expected + 1 else f"{expected}…{row.seq - 1}"
            problem(None, None, f"centre checkpoint {missing} is missing (deleted)")
        body = bytes(row.body)
        try:
            checkpoint = rf.CentreCheckpoint.parse(body)
            if public_key is None:
                raise rf.RecordFormatError("no centre key to check its signature")
            rf.verify_detached(rf.CENTRE_CONTEXT, body, row.signature, public_key)
        except rf.RecordFormatError as exc:
            problem(None, None, f"{label}: {exc}")
            checkpoint = None
        if checkpoint is not None:
            if (checkpoint.seq, checkpoint.events, checkpoint.previous) != (
                row.seq,
                row.events,
                bytes(row.previous_hash),
            ):
                problem(None, None, f"{label}: the stored row differs from the signed checkpoint")
            if row.seq == expected and checkpoint.previous != previous:
                problem(
                    None,
                    None,
                    f"{label} does not link to centre checkpoint {row.seq - 1}: the chain of "
                    "checkpoints is broken",
                )
            if sum(size for size, _ in checkpoint.families.values()) != checkpoint.events:
                problem(None, None, f"{label}: its family sizes do not add up to its events")
            out.append(checkpoint)
        expected, previous = row.seq + 1, hashlib.sha256(body).digest()
    return out


def _check_centre_heads(
    centre: list[rf.CentreCheckpoint],
    wanted: dict[tuple[uuid.UUID | None, int], bytes | None],
    families: dict[uuid.UUID, _FamilyState],
    last_seq: int,
    problem: Callable[[int | None, uuid.UUID | None, str], None],
) -> None:
    """Every family head a centre checkpoint signed must still be in that family's chain."""
    for checkpoint in centre:
        for family_text, (size, head) in checkpoint.families.items():
            family_id = uuid.UUID(family_text)
            if wanted.get((family_id, size)) != head:
                state = families.get(family_id, _FamilyState())
                problem(
                    None,
                    family_id,
                    f"centre checkpoint {checkpoint.seq} signed this family at {size} events, "
                    f"and that head is not in the chain (it now has {state.size}): "
                    "the record was rewritten or events were removed",
                )
        if last_seq < checkpoint.events:
            problem(
                last_seq + 1,
                None,
                f"centre checkpoint {checkpoint.seq} signed {checkpoint.events} events but only "
                f"{last_seq} are present (events deleted from the end)",
            )
