"""Referrals: recorded as received, then accepted as a family (or declined).

Known risks are sensitive free text, sealed under the centre key. Accepting creates the
family, its key and its children in one transaction with the ``family_created`` event."""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, NotFound
from service.http.access import Actor
from service.i18n import N_, _
from service.schema import InvalidInput, about, items, number, text
from service.services import Services
from storage.children import (
    ReferralDetails,
    open_referral,
    seal_child_with_key,
    seal_referral_for_centre,
    seal_referral_with_key,
)
from storage.keyring import FamilyShredded
from storage.models import Channel, Child, ContactLevel, Family, Referral, ReferralStatus
from storage.record import Sealed
from storage.recordformat import EventKind

MAX_RISK_TERMS = 20
# Two admins accepting at the same moment may pick the same next number; the unique
# constraint refuses one, which then simply tries the next.
CASE_REFERENCE_ATTEMPTS = 5
# Why a referral can no longer be accepted or declined: a whole sentence for each way it closed.
_ALREADY_CLOSED = {
    ReferralStatus.ACCEPTED: N_("This referral was already accepted."),
    ReferralStatus.DECLINED: N_("This referral was already declined."),
}


class ReferrerKind(enum.StrEnum):
    SOLICITOR = "solicitor"
    SOCIAL_WORKER = "social_worker"
    CAFCASS = "cafcass"
    MEDIATOR = "mediator"
    COURT = "court"
    SELF = "self"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ReferrerKind.SOLICITOR: N_("Solicitor"),
    ReferrerKind.SOCIAL_WORKER: N_("Social worker"),
    ReferrerKind.CAFCASS: N_("CAFCASS officer"),
    ReferrerKind.MEDIATOR: N_("Mediator"),
    ReferrerKind.COURT: N_("Court order"),
    ReferrerKind.SELF: N_("Self-referral"),
    ReferrerKind.OTHER: N_("Other"),
}


@dataclass(frozen=True)
class ChildInput:
    """A child: first or chosen name only, and the year of birth."""

    name: str = field(metadata=text(1, 100, "First or chosen name"))
    birth_year: int = field(metadata=number(1990, 2100, "Year of birth"))


@dataclass(frozen=True)
class ReferredParent:
    """A parent named in the referral: invited as a sender when the referral is accepted."""

    display_name: str = field(metadata=text(1, 200, "Parent's full name"))
    email: str = field(metadata=text(3, 320, "Parent's e-mail address", email=True))
    relationship_to_child: str = field(metadata=text(1, 100, "Relationship to the child"))


@dataclass(frozen=True)
class ReferralInput:
    """A referral as received from a solicitor, social worker, CAFCASS officer, mediator or
    court (or a self-referral)."""

    referrer_name: str = field(metadata=text(1, 200, "Name of the person referring"))
    referrer_organisation: str = field(metadata=text(1, 200, "Their organisation"))
    referrer_email: str = field(metadata=text(3, 320, "Their e-mail address", email=True))
    referrer_kind: ReferrerKind = field(metadata=about("Who is referring"))
    contact_level: ContactLevel = field(metadata=about("Supported or supervised contact"))
    channels: list[Channel] = field(metadata=items(1, 4, "Ways of keeping in touch allowed"))
    children: list[ChildInput] = field(metadata=items(1, 10, "The children"))
    court_order_reference: str | None = field(
        default=None, metadata=text(1, 100, "Court order reference")
    )
    known_risks: str | None = field(default=None, metadata=text(1, 5000, "Known risks"))
    parents: list[ReferredParent] = field(default_factory=list, metadata=items(0, 4, "The parents"))
    risk_names: str | None = field(
        default=None,
        metadata=text(1, 2000, "Places and names the risk concerns, one a line"),
    )


@dataclass(frozen=True)
class ChildRow:
    name: str
    birth_year: int


@dataclass(frozen=True)
class ReferralView:
    id: uuid.UUID
    status: ReferralStatus
    received_at: datetime
    referrer_name: str
    referrer_organisation: str
    referrer_email: str
    referrer_kind: str
    contact_level: ContactLevel
    channels: list[str]
    children: list[ChildRow]
    court_order_reference: str | None
    family_id: uuid.UUID | None
    # Only filled when one referral is read; lists never carry them.
    known_risks: str | None
    parents: list[ReferredParent] = field(default_factory=list)
    risk_terms: list[str] = field(default_factory=list)


def check_birth_years(children: list[ChildInput], prefix: str | None = "children") -> None:
    """``prefix=None`` for a single child, whose field is plain ``birth_year``."""
    this_year = datetime.now(UTC).year
    errors = {
        (f"{prefix}.{i}.birth_year" if prefix else "birth_year"): "The year of birth cannot be "
        "in the future."
        for i, child in enumerate(children)
        if child.birth_year > this_year
    }
    if errors:
        raise InvalidInput(errors)


