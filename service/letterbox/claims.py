"""Claims: opening an item for review holds it for its moderator for a while.

Two moderators must never work on one item without knowing. Opening an item claims it when
nobody else holds it; a colleague who opens it then sees "Sam is reviewing this" before they
can type anything, in the queue and on the item, and may take it over only by pressing a
button that says so. A take-over is kept (the new claim names whom it was taken from) and
the moderator who lost the claim is refused, with their choices kept on the page, if they
then decide: no one loses work silently. Deciding releases the claim.

Claims are working state, not contact: they are not events of the family record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, NotFound
from service.http.access import Actor
from service.i18n import _
from service.localtime import local_time
from service.services import Services
from storage.models import Item, ItemClaim, ItemStatus, User

REVIEWABLE = frozenset({ItemStatus.IN_REVIEW, ItemStatus.AWAITING_SECOND_APPROVAL})

# Long enough to read a letter and black out its details; short enough that an item left
# open over lunch is free again.
CLAIM_MINUTES = 20


@dataclass(frozen=True)
class Claim:
    item_id: uuid.UUID
    moderator_id: uuid.UUID
    moderator_name: str
    claimed_at: datetime
    expires_at: datetime
    taken_over_from: str | None

    def held_by(self, actor: Actor) -> bool:
        return self.moderator_id == actor.user_id


@dataclass(frozen=True)
class ClaimState:
    """What the moderator opening an item is told: the claim, and whether it is theirs."""

    claim: Claim | None
    mine: bool
    # Who took the item over from whom, as sentences, oldest first.
    history: list[str] = field(default_factory=list)


def _current(now: datetime) -> ColumnElement[bool]:
    return and_(ItemClaim.released_at.is_(None), ItemClaim.expires_at > now)


async def current_claims(
    session: AsyncSession, item_ids: list[uuid.UUID], now: datetime | None = None
) -> dict[uuid.UUID, Claim]:
    """The live claim of each item that has one (for the queue)."""
    if not item_ids:
        return {}
    now = now or datetime.now(UTC)
    previous = User.__table__.alias("previous")
    rows = await session.execute(
        select(ItemClaim, User.display_name, previous.c.display_name)
        .join(User, User.id == ItemClaim.moderator_id)
        .outerjoin(previous, previous.c.id == ItemClaim.taken_over_from)
        .where(ItemClaim.item_id.in_(item_ids), _current(now))
        .order_by(ItemClaim.claimed_at)
    )
    claims: dict[uuid.UUID, Claim] = {}
    for claim, name, from_name in rows:
        # Should two be live (a clock step), the newest is the one that counts.
        claims[claim.item_id] = Claim(
            claim.item_id, claim.moderator_id, name, claim.claimed_at, claim.expires_at, from_name
        )
    return claims


async def _lock(session: AsyncSession, item_id: uuid.UUID) -> tuple[ItemStatus, uuid.UUID]:
    # The item row is the lock: two moderators opening an unclaimed item at the same moment
    # are served one after the other, so exactly one claims it.
    row = (
        await session.execute(
            select(Item.status, Item.sender_id).where(Item.id == item_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


async def _claim_for(
    session: AsyncSession, actor: Actor, item_id: uuid.UUID, now: datetime
) -> None:
    session.add(
        ItemClaim(
            id=uuid.uuid4(),
            item_id=item_id,
            moderator_id=actor.user_id,
            claimed_at=now,
            expires_at=now + timedelta(minutes=CLAIM_MINUTES),
        )
    )


async def open_for_review(services: Services, actor: Actor, item_id: uuid.UUID) -> ClaimState:
    """Claim the item for ``actor`` unless a colleague holds it; their own claim is renewed."""
    now = datetime.now(UTC)
    async with services.sessionmaker() as session, session.begin():
        status, sender_id = await _lock(session, item_id)
        held = (await current_claims(session, [item_id], now)).get(item_id)
        if held is not None and not held.held_by(actor):
            return ClaimState(held, mine=False, history=await takeovers(session, item_id))
        if status not in REVIEWABLE or sender_id == actor.user_id:
            # A decided item is only looked at; a reply the moderator typed must be approved
            # by a colleague, so looking at it must not hold them off: nothing to hold.
            return ClaimState(None, mine=True, history=await takeovers(session, item_id))
        if held is not None:
            await session.execute(
                update(ItemClaim)
                .where(ItemClaim.item_id == item_id, _current(now))
                .values(expires_at=now + timedelta(minutes=CLAIM_MINUTES))
            )
        else:
            await _claim_for(session, actor, item_id, now)
        await session.flush()
        claim = (await current_claims(session, [item_id], now))[item_id]
        return ClaimState(claim, mine=True, history=await takeovers(session, item_id))


async def take_over(services: Services, actor: Actor, item_id: uuid.UUID) -> ClaimState:
    """Take the item from whoever holds it, by an explicit press: kept with their name."""
    now = datetime.now(UTC)
    async with services.sessionmaker() as session, session.begin():
        await _lock(session, item_id)
        held = (await current_claims(session, [item_id], now)).get(item_id)
        if held is not None and held.held_by(actor):
            return ClaimState(held, mine=True, history=await takeovers(session, item_id))
        await session.execute(
            update(ItemClaim)
            .where(ItemClaim.item_id == item_id, _current(now))
            .values(released_at=now)
        )
        claim = ItemClaim(
            id=uuid.uuid4(),
            item_id=item_id,
            moderator_id=actor.user_id,
            claimed_at=now,
            expires_at=now + timedelta(minutes=CLAIM_MINUTES),
            taken_over_from=held.moderator_id if held is not None else None,
        )
        session.add(claim)
        await session.flush()
        return ClaimState(
            (await current_claims(session, [item_id], now))[item_id],
            mine=True,
            history=await takeovers(session, item_id),
        )


async def check_and_release(
    session: AsyncSession, actor: Actor, item_id: uuid.UUID, zone: tzinfo
) -> None:
    """Inside a decision's transaction (the item row already locked): refuse a moderator
    whose claim a colleague took over or who never held it while someone else does; else
    release the item's claims, since it has been decided."""
    now = datetime.now(UTC)
    held = (await current_claims(session, [item_id], now)).get(item_id)
    if held is not None and not held.held_by(actor):
        since = local_time(held.claimed_at, zone, "%H:%M")
        raise Conflict(
            _(
                "{name} has been reviewing this item since {since}, so your decision was not "
                "applied. Your choices are still on this page: talk to them, or take the item "
                "over and decide again."
            ).format(name=held.moderator_name, since=since),
            code="claimed_by_colleague",
        )
    await session.execute(
        update(ItemClaim)
        .where(ItemClaim.item_id == item_id, ItemClaim.released_at.is_(None))
        .values(released_at=now)
    )


async def takeovers(session: AsyncSession, item_id: uuid.UUID) -> list[str]:
    """Sentences for the item page: who took it over from whom."""
    previous = User.__table__.alias("previous")
    rows = await session.execute(
        select(ItemClaim.claimed_at, User.display_name, previous.c.display_name)
        .join(User, User.id == ItemClaim.moderator_id)
        .join(previous, previous.c.id == ItemClaim.taken_over_from)
        .where(ItemClaim.item_id == item_id)
        .order_by(ItemClaim.claimed_at)
    )
    return [f"{name} took this item over from {was}." for _, name, was in rows]
