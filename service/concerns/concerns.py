"""Safeguarding concerns: raised from an item, a reply, a call or an opening session.

Raising one (``raise_concern``) in one recorded transaction: an item is withheld at once
(``service.letterbox.withhold_item``), the concern is stored with what was seen sealed under
the family key, and ``concern_raised`` is appended. Then the centre's designated
safeguarding leads (``users.safeguarding_lead``, set by an admin) are e-mailed a link and
nothing else. If no lead is designated, the admins are told instead (a concern never waits
unseen); if the mail server is down, the periodic job (``reminders``) tells them later.

The lead acknowledges it (``acknowledge``), within 24 hours or the admins are reminded, and
records the action taken (``record_action``), which may release a withheld item back to
moderation. Only centre staff see concerns; parents never learn one exists.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from service.http.rules import Actor
from service.i18n import N_, _
from service.letterbox import release_item, withhold_item
from service.notify import KINDS, Mailer
from service.security_log import log_security_event
from service.services import Services
from service.settings import Settings
from storage import record
from storage.models import (
    AccountStatus,
    Call,
    ConcernStatus,
    Family,
    Item,
    OpeningSession,
    Role,
    SafeguardingConcern,
    User,
)

__all__ = [
    "ACKNOWLEDGE_WITHIN",
    "ConcernSource",
    "ConcernView",
    "SourceKind",
    "StaffMember",
    "acknowledge",
    "centre_staff",
    "concern_list",
    "lead_addresses",
    "raise_concern",
    "read_concern",
    "record_action",
    "send_safeguarding_mail",
    "set_safeguarding_lead",
    "tell_leads",
]

log = logging.getLogger(__name__)

CONCERN_PURPOSE: Final = "safeguarding-concern"
ACKNOWLEDGE_WITHIN: Final = timedelta(hours=24)
TEXT_LIMIT: Final = 10_000
LIST_PATH: Final = "/staff/concerns"


class SourceKind(enum.StrEnum):
    ITEM = "item"  # a letter, a reply or a digital gift
    CALL = "call"
    SESSION = "session"


@dataclass(frozen=True)
class ConcernSource:
    kind: SourceKind
    id: uuid.UUID


def _text(value: str, field: str, missing: str) -> str:
    """``missing``: the whole sentence asking for the text, marked with ``N_``."""
    text = value.strip()
    if not text:
        raise Invalid(_(missing), field=field)
    if len(text) > TEXT_LIMIT:
        raise Invalid(
            _("This has {count} characters; the most is {limit}. Please shorten it.").format(
                count=f"{len(text):,}", limit=f"{TEXT_LIMIT:,}"
            ),
            field=field,
        )
    return text


async def _family_of(
    session: AsyncSession, source: ConcernSource, centre_id: uuid.UUID
) -> uuid.UUID:
    model: Any = {
        SourceKind.ITEM: Item,
        SourceKind.CALL: Call,
        SourceKind.SESSION: OpeningSession,
    }[source.kind]
    family_id: uuid.UUID | None = await session.scalar(
        select(model.family_id)
        .join(Family, Family.id == model.family_id)
        .where(model.id == source.id, Family.centre_id == centre_id)
    )
    if family_id is None:
        raise NotFound()
    return family_id


async def _seal(
    services: Services, session: AsyncSession, family_id: uuid.UUID, text: str
) -> bytes:
    return await services.keyring.seal_for_family(
        session, family_id, text.encode("utf-8"), CONCERN_PURPOSE
    )


async def _open(services: Services, session: AsyncSession, family_id: uuid.UUID, b: bytes) -> str:
    data = await services.keyring.open_for_family(session, family_id, b, CONCERN_PURPOSE)
    return data.decode("utf-8")


async def raise_concern(
    services: Services, actor: Actor, source: ConcernSource, what: str
) -> uuid.UUID:
    """Raise a concern: an item is withheld at once, the leads are e-mailed (no content)."""
    if not actor.role.is_centre_staff:
        raise Forbidden("Only the centre's staff raise safeguarding concerns.")
    what = _text(what, "what", N_("Please write what you saw or heard that worries you."))
    now = datetime.now(UTC)
    async with services.transaction(actor) as work:
        session = work.session
        family_id = await _family_of(session, source, actor.centre_id)
        if source.kind is SourceKind.ITEM:
            await withhold_item(session, source.id, now)
        concern = SafeguardingConcern(
            family_id=family_id,
            item_id=source.id if source.kind is SourceKind.ITEM else None,
            call_id=source.id if source.kind is SourceKind.CALL else None,
            opening_session_id=source.id if source.kind is SourceKind.SESSION else None,
            raised_by=actor.user_id,
            raised_at=now,
            status=ConcernStatus.RAISED,
            what_sealed=await _seal(services, session, family_id, what),
        )
        session.add(concern)
        await session.flush()
        await work.record(
            family_id,
            "concern_raised",
            {
                "concern_id": concern.id,
                "source": source.kind.value,
                f"{source.kind.value}_id": source.id,
                "item_withheld": source.kind is SourceKind.ITEM,
                "what": record.Sealed(what),
            },
        )
        concern_id = concern.id
    await tell_leads(services, concern_id)
    return concern_id


async def lead_addresses(session: AsyncSession, centre_id: uuid.UUID) -> tuple[list[str], bool]:
    """Who is told of a new concern: the active designated leads, else the active admins
    (``False`` second: no lead is designated)."""
    active = (User.centre_id == centre_id, User.status == AccountStatus.ACTIVE)
    leads = list(
        await session.scalars(
            select(User.email).where(*active, User.safeguarding_lead.is_(True)).order_by(User.email)
        )
    )
    if leads:
        return leads, True
    admins = await session.scalars(
        select(User.email).where(*active, User.role == Role.ADMIN).order_by(User.email)
    )
    return list(admins), False


async def send_safeguarding_mail(
    mailer: Mailer, settings: Settings, to: list[str], kind: str
) -> int:
    sent = 0
    for email in to:
        try:
            await mailer.send(
                to=email,
                subject=KINDS[kind].subject,
                template=f"email/{kind}.txt",
                context={"link": f"{settings.public_url}{LIST_PATH}"},
            )
            sent += 1
        except Unavailable:
            log.warning("safeguarding e-mail not handed over; the job tries again")
    return sent


async def tell_leads(services: Services, concern_id: uuid.UUID) -> bool:
    """E-mail the leads about one concern, once: the first run that claims ``lead_told_at``
    sends; if nothing could be sent, the claim is given back for the job to try again."""
    now = datetime.now(UTC)
    async with services.sessionmaker.begin() as session:
        concern = await session.scalar(
            select(SafeguardingConcern)
            .where(SafeguardingConcern.id == concern_id)
            .with_for_update()
        )
        if concern is None or concern.lead_told_at is not None:
            return False
        centre_id = await session.scalar(
            select(Family.centre_id).where(Family.id == concern.family_id)
        )
        assert centre_id is not None  # noqa: S101 - a concern's family always exists
        to, _ = await lead_addresses(session, centre_id)
        concern.lead_told_at = now
    if await send_safeguarding_mail(services.mailer, services.settings, to, "concern_raised") > 0:
        return True
    async with services.sessionmaker.begin() as session:
        concern = await session.get(SafeguardingConcern, concern_id)
        if concern is not None and concern.lead_told_at == now:
            concern.lead_told_at = None
    return False


async def _lead(session: AsyncSession, actor: Actor) -> None:
    is_lead = await session.scalar(select(User.safeguarding_lead).where(User.id == actor.user_id))
    if not is_lead:
        raise Forbidden(
            "Only the centre's designated safeguarding lead can do this. An admin marks a "
            "staff account as the lead."
        )


async def _concern(
    session: AsyncSession, family_id: uuid.UUID, concern_id: uuid.UUID
) -> SafeguardingConcern:
    concern = await session.scalar(
        select(SafeguardingConcern)
        .where(SafeguardingConcern.id == concern_id, SafeguardingConcern.family_id == family_id)
        .with_for_update()
    )
    if concern is None:
        raise NotFound()
    return concern


async def acknowledge(
    services: Services, actor: Actor, family_id: uuid.UUID, concern_id: uuid.UUID
) -> None:
    async with services.transaction(actor) as work:
        await _lead(work.session, actor)
        concern = await _concern(work.session, family_id, concern_id)
        if concern.status is not ConcernStatus.RAISED:
            raise Conflict("This concern is already acknowledged.", field="status")
        concern.status = ConcernStatus.ACKNOWLEDGED
        concern.acknowledged_by = actor.user_id
        concern.acknowledged_at = datetime.now(UTC)
        await work.session.flush()
        late = concern.acknowledged_at - concern.raised_at > ACKNOWLEDGE_WITHIN
        await work.record(
            family_id, "concern_acknowledged", {"concern_id": concern.id, "late": late}
        )


async def record_action(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    concern_id: uuid.UUID,
    action: str,
    *,
    release: bool = False,
) -> None:
    """The lead's record of what was done; ``release`` lets moderators decide on a withheld
    item again."""
    action = _text(
        action, "action", N_("Please write the action taken, for example who it was shared with.")
    )
    async with services.transaction(actor) as work:
        session = work.session
        await _lead(session, actor)
        concern = await _concern(session, family_id, concern_id)
        now = datetime.now(UTC)
        if concern.status is ConcernStatus.RAISED:
            # Recording an action is also acknowledging it.
            concern.acknowledged_by, concern.acknowledged_at = actor.user_id, now
        concern.status = ConcernStatus.ACTIONED
        concern.action_sealed = await _seal(services, session, family_id, action)
        concern.action_by, concern.action_at = actor.user_id, now
        released = release and concern.item_id is not None
        if released and concern.item_id is not None:
            await release_item(session, concern.item_id)
        await session.flush()
        await work.record(
            family_id,
            "concern_action_recorded",
            {
                "concern_id": concern.id,
                "action": record.Sealed(action),
                "item_released": released,
            },
        )


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcernView:
    id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    source: SourceKind
    source_id: uuid.UUID
    item_withheld: bool
    raised_by: str
    raised_at: datetime
    status: ConcernStatus
    acknowledged_at: datetime | None
    action_at: datetime | None
    overdue: bool
    what: str | None = None
    action: str | None = None
    may_act: bool = False


def _source(c: SafeguardingConcern) -> tuple[SourceKind, uuid.UUID]:
    if c.item_id is not None:
        return SourceKind.ITEM, c.item_id
    if c.call_id is not None:
        return SourceKind.CALL, c.call_id
    assert c.opening_session_id is not None  # noqa: S101 - the schema's check
    return SourceKind.SESSION, c.opening_session_id


def _overdue(c: SafeguardingConcern, now: datetime) -> bool:
    return c.status is ConcernStatus.RAISED and now - c.raised_at > ACKNOWLEDGE_WITHIN


async def concern_list(services: Services, actor: Actor) -> list[ConcernView]:
    """The centre's concerns, open ones first (staff only; no content in the list)."""
    now = datetime.now(UTC)
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(SafeguardingConcern, Family.case_reference, User.display_name, Item.withheld_at)
            .join(Family, Family.id == SafeguardingConcern.family_id)
            .join(User, User.id == SafeguardingConcern.raised_by)
            .outerjoin(Item, Item.id == SafeguardingConcern.item_id)
            .where(Family.centre_id == actor.centre_id)
            .order_by(SafeguardingConcern.raised_at.desc())
            .limit(500)
        )
        views = []
        for c, ref, name, withheld in rows:
            kind, source_id = _source(c)
            views.append(
                ConcernView(
                    c.id,
                    c.family_id,
                    ref,
                    kind,
                    source_id,
                    withheld is not None,
                    name,
                    c.raised_at,
                    c.status,
                    c.acknowledged_at,
                    c.action_at,
                    _overdue(c, now),
                )
            )
    return sorted(views, key=lambda v: v.status is ConcernStatus.ACTIONED)


