"""A family's case file as the centre admin keeps it: settings (contact level, channels,
status, second approval), children, approved senders (parents invited by e-mail), the
private sensitive terms, and referrers' time-limited access.

Every change is a ``family_changed`` (or ``sender_…``/``referrer_access_…``) record event
appended in the same transaction. Names and terms in those events are sealed under the
family key, so shredding the family erases them while the record still verifies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import INVITE_LIFETIME, create_user, issue_token, send_invite, user_by_email
from service.centre.referrals import ChildInput, carried_for_family, check_birth_years
from service.errors import Conflict, NotFound
from service.http.access import Actor
from service.i18n import Language
from service.schema import InvalidInput, about, items, number, text
from service.services import Services
from storage.children import (
    open_child,
    open_children,
    open_relationship,
    seal_child,
    seal_relationship,
)
from storage.models import (
    AccountStatus,
    Call,
    Channel,
    Child,
    ContactLevel,
    Family,
    FamilySender,
    FamilyStatus,
    Item,
    ObservationNote,
    OpeningSession,
    ReferrerAccess,
    Role,
    SensitiveTerm,
    TokenPurpose,
    User,
)
from storage.record import RecordedWork, Sealed
from storage.recordformat import EventKind

TERM_PURPOSE = "sensitive-term"


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilySettingsInput:
    """Change any of a family's settings; fields left out stay as they are."""

    contact_level: ContactLevel | None = field(default=None, metadata=about("Contact level"))
    channels: list[Channel] | None = field(
        default=None, metadata=items(1, 4, "Ways of keeping in touch allowed")
    )
    status: FamilyStatus | None = field(default=None, metadata=about("Active, paused or closed"))
    requires_second_approval: bool | None = field(
        default=None, metadata=about("Every item needs a second moderator's approval")
    )
    child_language: Language | None = field(
        default=None, metadata=about("The language of the child's screens at the centre")
    )


@dataclass(frozen=True)
class SensitiveTermInput:
    """A word or phrase the scanner flags in both directions: a school, new surname, street,
    town, club, the resident parent's new partner…"""

    term: str = field(metadata=text(2, 200, "Word or phrase"))


@dataclass(frozen=True)
class ParentInviteInput:
    """Invite a parent or another approved relative to send to the family's children."""

    email: str = field(metadata=text(3, 320, "E-mail address", email=True))
    display_name: str = field(metadata=text(1, 200, "Full name"))
    relationship_to_child: str = field(metadata=text(1, 100, "Relationship to the child"))


@dataclass(frozen=True)
class SenderApprovalInput:
    """Allow or stop a sender sending to the family's children."""

    approved: bool = field(metadata=about("May send"))


@dataclass(frozen=True)
class ReferrerAccessInput:
    """Read-only access for a referrer to this family's exports, for a number of days."""

    email: str = field(metadata=text(3, 320, "Their e-mail address", email=True))
    display_name: str = field(metadata=text(1, 200, "Their name"))
    days: int = field(metadata=number(1, 365, "Days of access"))


# --- views ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildView:
    id: uuid.UUID
    name: str
    birth_year: int


@dataclass(frozen=True)
class SenderView:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    email: str
    relationship_to_child: str
    approved: bool
    account_status: AccountStatus


@dataclass(frozen=True)
class TermView:
    id: uuid.UUID
    term: str


@dataclass(frozen=True)
class ReferrerAccessView:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    email: str
    granted_at: datetime
    expires_at: datetime
    active: bool


@dataclass(frozen=True)
class FamilySummary:
    id: uuid.UUID
    case_reference: str
    contact_level: ContactLevel
    channels: list[str]
    status: FamilyStatus
    requires_second_approval: bool
    created_at: datetime
    children_count: int
    senders_count: int


@dataclass(frozen=True)
class FamilyDetail:
    id: uuid.UUID
    case_reference: str
    contact_level: ContactLevel
    channels: list[str]
    status: FamilyStatus
    requires_second_approval: bool
    created_at: datetime
    children: list[ChildView]
    senders: list[SenderView]
    sensitive_terms: list[TermView]
    referrer_access: list[ReferrerAccessView]
    court_order_reference: str | None = None
    child_language: str = "en"
    # Places and names the referral's risk concerns, not yet on the family's list: offered.
    suggested_terms: list[str] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------