def risk_terms_of(data: ReferralInput) -> list[str]:
    """The places and names, one a line, each once (as typed first), at most 20."""
    seen: dict[str, str] = {}
    for line in (data.risk_names or "").splitlines():
        term = " ".join(line.split())
        if term and term.casefold() not in seen:
            seen[term.casefold()] = term
    terms = list(seen.values())
    if len(terms) > MAX_RISK_TERMS:
        raise InvalidInput(
            {"risk_names": f"Please give at most {MAX_RISK_TERMS} places and names, one a line."}
        )
    short = [t for t in terms if len(t) < 2]
    if short:
        raise InvalidInput({"risk_names": "Each place or name needs at least 2 characters."})
    return terms


@dataclass(frozen=True)
class Carried:
    """What an accepted referral carries into the family beyond its children."""

    referrer_name: str
    referrer_email: str
    parents: list[ReferredParent]
    risk_terms: list[str]
    court_order_reference: str | None


def _carried(referral: Referral, details: ReferralDetails) -> Carried:
    return Carried(
        details.referrer_name,
        details.referrer_email,
        [
            ReferredParent(p["display_name"], p["email"], p["relationship_to_child"])
            for p in details.parents
        ],
        list(details.risk_terms),
        details.court_order_reference,
    )


async def carried_for_family(
    services: Services, session: AsyncSession, family_id: uuid.UUID
) -> Carried | None:
    """The referral a family was created from, if any (read in the caller's session, which
    may be a write transaction)."""
    referral = await session.scalar(
        select(Referral)
        .where(Referral.family_id == family_id)
        .order_by(Referral.received_at.desc())
        .limit(1)
    )
    if referral is None:
        return None
    return _carried(referral, await open_referral(session, services.keyring, referral))


async def carried_by_referral(services: Services, actor: Actor, referral_id: uuid.UUID) -> Carried:
    async with services.sessionmaker() as session:
        referral = await _referral(session, actor, referral_id)
        return _carried(referral, await open_referral(session, services.keyring, referral))


def _view(referral: Referral, details: ReferralDetails) -> ReferralView:
    return ReferralView(
        id=referral.id,
        status=referral.status,
        received_at=referral.received_at,
        referrer_name=details.referrer_name,
        referrer_organisation=details.referrer_organisation,
        referrer_email=details.referrer_email,
        referrer_kind=referral.referrer_kind,
        contact_level=referral.contact_level,
        channels=list(referral.channels),
        children=[ChildRow(c["name"], int(c["birth_year"])) for c in details.children],
        court_order_reference=details.court_order_reference,
        family_id=referral.family_id,
        known_risks=None,
    )


async def list_referrals(services: Services, actor: Actor) -> list[ReferralView]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(Referral)
            .where(Referral.centre_id == actor.centre_id)
            .order_by(Referral.status != ReferralStatus.RECEIVED, Referral.received_at.desc())
        )
        views = []
        for referral in rows.all():
            try:
                details = await open_referral(session, services.keyring, referral)
            except FamilyShredded:  # its family was shredded: the details went with it
                details = ReferralDetails()
            views.append(_view(referral, details))
        return views


async def _referral(
    session: AsyncSession, actor: Actor, referral_id: uuid.UUID, *, lock: bool = False
) -> Referral:
    query = select(Referral).where(
        Referral.id == referral_id, Referral.centre_id == actor.centre_id
    )
    # Locked when it is about to change: two admins accepting at once make one family.
    referral = await session.scalar(query.with_for_update() if lock else query)
    if referral is None:
        raise NotFound("We could not find that referral.")
    return referral


async def get_referral(services: Services, actor: Actor, referral_id: uuid.UUID) -> ReferralView:
    async with services.sessionmaker() as session:
        referral = await _referral(session, actor, referral_id)
        details = await open_referral(session, services.keyring, referral)
        carry = _carried(referral, details)
        return replace(
            _view(referral, details),
            known_risks=details.known_risks,
            parents=carry.parents,
            risk_terms=carry.risk_terms,
        )


async def record_referral(services: Services, actor: Actor, data: ReferralInput) -> ReferralView:
    check_birth_years(data.children)
    terms = risk_terms_of(data)
    emails = [p.email.casefold() for p in data.parents]
    if len(set(emails)) != len(emails):
        raise InvalidInput({"parents": "Each parent needs their own e-mail address."})
    details = ReferralDetails(
        children=[{"name": c.name, "birth_year": c.birth_year} for c in data.children],
        court_order_reference=data.court_order_reference,
        known_risks=data.known_risks or None,
        parents=[asdict(p) for p in data.parents],
        risk_terms=terms,
        referrer_name=data.referrer_name,
        referrer_organisation=data.referrer_organisation,
        referrer_email=data.referrer_email,
    )
    async with services.sessionmaker() as session, session.begin():
        referral = Referral(
            id=uuid.uuid4(),
            centre_id=actor.centre_id,
            referrer_kind=data.referrer_kind.value,
            contact_level=data.contact_level,
            channels=_channels(data.channels),
            # Under the centre key until the family exists (accepting re-seals it).
            details_sealed=seal_referral_for_centre(services.keyring, details),
            status=ReferralStatus.RECEIVED,
            received_at=datetime.now(UTC),
            recorded_by=actor.user_id,
        )
        session.add(referral)
        await session.flush()
        return replace(
            _view(referral, details),
            known_risks=details.known_risks,
            parents=list(data.parents),
            risk_terms=terms,
        )


