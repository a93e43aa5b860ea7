"""Appending to the family record: one event per change, in the change's own transaction."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import appkeys
from service.record.checkpoints import checkpoint_loop
from storage import db
from storage import recordformat as rf
from storage.keyring import KeyRing
from storage.models import (
    Call,
    CentreCheckpoint,
    CentreKey,
    Decision,
    Direction,
    Family,
    Item,
    ItemKind,
    ItemStatus,
    ModerationDecision,
    RecordCheckpoint,
    RecordEvent,
    Role,
)
from storage.record import (
    ERASED,
    CheckpointInconsistent,
    EventAuthor,
    KeyRingPayloadSealer,
    RecordError,
    RecordLog,
    RecordMissing,
    Sealed,
    SigningKeyError,
    checkpoint_families_with_new_events,
    install_record_guard,
    load_or_create_signer,
    make_checkpoint,
    record_transaction,
    reveal_payload,
)
from tests.support.record import make_family, make_user, new_keyring
from tests.support.settings import make_settings

STAFF = EventAuthor(uuid.UUID(int=7), "staff")


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    try:
        maker = db.create_sessionmaker(engine)
        install_record_guard(maker)
        yield maker
    finally:
        await engine.dispose()


@pytest.fixture
def keyring() -> KeyRing:
    return new_keyring()


async def _family(maker: async_sessionmaker[AsyncSession], keyring: KeyRing) -> Family:
    async with maker.begin() as session:
        family = await make_family(session)
        await keyring.create_family_key(session, family.id)
    return family


async def _events(maker: async_sessionmaker[AsyncSession]) -> list[RecordEvent]:
    async with maker() as session:
        return list((await session.scalars(select(RecordEvent).order_by(RecordEvent.seq))).all())


# --- the format ----------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert (
        rf.canonical_json({"b": 1, "a": ["é", None, True]})
        == '{"a":["é",null,true],"b":1}'.encode()
    )


@pytest.mark.parametrize(
    "bad", [b'{"a":1.5}', b'{"a": 1}', b'{"b":1,"a":2}', b'{"a":1,"a":1}', b'{"a":NaN}', b"\xff"]
)
def test_non_canonical_json_is_refused(bad: bytes) -> None:
    with pytest.raises(rf.RecordFormatError):
        rf.parse_canonical(bad)


def test_floats_cannot_enter_the_record() -> None:
    with pytest.raises(rf.RecordFormatError):
        rf.canonical_json({"duration": 1.5})


def test_signed_note_round_trips_and_detects_any_changed_byte() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    checkpoint = rf.Checkpoint(
        str(uuid.uuid4()), "LB-1", 3, bytes(range(32)), "2025-01-02T03:04:05Z"
    )
    note = rf.make_signed_note(checkpoint, "letterbox-record", key)
    assert rf.verify_signed_note(note, public).checkpoint == checkpoint
    forged = note.replace("\n3\n", "\n4\n")
    with pytest.raises(rf.CheckpointInvalid):
        rf.verify_signed_note(forged, public)


# --- appending -----------------------------------------------------------------------


async def test_appended_events_are_gap_free_and_chained_per_family(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    log = RecordLog(KeyRingPayloadSealer(keyring))
    one = await _family(sessionmaker, keyring)
    two = await _family(sessionmaker, keyring)
    for family in (one, two, one, one, two):
        async with sessionmaker.begin() as session:
            await log.append(session, family.id, rf.EventKind.CALL_SCHEDULED, {"n": 1}, STAFF)
    events = await _events(sessionmaker)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.family_seq for e in events if e.family_id == one.id] == [1, 2, 3]
    assert [e.family_seq for e in events if e.family_id == two.id] == [1, 2]
    for family in (one, two):
        chain = [e for e in events if e.family_id == family.id]
        assert chain[0].prev_hash == rf.GENESIS_HASH
        for before, after in itertools.pairwise(chain):
            assert after.prev_hash == before.event_hash


async def test_rolled_back_change_leaves_no_event(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with record_transaction(sessionmaker, log, STAFF) as work:
            await work.record(family.id, rf.EventKind.CALL_SCHEDULED, {})
            raise Boom
    assert await _events(sessionmaker) == []
    # And the next event still starts the sequence at 1: nothing was half-allocated.
    async with record_transaction(sessionmaker, log, STAFF) as work:
        await work.record(family.id, rf.EventKind.CALL_SCHEDULED, {})
    assert [e.seq for e in await _events(sessionmaker)] == [1]


async def _item(session: AsyncSession, family: Family) -> Item:
    sender = await make_user(session, family.centre_id, Role.PARENT)
    item = Item(
        family_id=family.id,
        direction=Direction.TO_CHILD,
        kind=ItemKind.LETTER,
        sender_id=sender.id,
        status=ItemStatus.SUBMITTED,
    )
    session.add(item)
    return item


async def test_contact_change_without_record_event_is_refused_and_not_committed(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    with pytest.raises(RecordMissing):
        async with sessionmaker.begin() as session:
            await _item(session, family)
    async with sessionmaker() as session:
        assert (await session.scalars(select(Item))).all() == []


async def test_contact_change_with_its_record_event_commits(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    async with record_transaction(sessionmaker, log, STAFF) as work:
        item = await _item(work.session, family)
        await work.session.flush()
        await work.record(family.id, rf.EventKind.ITEM_SUBMITTED, {"item_id": item.id})
    events = await _events(sessionmaker)
    assert rf.parse_canonical(events[0].payload) == {"item_id": str(item.id)}


async def test_event_for_another_family_does_not_excuse_a_contact_change(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    other = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    with pytest.raises(RecordMissing):
        async with record_transaction(sessionmaker, log, STAFF) as work:
            await _item(work.session, family)
            await work.record(other.id, rf.EventKind.ITEM_SUBMITTED, {})
    assert await _events(sessionmaker) == []


async def test_moderation_decision_needs_an_event_for_its_items_family(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    async with record_transaction(sessionmaker, log, STAFF) as work:
        item = await _item(work.session, family)
        await work.session.flush()
        await work.record(family.id, rf.EventKind.ITEM_SUBMITTED, {"item_id": item.id})
    with pytest.raises(RecordMissing):
        async with sessionmaker.begin() as session:
            moderator = await make_user(session, family.centre_id)
            session.add(
                ModerationDecision(
                    item_id=item.id, moderator_id=moderator.id, decision=Decision.APPROVE
                )
            )


async def test_unrecorded_update_to_a_contact_row_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    async with record_transaction(sessionmaker, log, STAFF) as work:
        item = await _item(work.session, family)
        await work.session.flush()
        await work.record(family.id, rf.EventKind.ITEM_SUBMITTED, {"item_id": item.id})
    with pytest.raises(RecordMissing):
        async with sessionmaker.begin() as session:
            loaded = await session.get(Item, item.id)
            assert loaded is not None
            loaded.status = ItemStatus.APPROVED
    with pytest.raises(RecordMissing):
        async with sessionmaker.begin() as session:
            await session.execute(update(Item).values(status=ItemStatus.REJECTED))
    async with sessionmaker() as session:
        assert (await session.get(Item, item.id)).status == ItemStatus.SUBMITTED  # type: ignore[union-attr]


async def test_pinning_a_call_to_a_media_node_is_not_a_contact_event(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    start = datetime.now(UTC)
    async with record_transaction(sessionmaker, log, STAFF) as work:
        supervisor = await make_user(work.session, family.centre_id, Role.SUPERVISOR)
        call = Call(
            family_id=family.id,
            supervisor_id=supervisor.id,
            scheduled_by=supervisor.id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
        )
        work.session.add(call)
        await work.session.flush()
        await work.record(family.id, rf.EventKind.CALL_SCHEDULED, {"call_id": call.id})
    async with sessionmaker.begin() as session:
        loaded = await session.get(Call, call.id)
        assert loaded is not None
        loaded.media_node = "node-a"


async def test_event_rolled_back_with_its_savepoint_does_not_excuse_the_change(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    with pytest.raises(RecordMissing):
        async with sessionmaker.begin() as session:
            await _item(session, family)
            savepoint = await session.begin_nested()
            await log.append(session, family.id, rf.EventKind.ITEM_SUBMITTED, {}, STAFF)
            await savepoint.rollback()


async def test_unknown_kind_and_float_payload_are_refused(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog(KeyRingPayloadSealer(keyring))
    async with sessionmaker.begin() as session:
        with pytest.raises(RecordError):
            await log.append(session, family.id, "item_teleported", {}, STAFF)
        with pytest.raises(rf.RecordFormatError):
            await log.append(session, family.id, rf.EventKind.CALL_ENDED, {"minutes": 1.5}, STAFF)


async def test_sealed_payload_values_are_not_stored_in_the_clear(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    sealer = KeyRingPayloadSealer(keyring)
    log = RecordLog(sealer)
    async with sessionmaker.begin() as session:
        await log.append(
            session,
            family.id,
            rf.EventKind.CALL_ENDED,
            {"reason": Sealed("Dad mentioned Greenfield Primary"), "minutes": 30},
            STAFF,
        )
    (stored,) = await _events(sessionmaker)
    assert "Greenfield" not in stored.payload
    assert set(rf.parse_canonical(stored.payload)["reason"]) == {"$sealed"}
    async with sessionmaker() as session:
        revealed = await reveal_payload(session, stored, sealer)
    assert revealed == {"reason": "Dad mentioned Greenfield Primary", "minutes": 30}


async def test_shredding_the_family_key_erases_sealed_values(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    sealer = KeyRingPayloadSealer(keyring)
    async with sessionmaker.begin() as session:
        await RecordLog(sealer).append(
            session, family.id, rf.EventKind.CALL_ENDED, {"reason": Sealed("secret")}, STAFF
        )
        await keyring.shred(session, family.id)
    (stored,) = await _events(sessionmaker)
    async with sessionmaker() as session:
        assert await reveal_payload(session, stored, sealer) == {"reason": ERASED}


async def test_event_times_never_go_backwards_within_a_family(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    late = datetime(2030, 1, 1, tzinfo=UTC)
    early = datetime(2029, 1, 1, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        await RecordLog(clock=lambda: late).append(session, family.id, "call_joined", {}, STAFF)
        await RecordLog(clock=lambda: early).append(session, family.id, "call_left", {}, STAFF)
    first, second = await _events(sessionmaker)
    assert second.at == first.at == late


# --- the signing key and checkpoints -------------------------------------------------


async def test_signing_key_is_made_once_with_its_private_half_sealed(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    async with sessionmaker.begin() as session:
        first = await load_or_create_signer(session, keyring)
    async with sessionmaker.begin() as session:
        second = await load_or_create_signer(session, keyring)
        row = await session.get(CentreKey, "record-signing")
    assert first.public_key == second.public_key
    assert row is not None
    assert first.private_key.private_bytes_raw() not in bytes(row.private_key_sealed)
    with pytest.raises(SigningKeyError):
        async with sessionmaker.begin() as session:
            await load_or_create_signer(session, new_keyring())


async def test_swapped_public_key_does_not_open(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    async with sessionmaker.begin() as session:
        await load_or_create_signer(session, keyring)
        row = await session.get(CentreKey, "record-signing")
        assert row is not None
        row.public_key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(SigningKeyError):
        async with sessionmaker.begin() as session:
            await load_or_create_signer(session, keyring)


async def test_checkpoint_signs_the_family_head_and_must_extend_the_previous_one(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    family = await _family(sessionmaker, keyring)
    log = RecordLog()
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, keyring)
        for _ in range(3):
            await log.append(session, family.id, "call_joined", {}, STAFF)
        checkpoint = await make_checkpoint(session, family.id, signer)
    note = rf.verify_signed_note(checkpoint.signed_note, signer.public_key)
    assert note.checkpoint.size == 3
    assert note.checkpoint.case_reference == family.case_reference
    assert checkpoint.key_fingerprint == signer.fingerprint
    async with sessionmaker.begin() as session:
        await log.append(session, family.id, "call_left", {}, STAFF)
        assert (await make_checkpoint(session, family.id, signer)).size == 4
    # Rewrite history under the checkpoint: the next checkpoint is refused.
    async with sessionmaker.begin() as session:
        await session.execute(
            update(RecordEvent)
            .where(RecordEvent.family_id == family.id, RecordEvent.family_seq == 2)
            .values(kind="call_left")
        )
    with pytest.raises(CheckpointInconsistent):
        async with sessionmaker.begin() as session:
            await make_checkpoint(session, family.id, signer)


async def test_periodic_checkpoints_cover_only_families_with_new_events(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: KeyRing
) -> None:
    quiet = await _family(sessionmaker, keyring)
    busy = await _family(sessionmaker, keyring)
    log = RecordLog()
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, keyring)
        await log.append(session, quiet.id, "call_joined", {}, STAFF)
        await log.append(session, busy.id, "call_joined", {}, STAFF)
        assert {
            c.family_id for c in await checkpoint_families_with_new_events(session, signer)
        } == {
            quiet.id,
            busy.id,
        }
        await log.append(session, busy.id, "call_left", {}, STAFF)
        made = await checkpoint_families_with_new_events(session, signer)
        assert [(c.family_id, c.size) for c in made] == [(busy.id, 2)]
        assert await checkpoint_families_with_new_events(session, signer) == []
    async with sessionmaker() as session:
        assert len((await session.scalars(select(RecordCheckpoint))).all()) == 3


async def test_checkpoint_loop_makes_the_signing_key_and_checkpoints_grown_families(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    database_url: str,
    tmp_path: Path,
) -> None:
    family = await _family(sessionmaker, keyring)
    async with sessionmaker.begin() as session:
        await RecordLog().append(session, family.id, "call_joined", {}, STAFF)
    app = web.Application()
    app[appkeys.SETTINGS] = make_settings(database_url, tmp_path, checkpoint_interval_seconds="1")
    app[appkeys.SESSIONMAKER] = sessionmaker
    app[appkeys.KEYRING] = keyring
    loop = checkpoint_loop(app)
    await anext(loop)
    try:
        async with asyncio.timeout(60):
            while True:
                async with sessionmaker() as session:
                    made = (await session.scalars(select(RecordCheckpoint))).all()
                if made:
                    break
                await asyncio.sleep(0.05)
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(loop)
    assert [(c.family_id, c.size) for c in made] == [(family.id, 1)]
    async with sessionmaker() as session:
        assert await session.get(CentreKey, "record-signing") is not None
        # Each round is also a link of the centre's chain (and one more on the way down).
        centre = (await session.scalars(select(CentreCheckpoint.seq))).all()
    assert centre and centre == list(range(1, len(centre) + 1))
