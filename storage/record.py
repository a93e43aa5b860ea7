"""The family record: appending events, guarding transactions, checkpoints, verification.

Every contact event is appended with `RecordLog.append` in the *caller's* transaction, so it
commits or rolls back with the change it describes. A session made by a guarded sessionmaker
(`install_record_guard`) refuses to commit a change to a contact-event table unless an event
for the same family was appended in the same transaction; `record_transaction` gives domain
code a session and a writer bound together. See docs/record.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table, event, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage import recordformat as rf
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import (
    Call,
    CentreKey,
    Family,
    Item,
    ItemOpening,
    ModerationDecision,
    ObservationNote,
    OpeningSession,
    PhysicalGift,
    RecordCheckpoint,
    RecordEvent,
    RecordHead,
)
from storage.stream import open_bytes, seal_bytes

__all__ = [
    "SIGNING_KEY_NAME",
    "Actor",
    "CheckpointInconsistent",
    "KeyRingPayloadSealer",
    "PayloadSealer",
    "Problem",
    "RecordError",
    "RecordGuardedSession",
    "RecordLog",
    "RecordMissing",
    "RecordSigner",
    "RecordedWork",
    "Sealed",
    "SigningKeyError",
    "StaticKeyPayloadSealer",
    "VerifyReport",
    "checkpoint_families_with_new_events",
    "checkpoint_task",
    "family_chain",
    "install_record_guard",
    "load_or_create_signer",
    "load_public_key",
    "make_checkpoint",
    "record_transaction",
    "reveal_payload",
    "to_record",
    "verify_database",
]

log = logging.getLogger(__name__)

SIGNING_KEY_NAME: Final = "record-signing"
NOTE_KEY_NAME: Final = "letterbox-record"
SEALED_MARK: Final = "$sealed"
_PAYLOAD_PURPOSE: Final = "record-payload"
_GLOBAL_SCOPE: Final = "global"
_APPENDED: Final = "letterbox.record.appended"  # session.info: {seq: family_id}
_TOUCHED: Final = "letterbox.record.touched"  # session.info: {family_id}
_TOUCHED_ITEMS: Final = "letterbox.record.touched_items"  # session.info: {item_id}
_BULK: Final = "letterbox.record.bulk"  # session.info: bulk DML on a contact table


class RecordError(StorageError):
    """A failure of the family record."""


class RecordMissing(RecordError):
    """A contact change was about to commit without its record event."""


class CheckpointInconsistent(RecordError):
    """A new checkpoint does not extend the previous one: the chain was rewritten."""


class SigningKeyError(RecordError):
    """The centre's record-signing key is missing, or does not open under the master key."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: a user and the role they acted in, or the system (``id=None``)."""

    id: uuid.UUID | None
    role: str

    def __post_init__(self) -> None:
        if self.role not in rf.ACTOR_ROLES:
            raise RecordError(f"actor role {self.role!r} is not one of {sorted(rf.ACTOR_ROLES)}")

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")


@dataclass(frozen=True, slots=True)
class Sealed:
    """A payload value holding personal data: stored sealed under the family key.

    ``{"reason": Sealed("Parent used the child's new surname")}`` is stored as
    ``{"reason": {"$sealed": "<base64>"}}``; the chain hashes the sealed form, so shredding the
    family key erases the value and the record still verifies.
    """

    value: Any = field(repr=False)


# --- payload sealing -----------------------------------------------------------------


class PayloadSealer(Protocol):
    """Seals and opens payload values under a family's key."""

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        """Ciphertext of ``plaintext`` under the family's key, bound to the family."""
        ...

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        """The plaintext; raises (e.g. `storage.keyring.FamilyShredded`) when it cannot."""
        ...


@dataclass(frozen=True)
class KeyRingPayloadSealer:
    """The production sealer: the family key from the key ring (wrapped under the master key)."""

    keyring: KeyRing

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        return await self.keyring.seal_for_family(session, family_id, plaintext, _PAYLOAD_PURPOSE)

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        return await self.keyring.open_for_family(session, family_id, sealed, _PAYLOAD_PURPOSE)


