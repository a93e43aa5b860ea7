"""What each role sees first after signing in. Read-only, from the real tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.calls import ParentCall, calls_for_parent
from service.centre.search import (
    FamilySearch,
    FamilySearchInput,
    court_order_reference,
    find_families,
)
from service.http.access import Actor
from service.letterbox import (
    ConversationEntry,
    Draft,
    QueueSummary,
    family_conversation,
    load_draft,
    queue_summary,
)
from service.services import Services
from storage.children import names_by_family, open_children
from storage.models import (
    AccountStatus,
    Call,
    CallStatus,
    Channel,
    ContactLevel,
    Direction,
    Family,
    FamilySender,
    FamilyStatus,
    GiftStatus,
    Item,
    ItemKind,
    ItemStatus,
    ObservationNote,
    OpeningSession,
    PhysicalGift,
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
    Role.TRANSLATOR: "/translator",
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
        names = names_by_family(await open_children(session, services.keyring, family_ids=ids))
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
    court_order_reference: str | None = None


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
                family.id,
                family.case_reference,
                family.contact_level,
                family.status,
                expires_at,
                await court_order_reference(session, services.keyring, family.id),
            )
        return sorted(latest.values(), key=lambda f: f.case_reference)


# --- the working day: staff, supervisor and admin homes ----------------------------------

UPCOMING_DAYS = 14
NOTES_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    child_name: str
    staff_name: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class ReadyToOpen:
    """A family with approved letters the child has not opened yet: a session to run."""

    family_id: uuid.UUID
    case_reference: str
    children: str
    items: int


@dataclass(frozen=True)
class GiftWaiting:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    children: str
    status: GiftStatus
    received_at: datetime


@dataclass(frozen=True)
class StaffHome:
    queue: QueueSummary
    sessions: list[SessionRow]
    ready_to_open: list[ReadyToOpen]
    gifts: list[GiftWaiting]
    families: FamilySearch


async def _children_names(
    services: Services, session: AsyncSession, centre_id: uuid.UUID
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Each family's children's names joined, and each child's name, opened with the keys."""
    children = await open_children(session, services.keyring, centre_id=centre_id)
    joined = {f: " and ".join(n) for f, n in names_by_family(children).items()}
    return joined, {c.id: c.name for c in children}