def _channels(channels: list[Channel]) -> list[str]:
    # One of each, in the order of the vocabulary, so a family's channels compare simply.
    return [c.value for c in Channel if c in channels]


async def next_case_reference(session: AsyncSession, now: datetime) -> str:
    """``LB-<year>-<number>``, numbered from 0001 each year."""
    prefix = f"LB-{now.year}-"
    last = await session.scalar(
        select(Family.case_reference)
        .where(Family.case_reference.like(prefix + "%"))
        .order_by(func.length(Family.case_reference).desc(), Family.case_reference.desc())
        .limit(1)
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


async def create_family(
    services: Services,
    actor: Actor,
    *,
    contact_level: ContactLevel,
    channels: list[Channel],
    children: list[ChildInput],
    referral_id: uuid.UUID | None = None,
    requires_second_approval: bool = False,
) -> uuid.UUID:
    """A new family with its key and children, and its ``family_created`` record event.
    Used by accepting a referral and by the demo centre."""
    for attempt in range(CASE_REFERENCE_ATTEMPTS):
        try:
            async with services.transaction(actor) as work:
                session = work.session
                referral: Referral | None = None
                if referral_id is not None:
                    referral = await _referral(session, actor, referral_id, lock=True)
                    if referral.status is not ReferralStatus.RECEIVED:
                        raise Conflict(_(_ALREADY_CLOSED[referral.status]), code="referral_closed")
                now = datetime.now(UTC)
                family = Family(
                    id=uuid.uuid4(),
                    centre_id=actor.centre_id,
                    case_reference=await next_case_reference(session, now),
                    contact_level=contact_level,
                    channels=_channels(channels),
                    requires_second_approval=requires_second_approval,
                    created_at=now,
                )
                session.add(family)
                await session.flush()
                key = await services.keyring.create_family_key(session, family.id)
                child_rows = [
                    (
                        Child(
                            id=uuid.uuid4(),
                            family_id=family.id,
                            details_sealed=seal_child_with_key(
                                key, family.id, c.name, c.birth_year
                            ),
                        ),
                        c,
                    )
                    for c in children
                ]
                session.add_all(row for row, _ in child_rows)
                if referral is not None:
                    # From now on the referral's details are the family's: sealed with its
                    # key, so shredding the family destroys them too.
                    details = await open_referral(session, services.keyring, referral)
                    referral.status = ReferralStatus.ACCEPTED
                    referral.family_id = family.id
                    referral.details_sealed = seal_referral_with_key(key, family.id, details)
                await session.flush()
                payload: dict[str, Any] = {
                    "case_reference": family.case_reference,
                    "contact_level": family.contact_level.value,
                    "channels": list(family.channels),
                    "requires_second_approval": requires_second_approval,
                    "children": [
                        {
                            "child_id": str(row.id),
                            "name": Sealed(c.name),
                            "birth_year": Sealed(c.birth_year),
                        }
                        for row, c in child_rows
                    ],
                }
                if referral is not None:
                    payload["referral_id"] = str(referral.id)
                    payload["referrer_kind"] = referral.referrer_kind
                await work.record(family.id, EventKind.FAMILY_CREATED, payload)
                return family.id
        except IntegrityError:
            if attempt == CASE_REFERENCE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def accept_referral(services: Services, actor: Actor, referral_id: uuid.UUID) -> uuid.UUID:
    """Accept a received referral as a new family; returns the family id."""
    async with services.sessionmaker() as session:
        referral = await _referral(session, actor, referral_id)
        level, channels = referral.contact_level, [Channel(c) for c in referral.channels]
        details = await open_referral(session, services.keyring, referral)
        children = [ChildInput(c["name"], int(c["birth_year"])) for c in details.children]
    return await create_family(
        services,
        actor,
        contact_level=level,
        channels=channels,
        children=children,
        referral_id=referral_id,
    )


async def decline_referral(
    services: Services, actor: Actor, referral_id: uuid.UUID
) -> ReferralView:
    async with services.sessionmaker() as session, session.begin():
        referral = await _referral(session, actor, referral_id, lock=True)
        if referral.status is not ReferralStatus.RECEIVED:
            raise Conflict(_(_ALREADY_CLOSED[referral.status]), code="referral_closed")
        referral.status = ReferralStatus.DECLINED
        return _view(referral, await open_referral(session, services.keyring, referral))