async def _family(
    session: AsyncSession, actor: Actor, family_id: uuid.UUID, *, lock: bool = False
) -> Family:
    query = select(Family).where(Family.id == family_id, Family.centre_id == actor.centre_id)
    family = await session.scalar(query.with_for_update() if lock else query)
    if family is None:
        raise NotFound("We could not find that family.")
    return family


async def list_families(services: Services, actor: Actor) -> list[FamilySummary]:
    async with services.sessionmaker() as session:
        children = (
            select(Child.family_id, func.count().label("n")).group_by(Child.family_id).subquery()
        )
        senders = (
            select(FamilySender.family_id, func.count().label("n"))
            .where(FamilySender.approved.is_(True))
            .group_by(FamilySender.family_id)
            .subquery()
        )
        rows = await session.execute(
            select(Family, children.c.n, senders.c.n)
            .outerjoin(children, children.c.family_id == Family.id)
            .outerjoin(senders, senders.c.family_id == Family.id)
            .where(Family.centre_id == actor.centre_id)
            .order_by(Family.status, Family.case_reference.desc())
        )
        return [
            FamilySummary(
                id=f.id,
                case_reference=f.case_reference,
                contact_level=f.contact_level,
                channels=list(f.channels),
                status=f.status,
                requires_second_approval=f.requires_second_approval,
                created_at=f.created_at,
                children_count=n_children or 0,
                senders_count=n_senders or 0,
            )
            for f, n_children, n_senders in rows
        ]


async def get_family(services: Services, actor: Actor, family_id: uuid.UUID) -> FamilyDetail:
    async with services.sessionmaker() as session:
        return await _detail(services, session, actor, family_id)


async def _detail(
    services: Services, session: AsyncSession, actor: Actor, family_id: uuid.UUID
) -> FamilyDetail:
    family = await _family(session, actor, family_id)
    # A shredded family's page says when its content was destroyed (FamilyShredded).
    await services.keyring.family_key(session, family.id)
    children = await open_children(session, services.keyring, family_ids=[family.id])
    senders = await session.execute(
        select(FamilySender, User)
        .join(User, User.id == FamilySender.user_id)
        .where(FamilySender.family_id == family.id)
        .order_by(User.display_name)
    )
    terms = await session.scalars(
        select(SensitiveTerm)
        .where(SensitiveTerm.family_id == family.id)
        .order_by(SensitiveTerm.created_at)
    )
    access = await session.execute(
        select(ReferrerAccess, User)
        .join(User, User.id == ReferrerAccess.user_id)
        .where(ReferrerAccess.family_id == family.id)
        .order_by(ReferrerAccess.expires_at.desc())
    )
    now = datetime.now(UTC)
    term_views = [
        TermView(
            t.id,
            (
                await services.keyring.open_for_family(
                    session, family.id, t.term_sealed, TERM_PURPOSE
                )
            ).decode(),
        )
        for t in terms
    ]
    carry = await carried_for_family(services, session, family.id)
    have = {t.term.casefold() for t in term_views}
    return FamilyDetail(
        court_order_reference=carry.court_order_reference if carry else None,
        suggested_terms=[
            t for t in (carry.risk_terms if carry else []) if t.casefold() not in have
        ],
        id=family.id,
        case_reference=family.case_reference,
        contact_level=family.contact_level,
        channels=list(family.channels),
        status=family.status,
        requires_second_approval=family.requires_second_approval,
        child_language=family.child_language,
        created_at=family.created_at,
        children=[ChildView(c.id, c.name, c.birth_year) for c in children],
        senders=[
            _sender_view(s, u, await open_relationship(session, services.keyring, s))
            for s, u in senders
        ],
        sensitive_terms=term_views,
        referrer_access=[
            ReferrerAccessView(
                id=a.id,
                user_id=u.id,
                display_name=u.display_name,
                email=u.email,
                granted_at=a.granted_at,
                expires_at=a.expires_at,
                active=a.expires_at > now,
            )
            for a, u in access
        ],
    )


