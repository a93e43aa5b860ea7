"""What each role sees first after signing in. Read-only, from the real tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from service.calls import ParentCall, calls_for_parent
from service.http.access import Actor
from service.letterbox import ConversationEntry, Draft, family_conversation, load_draft
from service.services import Services
from storage.models import (
    AccountStatus,
    Call,
    CallStatus,
    Channel,
    Child,
    ContactLevel,
    Direction,
    Family,
    FamilySender,
    FamilyStatus,
    Item,
    ItemKind,
    ItemStatus,
    Referral,
    ReferralStatus,
    ReferrerAccess,
    Role,
    User,
)

HOME_PATHS = {
    Role.ADMIN: "/admin",
    Role.STAFF: "/staff",
    Role.SUPERVISOR: "/supervisor",
    Role.PARENT: "/letterbox",
    Role.REFERRER: "/referrer",
    Role.INTERPRETER: "/interpreter",
}

IN_REVIEW = (ItemStatus.SUBMITTED, ItemStatus.IN_REVIEW, ItemStatus.AWAITING_SECOND_APPROVAL)


def home_path(role: Role) -> str:
    """Where a user lands after signing in."""
    return HOME_PATHS[role]


@dataclass(frozen=True)
class AdminDashboard:
    referrals_waiting: int
    active_families: int
    paused_families: int
    centre_accounts: int
    invited_accounts: int
    items_in_review: int


async def admin_dashboard(services: Services, actor: Actor) -> AdminDashboard:
    async with services.sessionmaker() as session:

        async def count(query: object) -> int:
            return int(await session.scalar(query) or 0)  # type: ignore[call-overload]

        families = (
            select(func.count()).select_from(Family).where(Family.centre_id == actor.centre_id)
        )
        staff = (
            select(func.count())
            .select_from(User)
            .where(
                User.centre_id == actor.centre_id,
                User.role.in_([Role.ADMIN, Role.STAFF, Role.SUPERVISOR]),
            )
        )
        return AdminDashboard(
            referrals_waiting=await count(
                select(func.count())
                .select_from(Referral)
                .where(
                    Referral.centre_id == actor.centre_id,
                    Referral.status == ReferralStatus.RECEIVED,
                )
            ),
            active_families=await count(families.where(Family.status == FamilyStatus.ACTIVE)),
            paused_families=await count(families.where(Family.status == FamilyStatus.PAUSED)),
            centre_accounts=await count(staff.where(User.status == AccountStatus.ACTIVE)),
            invited_accounts=await count(staff.where(User.status == AccountStatus.INVITED)),
            items_in_review=await count(
                select(func.count())
                .select_from(Item)
                .join(Family, Family.id == Item.family_id)
                .where(Family.centre_id == actor.centre_id, Item.status.in_(IN_REVIEW))
            ),
        )


@dataclass(frozen=True)
class QueueEntry:
    id: uuid.UUID
    case_reference: str
    kind: ItemKind
    direction: Direction
    status: ItemStatus
    submitted_at: datetime


@dataclass(frozen=True)
class StaffQueue:
    count: int
    entries: list[QueueEntry]


async def staff_queue(services: Services, actor: Actor, limit: int = 50) -> StaffQueue:
    """Items waiting for moderation, oldest first (the moderation pages build on this)."""
    async with services.sessionmaker() as session:
        where = (Family.centre_id == actor.centre_id, Item.status.in_(IN_REVIEW))
        total = await session.scalar(
            select(func.count())
            .select_from(Item)
            .join(Family, Family.id == Item.family_id)
            .where(*where)
        )
        rows = await session.execute(
            select(Item, Family.case_reference)
            .join(Family, Family.id == Item.family_id)
            .where(*where)
            .order_by(Item.submitted_at)
            .limit(limit)
        )
        return StaffQueue(
            count=int(total or 0),
            entries=[
                QueueEntry(i.id, ref, i.kind, i.direction, i.status, i.submitted_at)
                for i, ref in rows
            ],
        )


@dataclass(frozen=True)
class CallToday:
    id: uuid.UUID
    case_reference: str
    contact_level: ContactLevel
    starts_at: datetime
    ends_at: datetime
    status: CallStatus
    supervisor_name: str
    mine: bool


async def calls_today(
    services: Services, actor: Actor, now: datetime | None = None
) -> list[CallToday]:
    """The centre's calls of the day (UTC), the supervisor's own first."""
    now = now or datetime.now(UTC)
    start = datetime.combine(now.date(), time(0), tzinfo=UTC)
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(Call, Family.case_reference, Family.contact_level, User.display_name)
            .join(Family, Family.id == Call.family_id)
            .join(User, User.id == Call.supervisor_id)
            .where(
                Family.centre_id == actor.centre_id,
                Call.starts_at < start + timedelta(days=1),
                Call.ends_at > start,
            )
            .order_by(Call.starts_at)
        )
        calls = [
            CallToday(
                c.id,
                ref,
                level,
                c.starts_at,
                c.ends_at,
                c.status,
                name,
                c.supervisor_id == actor.user_id,
            )
            for c, ref, level, name in rows
        ]
    return sorted(calls, key=lambda c: (not c.mine, c.starts_at))


@dataclass(frozen=True)
class LetterboxFamily:
    id: uuid.UUID
    children: list[str]
    status: FamilyStatus
    channels: list[str]
    may_write: bool
    may_send_photos: bool
    next_call: ParentCall | None
    conversation: list[ConversationEntry]
    draft: Draft | None

    @property
    def children_text(self) -> str:
        if not self.children:
            return "your family"
        if len(self.children) == 1:
            return self.children[0]
        return ", ".join(self.children[:-1]) + " and " + self.children[-1]


@dataclass(frozen=True)
class Letterbox:
    families: list[LetterboxFamily]
    calls: list[ParentCall]


async def parent_letterbox(services: Services, actor: Actor) -> Letterbox:
    """The parent's home: per family, what they may send, the next call and one
    conversation (what they sent and the children's delivered replies, newest first)."""
    async with services.sessionmaker() as session:
        families = (
            await session.scalars(
                select(Family)
                .join(FamilySender, FamilySender.family_id == Family.id)
                .where(FamilySender.user_id == actor.user_id, FamilySender.approved.is_(True))
                .order_by(Family.created_at)
            )
        ).all()
        ids = [f.id for f in families]
        children = await session.execute(
            select(Child.family_id, Child.name)
            .where(Child.family_id.in_(ids))
            .order_by(Child.birth_year)
        )
        names: dict[uuid.UUID, list[str]] = {}
        for family_id, name in children:
            names.setdefault(family_id, []).append(name)
    calls = await calls_for_parent(services, actor)
    views = []
    for f in families:
        channels = list(f.channels or [])
        active = f.status is FamilyStatus.ACTIVE
        upcoming = [c for c in calls if c.family_id == f.id and c.upcoming]
        views.append(
            LetterboxFamily(
                id=f.id,
                children=names.get(f.id, []),
                status=f.status,
                channels=channels,
                may_write=active and Channel.LETTERS.value in channels,
                may_send_photos=active
                and Channel.LETTERS.value in channels
                and Channel.PHOTOS.value in channels,
                next_call=upcoming[0] if upcoming else None,
                conversation=await family_conversation(services, actor, f.id),
                draft=await load_draft(services, actor, f.id),
            )
        )
    return Letterbox(families=views, calls=calls)


@dataclass(frozen=True)
class ReferredFamily:
    family_id: uuid.UUID
    case_reference: str
    contact_level: ContactLevel
    status: FamilyStatus
    expires_at: datetime


async def referrer_families(services: Services, actor: Actor) -> list[ReferredFamily]:
    now = datetime.now(UTC)
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(ReferrerAccess.expires_at, Family)
            .join(Family, Family.id == ReferrerAccess.family_id)
            .where(ReferrerAccess.user_id == actor.user_id, ReferrerAccess.expires_at > now)
            .order_by(ReferrerAccess.expires_at)
        )
        latest: dict[uuid.UUID, ReferredFamily] = {}
        for expires_at, family in rows:
            latest[family.id] = ReferredFamily(
                family.id, family.case_reference, family.contact_level, family.status, expires_at
            )
        return sorted(latest.values(), key=lambda f: f.case_reference)
