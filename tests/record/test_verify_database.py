"""`letterbox record verify` on the live database: any direct edit of the record is named."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import db
from storage import recordformat as rf
from storage.keyring import KeyRing
from storage.models import CentreCheckpoint, FamilyKey, RecordCheckpoint, RecordEvent
from storage.record import (
    CheckpointInconsistent,
    EventAuthor,
    KeyRingPayloadSealer,
    RecordLog,
    RecordSigner,
    Sealed,
    check_against_centre,
    load_or_create_signer,
    make_centre_checkpoint,
    make_checkpoint,
    to_record,
    verify_database,
)
from tests.support.record import letterbox, make_family, new_keyring

STAFF = EventAuthor(uuid.UUID(int=3), "staff")
EVENTS_PER_FAMILY = 4


@dataclass
class World:
    engine: AsyncEngine
    keyring: KeyRing
    signer: RecordSigner
    url: str
    data_dir: Path
    cases: dict[uuid.UUID, str]
    families: list[uuid.UUID]

    def cli(self, *args: str) -> tuple[int, str]:
        result = letterbox(
            *args,
            database_url=self.url,
            master_key_b64=base64.b64encode(self.keyring.master.key).decode(),
            data_dir=self.data_dir,
        )
        return result.returncode, result.stdout + result.stderr

    async def execute(self, sql: str, **params: object) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(sql), params)

    async def event(self, seq: int) -> RecordEvent:
        async with db.create_sessionmaker(self.engine)() as session:
            row = await session.get(RecordEvent, seq)
            assert row is not None
            return row


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """Two families, events interleaved (seq 1…8), each family checkpointed halfway and at the
    end, each time with a centre checkpoint (four: after seq 3, 4, 7 and 8)."""
    engine = db.create_engine(database_url)
    keyring = new_keyring()
    log = RecordLog(KeyRingPayloadSealer(keyring))
    maker = db.create_sessionmaker(engine)
    try:
        async with maker.begin() as session:
            signer = await load_or_create_signer(session, keyring)
            families = []
            for _ in range(2):
                family = await make_family(session)
                await keyring.create_family_key(session, family.id)
                families.append(family)
            cases = {f.id: f.case_reference for f in families}
        for n in range(EVENTS_PER_FAMILY):
            for family in families:
                async with maker.begin() as session:
                    await log.append(
                        session,
                        family.id,
                        rf.EventKind.CALL_WARNED,
                        {"n": n, "reason": Sealed(f"warning {n}")},
                        STAFF,
                    )
                    if n in (1, EVENTS_PER_FAMILY - 1):
                        await make_checkpoint(session, family.id, signer)
                        await make_centre_checkpoint(session, signer)
        yield World(
            engine, keyring, signer, database_url, tmp_path, cases, [f.id for f in families]
        )
    finally:
        await engine.dispose()


async def test_intact_record_verifies(world: World) -> None:
    code, output = world.cli("record", "verify")
    assert code == 0, output
    assert (
        "Record verified: 8 events in 2 families, 4 signed family checkpoints, "
        "4 centre checkpoints (0 time-stamped)" in output
    )
    assert world.signer.fingerprint in output


async def _edit_payload(world: World) -> int:
    await world.execute("UPDATE record_events SET payload = :p WHERE seq = 5", p='{"n":99}')
    return 5


async def _edit_actor_role(world: World) -> int:
    await world.execute("UPDATE record_events SET actor_role = 'parent' WHERE seq = 3")
    return 3


async def _delete_middle(world: World) -> int:
    await world.execute("DELETE FROM record_events WHERE seq = 4")
    return 4


async def _delete_last(world: World) -> int:
    await world.execute("DELETE FROM record_events WHERE seq = 8")
    return 8


async def _insert_forged_at_end(world: World) -> int:
    # A well-formed event with a correct hash, chained onto its family: only the record head
    # (and later the signed checkpoints) can tell it was never appended by Letterbox.
    last = to_record(await world.event(8))
    forged = rf.EventRecord.build(
        seq=9,
        family_id=last.family_id,
        family_seq=last.family_seq + 1,
        at=last.at,
        actor_id=None,
        actor_role="system",
        kind="call_ended",
        payload={},
        prev_hash=last.event_hash,
    )
    async with db.create_sessionmaker(world.engine).begin() as session:
        session.add(
            RecordEvent(
                seq=9,
                family_id=uuid.UUID(forged.family_id),
                family_seq=forged.family_seq,
                at=rf.parse_time(forged.at),
                actor_id=None,
                actor_role="system",
                kind="call_ended",
                payload="{}",
                prev_hash=forged.prev_hash,
                event_hash=forged.event_hash,
            )
        )
    return 9


async def _reorder(world: World) -> int:
    # Swap two events of the same family (seq 3 and 5 are family A's 2nd and 3rd).
    await world.execute("UPDATE record_events SET seq = 1000 WHERE seq = 3")
    await world.execute("UPDATE record_events SET seq = 3 WHERE seq = 5")
    await world.execute("UPDATE record_events SET seq = 5 WHERE seq = 1000")
    return 3


async def _rechain_family(world: World) -> int:
    # Rewrite family A from its 2nd event on, recomputing every hash and the heads: internally
    # consistent, so only the signed checkpoints show that history changed.
    async with db.create_sessionmaker(world.engine).begin() as session:
        rows = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.family_id == world.families[0])
                .order_by(RecordEvent.family_seq)
            )
        ).all()
        head = rows[0].event_hash
        for row in rows[1:]:
            record = to_record(row)
            rebuilt = rf.EventRecord.build(
                seq=record.seq,
                family_id=record.family_id,
                family_seq=record.family_seq,
                at=record.at,
                actor_id=record.actor_id,
                actor_role=record.actor_role,
                kind="call_ended",
                payload=record.payload,
                prev_hash=head,
            )
            row.kind, row.prev_hash, row.event_hash = "call_ended", head, rebuilt.event_hash
            head = rebuilt.event_hash
        await session.execute(
            text("UPDATE record_heads SET last_hash = :h WHERE scope = :s"),
            {"h": head, "s": f"family:{world.families[0]}"},
        )
        await session.execute(
            text("UPDATE record_heads SET last_hash = :h WHERE scope = 'global'"),
            {"h": head},
        )
    return 0  # no single event is "the" broken one; the checkpoint is named


TAMPERING: dict[str, Callable[[World], Awaitable[int]]] = {
    "edited_payload": _edit_payload,
    "edited_actor": _edit_actor_role,
    "deleted_middle_event": _delete_middle,
    "deleted_last_event": _delete_last,
    "inserted_event": _insert_forged_at_end,
    "reordered_events": _reorder,
}


@pytest.mark.parametrize("tamper", list(TAMPERING), ids=list(TAMPERING))
async def test_direct_change_to_an_event_row_fails_verify_and_names_the_event(
    world: World, tamper: str
) -> None:
    seq = await TAMPERING[tamper](world)
    # Events alternate between the two families; the forged 9th extends the 8th's family.
    family_of_seq = world.families[(seq - 1) % 2 if seq <= 8 else 1]
    code, output = world.cli("record", "verify")
    assert code == 1, output
    first_line = output.splitlines()[0]
    assert first_line.startswith(f"RECORD BROKEN: event {seq}, case {world.cases[family_of_seq]}")


async def test_rechained_history_is_caught_by_the_signed_checkpoints(world: World) -> None:
    await _rechain_family(world)
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert world.cases[world.families[0]] in output
    assert "the record was rewritten" in output


async def test_forged_checkpoint_signature_fails_verify(world: World) -> None:
    async with db.create_sessionmaker(world.engine).begin() as session:
        checkpoint = (await session.scalars(select(RecordCheckpoint).limit(1))).one()
        body, _, signature_line = checkpoint.signed_note.partition("\n\n")
        dash, name, blob = signature_line.strip().split(" ")
        raw = bytearray(base64.b64decode(blob))
        raw[-1] ^= 1
        checkpoint.signed_note = (
            f"{body}\n\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"
        )
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert "checkpoint signature is not valid" in output


async def test_checkpoint_signed_by_another_key_fails_verify(world: World) -> None:
    stranger = RecordSigner(Ed25519PrivateKey.generate())
    async with db.create_sessionmaker(world.engine).begin() as session:
        await make_checkpoint(session, world.families[1], stranger)
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert "not signed by this key" in output


async def test_shredded_family_still_verifies(world: World) -> None:
    async with db.create_sessionmaker(world.engine).begin() as session:
        await session.execute(
            update(FamilyKey)
            .where(FamilyKey.family_id == world.families[0])
            .values(wrapped_key=None)
        )
    code, output = world.cli("record", "verify")
    assert code == 0, output


async def test_verify_reports_the_lowest_broken_sequence_first(world: World) -> None:
    await _edit_payload(world)
    await _edit_actor_role(world)
    async with AsyncSession(world.engine) as session:
        report = await verify_database(session, public_key=world.signer.public_key)
    assert not report.ok
    assert report.first_problem is not None and report.first_problem.seq == 3


async def test_key_show_prints_the_public_key_and_fingerprint(world: World) -> None:
    code, output = world.cli("key", "show")
    assert code == 0, output
    assert world.signer.fingerprint in output
    assert base64.b64encode(world.signer.public_key).decode() in output
    assert "BEGIN PUBLIC KEY" in output


async def test_record_verify_with_another_master_key_refuses_the_centre_key(world: World) -> None:
    other = new_keyring()
    result = letterbox(
        "record",
        "verify",
        database_url=world.url,
        master_key_b64=base64.b64encode(other.master.key).decode(),
        data_dir=world.data_dir,
    )
    assert result.returncode != 0
    assert "record-signing key does not open" in result.stdout + result.stderr


# --- the centre's chain of checkpoints -------------------------------------------------------


async def _report(world: World, **kwargs: object) -> list[str]:
    async with AsyncSession(world.engine) as session:
        report = await verify_database(
            session,
            public_key=world.signer.public_key,
            **kwargs,  # type: ignore[arg-type]
        )
    return [str(p) for p in report.problems]


async def test_rechain_with_the_familys_checkpoints_deleted_is_caught_by_the_centre_chain(
    world: World,
) -> None:
    # Issue 19: rewrite an event, re-chain every later one, fix the heads and delete the
    # family's own checkpoints. The centre checkpoints still hold the old heads.
    await _rechain_family(world)
    async with db.create_sessionmaker(world.engine).begin() as session:
        await session.execute(
            RecordCheckpoint.__table__.delete().where(  # type: ignore[attr-defined]
                RecordCheckpoint.family_id == world.families[0]
            )
        )
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert world.cases[world.families[0]] in output
    assert "centre checkpoint" in output and "the record was rewritten" in output
    # And no new checkpoint can be signed over the rewritten chain.
    async with db.create_sessionmaker(world.engine).begin() as session:
        with pytest.raises(CheckpointInconsistent, match="centre checkpoint"):
            await make_checkpoint(session, world.families[0], world.signer)


async def _append(world: World, family: uuid.UUID) -> None:
    log = RecordLog(KeyRingPayloadSealer(world.keyring))
    async with db.create_sessionmaker(world.engine).begin() as session:
        await log.append(session, family, rf.EventKind.CALL_WARNED, {"n": 9}, STAFF)


async def test_newest_event_deleted_with_its_head_fixed_is_caught_by_the_centre_chain(
    world: World,
) -> None:
    # Event 9 is newer than every family checkpoint but the interval's centre checkpoint
    # signed it. Deleting it and setting the heads back to event 8 leaves the chains
    # consistent; the centre checkpoint says family B had 5 events.
    family = world.families[1]
    await _append(world, family)
    async with db.create_sessionmaker(world.engine).begin() as session:
        await make_centre_checkpoint(session, world.signer)
    eight = await world.event(8)
    await world.execute("DELETE FROM record_events WHERE seq = 9")
    await world.execute(
        "UPDATE record_heads SET last_seq = 4, last_hash = :h WHERE scope = :s",
        h=bytes(eight.event_hash),
        s=f"family:{family}",
    )
    await world.execute(
        "UPDATE record_heads SET last_seq = 8, last_hash = :h WHERE scope = 'global'",
        h=bytes(eight.event_hash),
    )
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert "centre checkpoint 5 signed 9 events but only 8 are present" in output
    assert world.cases[family] in output


async def test_deleted_centre_checkpoint_is_a_gap(world: World) -> None:
    async with db.create_sessionmaker(world.engine).begin() as session:
        await session.execute(
            CentreCheckpoint.__table__.delete().where(  # type: ignore[attr-defined]
                CentreCheckpoint.seq == 2
            )
        )
    problems = await _report(world)
    assert "centre checkpoint 2 is missing (deleted)" in problems


async def test_renumbered_centre_checkpoints_break_the_chain(world: World) -> None:
    # Hiding the gap by renumbering: the row no longer matches what was signed, and the link
    # to the previous checkpoint is wrong.
    await world.execute("DELETE FROM centre_checkpoints WHERE seq = 2")
    await world.execute("UPDATE centre_checkpoints SET seq = seq - 1 WHERE seq > 2")
    problems = await _report(world)
    assert any("differs from the signed checkpoint" in p for p in problems), problems


async def test_centre_checkpoint_signed_with_another_key_fails(world: World) -> None:
    stranger = RecordSigner(Ed25519PrivateKey.generate())
    async with db.create_sessionmaker(world.engine).begin() as session:
        await make_centre_checkpoint(session, stranger)
    problems = await _report(world)
    assert "centre checkpoint 5: not signed by this key" in problems


async def test_stale_newest_centre_checkpoint_with_events_after_it_fails(world: World) -> None:
    later = datetime.now(UTC) + timedelta(hours=3)
    interval = timedelta(hours=1)
    assert await _report(world, now=later, checkpoint_interval=interval) == []
    # Newer checkpoints deleted (or never made): events exist after the newest one left.
    await _append(world, world.families[0])
    problems = await _report(world, now=later, checkpoint_interval=interval)
    assert any(
        "newest centre checkpoint (4," in p and "1 events were recorded" in p for p in problems
    )
    # Inside the interval plus the margin it is not yet late.
    assert await _report(world, now=datetime.now(UTC), checkpoint_interval=interval) == []


async def test_all_centre_checkpoints_deleted_fails_once_events_are_older_than_the_interval(
    world: World,
) -> None:
    await world.execute("DELETE FROM centre_checkpoints")
    later = datetime.now(UTC) + timedelta(hours=3)
    problems = await _report(world, now=later, checkpoint_interval=timedelta(hours=1))
    assert any("no centre checkpoint" in p for p in problems), problems


def test_family_missing_from_the_centre_checkpoint_with_older_events_is_refused() -> None:
    newcomer = uuid.UUID(int=77)
    latest = rf.CentreCheckpoint(
        seq=3, previous=bytes(32), time="2025-01-01T00:00:00Z", events=10, families={}
    )
    old_event = rf.EventRecord.build(
        seq=4,
        family_id=str(newcomer),
        family_seq=1,
        at="2024-12-31T00:00:00.000000Z",
        actor_id=None,
        actor_role="system",
        kind="call_joined",
        payload={},
        prev_hash=rf.GENESIS_HASH,
    )
    with pytest.raises(CheckpointInconsistent, match="older than centre checkpoint 3"):
        check_against_centre(latest, newcomer, [old_event])
    newer = rf.EventRecord.build(**{**_fields(old_event), "seq": 11})
    check_against_centre(latest, newcomer, [newer])  # a genuinely new family is fine


def _fields(event: rf.EventRecord) -> dict[str, object]:
    return {
        f: getattr(event, f)
        for f in (
            "seq",
            "family_id",
            "family_seq",
            "at",
            "actor_id",
            "actor_role",
            "kind",
            "payload",
            "prev_hash",
        )
    }


async def test_damaged_or_misplaced_time_stamp_token_fails_record_verify(world: World) -> None:
    await world.execute(
        "UPDATE centre_checkpoints SET timestamp_token = :t WHERE seq = 2", t=b"0\x03\x02\x01\x00"
    )
    code, output = world.cli("record", "verify")
    assert code == 1, output
    assert "centre checkpoint 2: the time-stamp token is malformed" in output