async def read_concern(
    services: Services, actor: Actor, family_id: uuid.UUID, concern_id: uuid.UUID
) -> ConcernView:
    async with services.sessionmaker() as session:
        row = (
            await session.execute(
                select(SafeguardingConcern, Family.case_reference, User.display_name)
                .join(Family, Family.id == SafeguardingConcern.family_id)
                .join(User, User.id == SafeguardingConcern.raised_by)
                .where(
                    SafeguardingConcern.id == concern_id,
                    SafeguardingConcern.family_id == family_id,
                )
            )
        ).one_or_none()
        if row is None:
            raise NotFound()
        c, ref, name = row
        withheld = (
            c.item_id is not None
            and await session.scalar(select(Item.withheld_at).where(Item.id == c.item_id))
            is not None
        )
        is_lead = bool(
            await session.scalar(select(User.safeguarding_lead).where(User.id == actor.user_id))
        )
        kind, source_id = _source(c)
        return ConcernView(
            c.id,
            c.family_id,
            ref,
            kind,
            source_id,
            withheld,
            name,
            c.raised_at,
            c.status,
            c.acknowledged_at,
            c.action_at,
            _overdue(c, datetime.now(UTC)),
            what=await _open(services, session, family_id, c.what_sealed),
            action=None
            if c.action_sealed is None
            else await _open(services, session, family_id, c.action_sealed),
            may_act=is_lead and c.status is not ConcernStatus.ACTIONED,
        )