def _start_of_today(services: Services, now: datetime) -> datetime:
    local = now.astimezone(services.settings.zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def staff_home(services: Services, actor: Actor, search: str = "") -> StaffHome:
    """The support worker's day: the queue, today's opening sessions and families with
    letters ready to open, gifts waiting, and the families (searchable)."""
    now = datetime.now(UTC)
    today = _start_of_today(services, now)
    async with services.sessionmaker() as session:
        names, child_names = await _children_names(services, session, actor.centre_id)
        sessions = await session.execute(
            select(OpeningSession, Family.case_reference, User.display_name)
            .join(Family, Family.id == OpeningSession.family_id)
            .join(User, User.id == OpeningSession.staff_id)
            .where(
                Family.centre_id == actor.centre_id,
                or_(OpeningSession.ended_at.is_(None), OpeningSession.started_at >= today),
            )
            .order_by(OpeningSession.ended_at.is_not(None), OpeningSession.started_at.desc())
        )
        session_rows = [
            SessionRow(
                o.id,
                o.family_id,
                ref,
                child_names.get(o.child_id, ""),
                staff,
                o.started_at,
                o.ended_at,
            )
            for o, ref, staff in sessions
        ]
        ready = await session.execute(
            select(Family.id, Family.case_reference, func.count())
            .join(Item, Item.family_id == Family.id)
            .where(
                Family.centre_id == actor.centre_id,
                Family.status == FamilyStatus.ACTIVE,
                Item.direction == Direction.TO_CHILD,
                Item.status == ItemStatus.APPROVED,
            )
            .group_by(Family.id, Family.case_reference)
            .order_by(Family.case_reference)
        )
        ready_rows = [ReadyToOpen(f, ref, names.get(f, ""), int(n)) for f, ref, n in ready]
        gifts = await session.execute(
            select(PhysicalGift, Family.case_reference)
            .join(Family, Family.id == PhysicalGift.family_id)
            .where(
                Family.centre_id == actor.centre_id,
                PhysicalGift.status.in_([GiftStatus.RECEIVED, GiftStatus.CHECKED]),
            )
            .order_by(PhysicalGift.received_at)
        )
        gift_rows = [
            GiftWaiting(g.id, g.family_id, ref, names.get(g.family_id, ""), g.status, g.received_at)
            for g, ref in gifts
        ]
    return StaffHome(
        queue=await queue_summary(services, actor),
        sessions=session_rows,
        ready_to_open=ready_rows,
        gifts=gift_rows,
        families=await find_families(services, actor, FamilySearchInput(search)),
    )


@dataclass(frozen=True)
class CallRow:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    child_name: str
    starts_at: datetime
    ends_at: datetime
    status: CallStatus
    supervisor_name: str
    mine: bool
    joinable: bool


@dataclass(frozen=True)
class NoteToWrite:
    call_id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    child_name: str
    ended_at: datetime


@dataclass(frozen=True)
class SupervisorHome:
    today: list[CallRow]
    upcoming: list[CallRow]
    notes_to_write: list[NoteToWrite]


async def supervisor_home(services: Services, actor: Actor) -> SupervisorHome:
    """Today's calls (the supervisor's own first) with Join, the next two weeks', and the
    supervised calls that ended without an observation note."""
    now = datetime.now(UTC)
    today = _start_of_today(services, now)
    tomorrow = _start_of_today(services, today + timedelta(hours=36))
    everyone = actor.role is Role.ADMIN
    async with services.sessionmaker() as session:
        names, child_names = await _children_names(services, session, actor.centre_id)
        rows = await session.execute(
            select(Call, Family.case_reference, User.display_name)
            .join(Family, Family.id == Call.family_id)
            .join(User, User.id == Call.supervisor_id)
            .where(
                Family.centre_id == actor.centre_id,
                Call.ends_at > today,
                Call.starts_at < today + timedelta(days=UPCOMING_DAYS),
                Call.status != CallStatus.CANCELLED,
            )
            .order_by(Call.starts_at)
        )
        calls = [
            CallRow(
                c.id,
                c.family_id,
                ref,
                (child_names.get(c.child_id, "") if c.child_id else "")
                or names.get(c.family_id, ""),
                c.starts_at,
                c.ends_at,
                c.status,
                supervisor,
                c.supervisor_id == actor.user_id,
                c.status in (CallStatus.SCHEDULED, CallStatus.LIVE) and c.ends_at > now,
            )
            for c, ref, supervisor in rows
        ]
        noted = select(ObservationNote.call_id).where(ObservationNote.call_id.is_not(None))
        ended = select(Call, Family.case_reference).join(Family, Family.id == Call.family_id)
        ended = ended.where(
            Family.centre_id == actor.centre_id,
            Family.contact_level == ContactLevel.SUPERVISED,
            Call.status == CallStatus.ENDED,
            Call.ends_at > now - timedelta(days=NOTES_LOOKBACK_DAYS),
            Call.id.not_in(noted),
        )
        if not everyone:
            ended = ended.where(Call.supervisor_id == actor.user_id)
        notes = [
            NoteToWrite(
                c.id,
                c.family_id,
                ref,
                (child_names.get(c.child_id, "") if c.child_id else "")
                or names.get(c.family_id, ""),
                c.ended_at or c.ends_at,
            )
            for c, ref in await session.execute(ended.order_by(Call.ends_at))
        ]
    todays = sorted(
        (c for c in calls if c.starts_at < tomorrow), key=lambda c: (not c.mine, c.starts_at)
    )
    upcoming = [c for c in calls if c.starts_at >= tomorrow and (everyone or c.mine)]
    return SupervisorHome(todays, upcoming, notes)


@dataclass(frozen=True)
class AdminHome:
    dashboard: AdminDashboard
    staff: StaffHome
    supervisor: SupervisorHome


async def admin_home(services: Services, actor: Actor, search: str = "") -> AdminHome:
    """Everything staff and supervisors see, with the centre's counts on top."""
    return AdminHome(
        dashboard=await admin_dashboard(services, actor),
        staff=await staff_home(services, actor, search),
        supervisor=await supervisor_home(services, actor),
    )
