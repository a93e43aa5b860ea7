"""Finding a family: by case reference, a child's first name, a parent's name or the court
order reference, with what a worker needs to see in the list.

Children's names, parents' details and the court order reference are to be sealed with the
family key. So the search never relies on a plain copy of them in the database: it reads the
centre's families (a few hundred at most), opens what each one's words are (``_words``: the
one place that will unseal them), and matches in memory. Nothing searched is stored, and a
shredded family, whose key is gone, simply cannot match."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.access import Actor
from service.schema import text
from service.services import Services
from storage.children import court_order_references, names_by_family, open_children
from storage.keyring import KeyRing
from storage.models import (
    Call,
    CallStatus,
    ContactLevel,
    Family,
    FamilySender,
    FamilyStatus,
    Item,
    ItemStatus,
    User,
)

WAITING = (ItemStatus.IN_REVIEW, ItemStatus.AWAITING_SECOND_APPROVAL)
MAX_QUERY = 100


@dataclass(frozen=True)
class FamilySearchInput:
    """What to look for: a case reference, a child's first name, a parent's name or a court
    order reference (part of any of them is enough)."""

    q: str = field(default="", metadata=text(0, MAX_QUERY, "Search for a family"))


@dataclass(frozen=True)
class FamilyRow:
    id: uuid.UUID
    case_reference: str
    children: list[str]
    parents: list[str]
    court_order_reference: str | None
    contact_level: ContactLevel
    status: FamilyStatus
    next_call: datetime | None
    items_waiting: int


@dataclass(frozen=True)
class FamilySearch:
    query: str
    families: list[FamilyRow]
    total: int


def normalise(value: str) -> str:
    """Case, accents and spacing do not matter: "zoë  o'brien" finds "Zoe O'Brien"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def _words(row: FamilyRow) -> str:
    # When children's names, parents' details and the order reference are sealed, this is
    # where they are opened (with the family key) for matching; they are never stored so.
    return normalise(
        " | ".join(
            [
                row.case_reference,
                *row.children,
                *row.parents,
                row.court_order_reference or "",
            ]
        )
    )


def matches(row: FamilyRow, query: str) -> bool:
    """Every word of the query is found in the family's words."""
    words = _words(row)
    return all(part in words for part in normalise(query).split())


async def _rows(session: AsyncSession, keyring: KeyRing, actor: Actor) -> list[FamilyRow]:
    now = datetime.now(UTC)
    families = (
        await session.scalars(
            select(Family)
            .where(Family.centre_id == actor.centre_id)
            .order_by(Family.status, Family.case_reference.desc())
        )
    ).all()
    ids = [f.id for f in families]
    # Searched over the opened names, never a plain copy: a shredded family's are gone.
    children = names_by_family(await open_children(session, keyring, family_ids=ids))
    parents: dict[uuid.UUID, list[str]] = {}
    for family_id, name in await session.execute(
        select(FamilySender.family_id, User.display_name)
        .join(User, User.id == FamilySender.user_id)
        .where(FamilySender.family_id.in_(ids))
        .order_by(User.display_name)
    ):
        parents.setdefault(family_id, []).append(name)
    orders = await court_order_references(session, keyring, ids)
    next_calls: dict[uuid.UUID, datetime] = dict(
        (
            await session.execute(
                select(Call.family_id, func.min(Call.starts_at))
                .where(
                    Call.family_id.in_(ids),
                    Call.ends_at > now,
                    Call.status.in_([CallStatus.SCHEDULED, CallStatus.LIVE]),
                )
                .group_by(Call.family_id)
            )
        ).all()
    )
    waiting: dict[uuid.UUID, int] = dict(
        (
            await session.execute(
                select(Item.family_id, func.count())
                .where(Item.family_id.in_(ids), Item.status.in_(WAITING))
                .group_by(Item.family_id)
            )
        ).all()
    )
    return [
        FamilyRow(
            id=f.id,
            case_reference=f.case_reference,
            children=children.get(f.id, []),
            parents=parents.get(f.id, []),
            court_order_reference=orders.get(f.id),
            contact_level=f.contact_level,
            status=f.status,
            next_call=next_calls.get(f.id),
            items_waiting=int(waiting.get(f.id, 0)),
        )
        for f in families
    ]


async def find_families(services: Services, actor: Actor, data: FamilySearchInput) -> FamilySearch:
    """The centre's families matching ``data.q`` (all of them when it is empty)."""
    async with services.sessionmaker() as session:
        rows = await _rows(session, services.keyring, actor)
    query = data.q.strip()
    found = [row for row in rows if matches(row, query)] if query else rows
    return FamilySearch(query, found, len(rows))


async def court_order_reference(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> str | None:
    """The order reference the family was referred under, if any (none once shredded)."""
    return (await court_order_references(session, keyring, [family_id])).get(family_id)