async def set_safeguarding_lead(
    services: Services, actor: Actor, user_id: uuid.UUID, lead: bool
) -> None:
    """An admin marks (or unmarks) a staff account of their centre as safeguarding lead."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("Only an admin designates the safeguarding lead.")
    async with services.sessionmaker.begin() as session:
        user = await session.scalar(
            select(User).where(
                User.id == user_id,
                User.centre_id == actor.centre_id,
                or_(User.role == Role.ADMIN, User.role == Role.STAFF, User.role == Role.SUPERVISOR),
            )
        )
        if user is None:
            raise NotFound()
        user.safeguarding_lead = lead
        # Like a role change: who may read every concern of the centre is in the security log.
        await log_security_event(
            session,
            "safeguarding_lead_changed",
            user_id=user.id,
            actor_id=actor.user_id,
            detail={"safeguarding_lead": lead},
        )


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    display_name: str
    role: Role
    safeguarding_lead: bool


async def centre_staff(services: Services, actor: Actor) -> list[StaffMember]:
    """The centre's staff accounts (not disabled), for the admin's page of leads."""
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(User)
            .where(
                User.centre_id == actor.centre_id,
                User.role.in_([Role.ADMIN, Role.STAFF, Role.SUPERVISOR]),
                User.status != AccountStatus.DISABLED,
            )
            .order_by(User.display_name)
        )
        return [StaffMember(u.id, u.display_name, u.role, u.safeguarding_lead) for u in rows]