def _sender_view(sender: FamilySender, user: User, relationship: str) -> SenderView:
    return SenderView(
        id=sender.id,
        user_id=user.id,
        display_name=user.display_name,
        email=user.email,
        relationship_to_child=relationship,
        approved=sender.approved,
        account_status=user.status,
    )


# --- family settings --------------------------------------------------------------------


async def update_family(
    services: Services, actor: Actor, family_id: uuid.UUID, data: FamilySettingsInput
) -> FamilyDetail:
    async with services.transaction(actor) as work:
        session = work.session
        family = await _family(session, actor, family_id, lock=True)
        changes: dict[str, Any] = {}
        if data.contact_level is not None and data.contact_level is not family.contact_level:
            if family.contact_level is ContactLevel.SUPERVISED:
                notes = await session.scalar(
                    select(func.count())
                    .select_from(ObservationNote)
                    .where(ObservationNote.family_id == family.id)
                )
                if notes:
                    raise InvalidInput(
                        {
                            "contact_level": "This family has supervised-contact notes, so it "
                            "cannot become supported contact. Close it and open a new case "
                            "instead."
                        }
                    )
            changes["contact_level"] = _change(family.contact_level.value, data.contact_level.value)
            family.contact_level = data.contact_level
        if data.channels is not None:
            channels = [c.value for c in Channel if c in data.channels]
            if channels != list(family.channels):
                changes["channels"] = _change(list(family.channels), channels)
                family.channels = channels
        if data.status is not None and data.status is not family.status:
            changes["status"] = _change(family.status.value, data.status.value)
            family.status = data.status
        if (
            data.requires_second_approval is not None
            and data.requires_second_approval != family.requires_second_approval
        ):
            changes["requires_second_approval"] = _change(
                family.requires_second_approval, data.requires_second_approval
            )
            family.requires_second_approval = data.requires_second_approval
        if data.child_language is not None and data.child_language != family.child_language:
            changes["child_language"] = _change(family.child_language, data.child_language.value)
            family.child_language = data.child_language.value
        if changes:
            await session.flush()
            await _changed(work, family.id, "settings", changes=changes)
        return await _detail(services, session, actor, family.id)


def _change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


async def _changed(work: RecordedWork, family_id: uuid.UUID, what: str, **detail: Any) -> None:
    await work.record(family_id, EventKind.FAMILY_CHANGED, {"change": what, **detail})


# --- children ---------------------------------------------------------------------------


async def add_child(
    services: Services, actor: Actor, family_id: uuid.UUID, data: ChildInput
) -> ChildView:
    check_birth_years([data], prefix=None)
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        sealed = await seal_child(
            work.session, services.keyring, family.id, data.name, data.birth_year
        )
        child = Child(id=uuid.uuid4(), family_id=family.id, details_sealed=sealed)
        work.session.add(child)
        await work.session.flush()
        await _changed(
            work,
            family.id,
            "child_added",
            child_id=str(child.id),
            name=Sealed(data.name),
            birth_year=Sealed(data.birth_year),
        )
        return ChildView(child.id, data.name, data.birth_year)


async def _child(session: AsyncSession, family_id: uuid.UUID, child_id: uuid.UUID) -> Child:
    child = await session.scalar(
        select(Child).where(Child.id == child_id, Child.family_id == family_id)
    )
    if child is None:
        raise NotFound("We could not find that child in this family.")
    return child


async def update_child(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    child_id: uuid.UUID,
    data: ChildInput,
) -> ChildView:
    check_birth_years([data], prefix=None)
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        child = await _child(work.session, family.id, child_id)
        now = await open_child(work.session, services.keyring, child)
        if (now.name, now.birth_year) != (data.name, data.birth_year):
            child.details_sealed = await seal_child(
                work.session, services.keyring, family.id, data.name, data.birth_year
            )
            await work.session.flush()
            await _changed(
                work,
                family.id,
                "child_changed",
                child_id=str(child.id),
                name=Sealed(data.name),
                birth_year=Sealed(data.birth_year),
            )
        return ChildView(child.id, data.name, data.birth_year)