@dataclass(frozen=True)
class StaticKeyPayloadSealer:
    """AES-256-GCM (the chunked stream format) under given 32-byte family keys."""

    keys: Mapping[uuid.UUID, bytes] = field(repr=False)

    def _key(self, family_id: uuid.UUID) -> bytes:
        try:
            return self.keys[family_id]
        except KeyError:
            raise RecordError(f"no payload key for family {family_id}") from None

    async def seal(self, session: AsyncSession, family_id: uuid.UUID, plaintext: bytes) -> bytes:
        return seal_bytes(self._key(family_id), _PAYLOAD_PURPOSE, str(family_id), plaintext)

    async def open(self, session: AsyncSession, family_id: uuid.UUID, sealed: bytes) -> bytes:
        return open_bytes(self._key(family_id), _PAYLOAD_PURPOSE, str(family_id), sealed)


async def _seal_payload(
    value: Any, seal: Callable[[bytes], Awaitable[bytes]] | None, depth: int = 0
) -> Any:
    if depth > 16:
        raise RecordError("payload nested too deeply")
    if isinstance(value, Sealed):
        if seal is None:
            raise RecordError("payload holds a Sealed value but the record log has no sealer")
        sealed = await seal(rf.canonical_json(value.value))
        return {SEALED_MARK: base64.b64encode(sealed).decode("ascii")}
    if isinstance(value, Mapping):
        if SEALED_MARK in value:
            raise RecordError(f"{SEALED_MARK!r} is reserved for sealed values")
        return {k: await _seal_payload(v, seal, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await _seal_payload(v, seal, depth + 1) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return rf.format_time(value)
    return value


ERASED: Final = "[erased: family key destroyed]"


async def open_payload(
    session: AsyncSession, family_id: uuid.UUID, payload: Any, sealer: PayloadSealer
) -> Any:
    """``payload`` (already parsed) with its sealed values opened; after crypto-shredding
    they read as `ERASED`. Payloads without a sealed value are returned as they are, which
    keeps a 10,000-event export cheap."""

    async def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {SEALED_MARK} and isinstance(value[SEALED_MARK], str):
                try:
                    raw = base64.b64decode(value[SEALED_MARK], validate=True)
                    return rf.parse_canonical(await sealer.open(session, family_id, raw))
                except (StorageError, binascii.Error, rf.RecordFormatError):
                    return ERASED
            return {k: await walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await walk(v) for v in value]
        return value

    if not _has_sealed(payload):
        return payload
    return await walk(payload)


def _has_sealed(value: Any) -> bool:
    if isinstance(value, dict):
        return SEALED_MARK in value or any(_has_sealed(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_sealed(v) for v in value)
    return False


async def reveal_payload(
    session: AsyncSession, event: RecordEvent, sealer: PayloadSealer
) -> dict[str, Any]:
    """The payload with sealed values opened; after shredding they read as `ERASED`."""
    payload = await open_payload(
        session, event.family_id, rf.parse_canonical(event.payload), sealer
    )
    assert isinstance(payload, dict)  # noqa: S101 - payloads are objects by construction
    return payload


# --- appending -----------------------------------------------------------------------


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
        actor: Actor,
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
            assert sealer is not None  # noqa: S101 - checked by _seal_payload
            return await sealer.seal(session, family_id, plaintext)

        stored_payload = await _seal_payload(dict(payload), seal if sealer else None)
        payload_text = rf.canonical_json(stored_payload).decode("utf-8")

        global_seq, _ = await _lock_head(session, _GLOBAL_SCOPE)
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
            .where(heads.c.scope == _GLOBAL_SCOPE)
            .values(last_seq=record.seq, last_hash=record.event_hash)
        )
        await session.execute(
            update(heads)
            .where(heads.c.scope == f"family:{family_id}")
            .values(last_seq=record.family_seq, last_hash=record.event_hash)
        )
        await session.flush()
        session.info.setdefault(_APPENDED, {})[record.seq] = family_id
        return row


# --- the guard: no contact change without its record event ----------------------------

# Contact-event tables: how to find the family, and columns whose change is not an event.
_DIRECT: Final[dict[type[Any], frozenset[str]]] = {
    Item: frozenset({"idempotency_fingerprint"}),
    OpeningSession: frozenset({"device_token_hash"}),
    ObservationNote: frozenset(),
    PhysicalGift: frozenset(),
    Call: frozenset({"media_node"}),  # pinning a call to a media node is plumbing
}
_VIA_ITEM: Final[tuple[type[Any], ...]] = (ModerationDecision, ItemOpening)
_GUARDED_TABLES: Final = frozenset(m.__tablename__ for m in (*_DIRECT, *_VIA_ITEM))


class RecordGuardedSession(Session):
    """A session that refuses to commit contact changes without their record events."""


def _significant_change(obj: Any, exempt: frozenset[str]) -> bool:
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in exempt:
            continue
        if state.attrs[attr.key].history.has_changes():
            return True
    return False


@event.listens_for(RecordGuardedSession, "before_flush")
def _collect_touched(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    touched: set[uuid.UUID] = session.info.setdefault(_TOUCHED, set())
    items: set[uuid.UUID] = session.info.setdefault(_TOUCHED_ITEMS, set())
    for obj in (*session.new, *session.deleted, *session.dirty):
        kind = type(obj)
        if kind in _DIRECT:
            if obj in session.dirty and not _significant_change(obj, _DIRECT[kind]):
                continue
            if obj.family_id is not None:
                touched.add(obj.family_id)
        elif isinstance(obj, _VIA_ITEM):
            if obj in session.dirty and not _significant_change(obj, frozenset()):
                continue
            if obj.item_id is not None:
                items.add(obj.item_id)


@event.listens_for(RecordGuardedSession, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    # A bulk UPDATE/DELETE/INSERT names no family; insist on at least one event instead.
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _GUARDED_TABLES:
            state.session.info[_BULK] = True


@event.listens_for(RecordGuardedSession, "before_commit")
def _check_before_commit(session: Session) -> None:
    session.flush()  # the last pending changes must be seen by the check
    check_recorded(session)


@event.listens_for(RecordGuardedSession, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        for key in (_APPENDED, _TOUCHED, _TOUCHED_ITEMS, _BULK):
            session.info.pop(key, None)


def check_recorded(session: Session) -> None:
    """Raise `RecordMissing` if a contact table changed for a family with no event appended."""
    touched: set[uuid.UUID] = set(session.info.get(_TOUCHED, ()))
    items: set[uuid.UUID] = set(session.info.get(_TOUCHED_ITEMS, ()))
    claimed: dict[int, uuid.UUID] = dict(session.info.get(_APPENDED, {}))
    bulk = bool(session.info.get(_BULK))
    if not (touched or items or bulk):
        return
    with session.no_autoflush:
        if items:
            rows = session.execute(select(Item.family_id).where(Item.id.in_(items))).scalars()
            touched.update(rows)
        # Only events still present count: a rolled-back savepoint takes its events with it.
        recorded = (
            set(
                session.execute(
                    select(RecordEvent.family_id).where(RecordEvent.seq.in_(list(claimed)))
                ).scalars()
            )
            if claimed
            else set()
        )
    missing = touched - recorded
    if missing:
        names = ", ".join(sorted(str(f) for f in missing))
        raise RecordMissing(
            f"contact change for family {names} has no record event in the same transaction; "
            "append one with RecordLog.append (or work.record) before committing"
        )
    if bulk and not recorded:
        raise RecordMissing(
            "a bulk change to a contact-event table has no record event in the same transaction"
        )


def install_record_guard(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Make every session of ``sessionmaker`` refuse contact changes without record events."""
    sessionmaker.configure(sync_session_class=RecordGuardedSession)


@dataclass
class RecordedWork:
    """A transaction and its record writer: domain functions take this, not a bare session."""

    session: AsyncSession
    log: RecordLog
    actor: Actor
    events: list[RecordEvent] = field(default_factory=list)

    async def record(
        self,
        family_id: uuid.UUID,
        kind: rf.EventKind | str,
        payload: Mapping[str, Any],
        *,
        actor: Actor | None = None,
    ) -> RecordEvent:
        event_row = await self.log.append(
            self.session, family_id, kind, payload, actor or self.actor
        )
        self.events.append(event_row)
        return event_row


@asynccontextmanager
async def record_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], log: RecordLog, actor: Actor
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


# --- the signing key -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordSigner:
    """The centre's Ed25519 record-signing key, opened for this process."""

    private_key: Ed25519PrivateKey = field(repr=False)
    name: str = NOTE_KEY_NAME

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def fingerprint(self) -> str:
        return rf.key_fingerprint(self.public_key)

    def sign_note(self, checkpoint: rf.Checkpoint) -> str:
        return rf.make_signed_note(checkpoint, self.name, self.private_key)


def _purpose(public_key: bytes) -> str:
    # Binding the public key into the sealed private half: a swapped public_key column makes
    # the private half fail to open, so the stored public key is authenticated by the master key.
    return f"centre-key/{SIGNING_KEY_NAME}/{rf.key_fingerprint(public_key)}"


async def load_or_create_signer(session: AsyncSession, keyring: KeyRing) -> RecordSigner:
    """The record-signing key, generated on first start (the private half sealed)."""
    row = await session.get(CentreKey, SIGNING_KEY_NAME)
    if row is None:
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes_raw()
        values = {
            "name": SIGNING_KEY_NAME,
            "master_key_id": keyring.master.key_id,
            "public_key": public,
            "private_key_sealed": keyring.seal_for_centre(
                private.private_bytes_raw(), _purpose(public)
            ),
            "created_at": datetime.now(UTC),
        }
        dialect = session.get_bind().dialect.name
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two nodes starting at once: one key wins, both use it.
        await session.execute(insert_(CentreKey).values(values).on_conflict_do_nothing())
        row = await session.get(CentreKey, SIGNING_KEY_NAME, populate_existing=True)
        assert row is not None  # noqa: S101 - inserted or already present
        log.info("record-signing key ready: %s", rf.key_fingerprint(bytes(row.public_key)))
    return _open_signer(row, keyring)


def _open_signer(row: CentreKey, keyring: KeyRing) -> RecordSigner:
    public = bytes(row.public_key)
    try:
        raw = keyring.open_for_centre(bytes(row.private_key_sealed), _purpose(public))
        private = Ed25519PrivateKey.from_private_bytes(raw)
    except (StorageError, ValueError) as exc:
        raise SigningKeyError(
            "the record-signing key does not open under this master key, or its public half "
            f"was altered ({exc})"
        ) from None
    if private.public_key().public_bytes_raw() != public:
        raise SigningKeyError(
            "the record-signing key's public half does not match its private half"
        )
    return RecordSigner(private)


async def load_public_key(session: AsyncSession, keyring: KeyRing | None = None) -> bytes:
    """The centre's public record key; authenticated against the master key when given."""
    row = await session.get(CentreKey, SIGNING_KEY_NAME)
    if row is None:
        raise SigningKeyError(
            "no record-signing key yet: it is created when the service first starts"
        )
    if keyring is not None:
        return _open_signer(row, keyring).public_key
    return bytes(row.public_key)


# --- checkpoints ---------------------------------------------------------------------


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
    and it must pass through the previous checkpoint's head at its size.
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
    session: AsyncSession, signer: RecordSigner
) -> list[RecordCheckpoint]:
    """One checkpoint for every family whose record grew since its last checkpoint."""
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
    for family_id in sorted(grown.scalars()):
        made.append(await make_checkpoint(session, family_id, signer))
    return made


async def checkpoint_task(
    sessionmaker: async_sessionmaker[AsyncSession],
    signer: RecordSigner,
    interval_seconds: float,
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
        except CheckpointInconsistent:
            # Never sign over a rewritten chain; say so loudly and keep trying the others later.
            log.exception("record checkpoint refused: the record was altered")
        except Exception:
            log.exception("record checkpoint round failed; retrying next interval")
        await asyncio.sleep(interval_seconds)


# --- verification of the live database -----------------------------------------------


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
    session: AsyncSession, *, public_key: bytes | None = None, max_problems: int = 100
) -> VerifyReport:
    """Check every event hash, chain link and sequence (global and per family), the heads,
    and every stored checkpoint's signature and its place in the chain.

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
    global_size = heads.get(_GLOBAL_SCOPE, (0, b""))[0]
    checkpoints = (
        (await session.execute(select(RecordCheckpoint).order_by(RecordCheckpoint.id)))
        .scalars()
        .all()
    )
    wanted: dict[tuple[uuid.UUID | None, int], bytes | None] = {
        (c.family_id, c.size): None for c in checkpoints
    }

    families: dict[uuid.UUID, _FamilyState] = {}
    expected_seq = 1
    last_seq = 0
    beyond_head = False
    result = await session.stream(
        select(RecordEvent).order_by(RecordEvent.seq).execution_options(yield_per=2000)
    )
    async for row in result.scalars():
        report.events += 1
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
    return report
