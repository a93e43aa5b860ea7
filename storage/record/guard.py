"""The guard: no contact change commits without its record event.

A session made by a guarded sessionmaker (`install_record_guard`) refuses to commit a change
to a contact-event table unless an event for the same family was appended in the same
transaction (see docs/record.md).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.models import (
    Call,
    CentreVisit,
    ContactPlan,
    ContactReport,
    Item,
    ItemOpening,
    ModerationDecision,
    ObservationNote,
    OpeningSession,
    PhysicalGift,
    RecordEvent,
    RetentionRule,
    SafeguardingConcern,
    SubjectAccessRequest,
)
from storage.record.appending import APPENDED
from storage.record.errors import RecordMissing

__all__ = ["RecordGuardedSession", "check_recorded", "install_record_guard"]

_TOUCHED: Final = "letterbox.record.touched"  # session.info: {family_id}
_TOUCHED_ITEMS: Final = "letterbox.record.touched_items"  # session.info: {item_id}
_BULK: Final = "letterbox.record.bulk"  # session.info: bulk DML on a contact table

# Contact-event tables: how to find the family, and columns whose change is not an event.
_DIRECT: Final[dict[type[Any], frozenset[str]]] = {
    Item: frozenset({"idempotency_fingerprint"}),
    OpeningSession: frozenset({"device_token_hash"}),
    ObservationNote: frozenset(),
    PhysicalGift: frozenset(),
    Call: frozenset({"media_node"}),  # pinning a call to a media node is plumbing
    ContactReport: frozenset(),
    ContactPlan: frozenset(),
    CentreVisit: frozenset(),
    RetentionRule: frozenset(),
    SubjectAccessRequest: frozenset(),
    # Telling the lead and reminding the admins are e-mail plumbing, not contact changes.
    SafeguardingConcern: frozenset({"lead_told_at", "admins_reminded_at"}),
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
        for key in (APPENDED, _TOUCHED, _TOUCHED_ITEMS, _BULK):
            session.info.pop(key, None)


def check_recorded(session: Session) -> None:
    """Raise `RecordMissing` if a contact table changed for a family with no event appended."""
    touched: set[uuid.UUID] = set(session.info.get(_TOUCHED, ()))
    items: set[uuid.UUID] = set(session.info.get(_TOUCHED_ITEMS, ()))
    claimed: dict[int, uuid.UUID] = dict(session.info.get(APPENDED, {}))
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