async def remove_child(
    services: Services, actor: Actor, family_id: uuid.UUID, child_id: uuid.UUID
) -> None:
    async with services.transaction(actor) as work:
        session = work.session
        family = await _family(session, actor, family_id, lock=True)
        child = await _child(session, family.id, child_id)
        for model in (Item, Call, OpeningSession):
            used = await session.scalar(
                select(func.count()).select_from(model).where(model.child_id == child.id)
            )
            if used:
                raise Conflict(
                    "This child already has letters, calls or sessions on record, so they "
                    "cannot be removed. Pause or close the family instead.",
                    code="child_in_use",
                )
        await session.delete(child)
        await session.flush()
        await _changed(work, family.id, "child_removed", child_id=str(child_id))


# --- sensitive terms --------------------------------------------------------------------


async def add_sensitive_term(
    services: Services, actor: Actor, family_id: uuid.UUID, data: SensitiveTermInput
) -> TermView:
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        sealed = await services.keyring.seal_for_family(
            work.session, family.id, data.term.encode(), TERM_PURPOSE
        )
        term = SensitiveTerm(
            id=uuid.uuid4(), family_id=family.id, term_sealed=sealed, created_at=datetime.now(UTC)
        )
        work.session.add(term)
        await work.session.flush()
        # The term itself never enters the record, not even sealed: it names where the
        # child is, and the record travels to court.
        await _changed(work, family.id, "sensitive_term_added", term_id=str(term.id))
        return TermView(term.id, data.term)


async def remove_sensitive_term(
    services: Services, actor: Actor, family_id: uuid.UUID, term_id: uuid.UUID
) -> None:
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        term = await work.session.scalar(
            select(SensitiveTerm).where(
                SensitiveTerm.id == term_id, SensitiveTerm.family_id == family.id
            )
        )
        if term is None:
            raise NotFound("We could not find that word or phrase.")
        await work.session.delete(term)
        await work.session.flush()
        await _changed(work, family.id, "sensitive_term_removed", term_id=str(term_id))


async def _account_for(
    session: AsyncSession,
    services: Services,
    actor: Actor,
    email: str,
    display_name: str,
    role: Role,
    whose: str,
) -> User:
    """The centre's account with this e-mail and role, created (invited) the first time.
    An address already used by another kind of account is refused, never re-purposed."""
    user = await user_by_email(session, email)
    if user is None:
        return await create_user(
            session,
            services.keyring,
            centre_id=actor.centre_id,
            email=email,
            display_name=display_name,
            role=role,
            actor=actor,
        )
    if user.role is not role or user.centre_id != actor.centre_id:
        raise InvalidInput(
            {"email": f"That e-mail address belongs to an account that is not {whose}."}
        )
    return user


# --- senders ----------------------------------------------------------------------------


async def invite_parent(
    services: Services, actor: Actor, family_id: uuid.UUID, data: ParentInviteInput
) -> SenderView:
    """Add a parent (or relative) as an approved sender and e-mail them an invite link.
    A parent already known to the centre (another family) is added, not created again."""
    token: str | None = None
    async with services.transaction(actor) as work:
        session = work.session
        family = await _family(session, actor, family_id, lock=True)
        user = await _account_for(
            session, services, actor, data.email, data.display_name, Role.PARENT, "a parent's"
        )
        existing = await session.scalar(
            select(FamilySender).where(
                FamilySender.family_id == family.id, FamilySender.user_id == user.id
            )
        )
        if existing is not None:
            raise InvalidInput({"email": "This person is already a sender for this family."})
        if user.status is AccountStatus.INVITED:
            token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
        sender = FamilySender(
            id=uuid.uuid4(),
            family_id=family.id,
            user_id=user.id,
            relationship_sealed=await seal_relationship(
                session, services.keyring, family.id, data.relationship_to_child
            ),
            approved=True,
        )
        session.add(sender)
        await session.flush()
        await work.record(
            family.id,
            EventKind.SENDER_APPROVED,
            {
                "sender_id": str(sender.id),
                "user_id": str(user.id),
                "relationship": Sealed(data.relationship_to_child),
            },
        )
        view = _sender_view(sender, user, data.relationship_to_child)
    if token is not None:
        await send_invite(services, view.email, token)
    return view


async def resend_parent_invite(
    services: Services, actor: Actor, family_id: uuid.UUID, sender_id: uuid.UUID
) -> SenderView:
    """A fresh invite link (the old one stops working) for a parent who has not started."""
    async with services.sessionmaker() as session, session.begin():
        family = await _family(session, actor, family_id)
        sender, user = await _sender(session, family.id, sender_id)
        if user.status is not AccountStatus.INVITED:
            raise Conflict(
                "This person has already set up their account; they can use “Forgot your "
                "password?” on the sign-in page.",
                code="already_active",
            )
        token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
        view = _sender_view(
            sender, user, await open_relationship(session, services.keyring, sender)
        )
    await send_invite(services, view.email, token)
    return view


async def _sender(
    session: AsyncSession, family_id: uuid.UUID, sender_id: uuid.UUID
) -> tuple[FamilySender, User]:
    row = (
        await session.execute(
            select(FamilySender, User)
            .join(User, User.id == FamilySender.user_id)
            .where(FamilySender.id == sender_id, FamilySender.family_id == family_id)
        )
    ).first()
    if row is None:
        raise NotFound("We could not find that sender in this family.")
    sender, user = row
    return sender, user


async def set_sender_approved(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    sender_id: uuid.UUID,
    data: SenderApprovalInput,
) -> SenderView:
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        sender, user = await _sender(work.session, family.id, sender_id)
        if sender.approved != data.approved:
            sender.approved = data.approved
            await work.session.flush()
            await work.record(
                family.id,
                EventKind.SENDER_APPROVED if data.approved else EventKind.SENDER_REMOVED,
                {"sender_id": str(sender.id), "user_id": str(user.id)},
            )
        return _sender_view(
            sender, user, await open_relationship(work.session, services.keyring, sender)
        )


# --- referrer access --------------------------------------------------------------------


async def grant_referrer_access(
    services: Services, actor: Actor, family_id: uuid.UUID, data: ReferrerAccessInput
) -> ReferrerAccessView:
    """Time-limited, read-only access for a referrer to one family. The referrer's account
    is created (and invited) the first time; later grants reuse it."""
    token: str | None = None
    async with services.transaction(actor) as work:
        session = work.session
        family = await _family(session, actor, family_id, lock=True)
        user = await _account_for(
            session, services, actor, data.email, data.display_name, Role.REFERRER, "a referrer's"
        )
        if user.status is AccountStatus.DISABLED:
            raise InvalidInput({"email": "That referrer's account is disabled."})
        if user.status is AccountStatus.INVITED:
            token = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
        now = datetime.now(UTC)
        access = ReferrerAccess(
            id=uuid.uuid4(),
            family_id=family.id,
            user_id=user.id,
            granted_by=actor.user_id,
            granted_at=now,
            expires_at=now + timedelta(days=data.days),
        )
        session.add(access)
        await session.flush()
        await work.record(
            family.id,
            EventKind.REFERRER_ACCESS_GRANTED,
            {
                "access_id": str(access.id),
                "user_id": str(user.id),
                "expires_at": access.expires_at.isoformat(),
            },
        )
        view = ReferrerAccessView(
            access.id, user.id, user.display_name, user.email, now, access.expires_at, True
        )
    if token is not None:
        await send_invite(services, view.email, token)
    return view


async def revoke_referrer_access(
    services: Services, actor: Actor, family_id: uuid.UUID, access_id: uuid.UUID
) -> None:
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id, lock=True)
        access = await work.session.scalar(
            select(ReferrerAccess).where(
                ReferrerAccess.id == access_id, ReferrerAccess.family_id == family.id
            )
        )
        if access is None:
            raise NotFound("We could not find that access.")
        now = datetime.now(UTC)
        if access.expires_at > now:
            access.expires_at = now
            await work.session.flush()
            await work.record(
                family.id,
                EventKind.REFERRER_ACCESS_REVOKED,
                {"access_id": str(access.id), "user_id": str(access.user_id)},
            )
