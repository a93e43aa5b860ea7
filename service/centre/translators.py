"""Translators on families: an admin gives a translator the moderation of one family's items,
and takes it away again, from the family's page.

A translator has an account like staff (invited from the people page, password and TOTP),
with the role ``translator``, which on its own reaches nothing of the centre. What they may
moderate is a ``TranslatorAssignment`` per family, written here with a
``translator_assigned`` event in the family record and removed with ``translator_removed``,
in the same transaction, like a referrer's access. The access layer reads the assignment on
every request (``service.http.access.is_assigned``), so a removal refuses the next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import NotFound
from service.http.access import Actor
from service.schema import InvalidInput, about
from service.services import Services
from storage.models import (
    AccountStatus,
    Family,
    Item,
    ItemClaim,
    Role,
    TranslatorAssignment,
    User,
)
from storage.record import RecordedWork
from storage.recordformat import EventKind


@dataclass(frozen=True)
class AssignTranslatorInput:
    """Which of the centre's translators moderates this family's items."""

    translator_id: uuid.UUID = field(metadata=about("The translator"))


@dataclass(frozen=True)
class AssignedTranslator:
    user_id: uuid.UUID
    display_name: str
    email: str
    status: AccountStatus
    assigned_at: datetime


@dataclass(frozen=True)
class TranslatorChoice:
    user_id: uuid.UUID
    label: str


@dataclass(frozen=True)
class FamilyTranslators:
    """The family page's translator section: who is assigned, and who could be."""

    assigned: list[AssignedTranslator]
    choices: list[TranslatorChoice]

    @property
    def options(self) -> list[tuple[str, str]]:
        """The choices as a select's (value, text) options."""
        return [(str(c.user_id), c.label) for c in self.choices]


async def _family(session: AsyncSession, actor: Actor, family_id: uuid.UUID) -> Family:
    family = await session.scalar(
        select(Family)
        .where(Family.id == family_id, Family.centre_id == actor.centre_id)
        .with_for_update()
    )
    if family is None:
        raise NotFound("We could not find that family.")
    return family


async def family_translators(
    services: Services, actor: Actor, family_id: uuid.UUID
) -> FamilyTranslators:
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(User, TranslatorAssignment.assigned_at)
            .join(TranslatorAssignment, TranslatorAssignment.user_id == User.id)
            .where(TranslatorAssignment.family_id == family_id)
            .order_by(User.display_name)
        )
        assigned = [
            AssignedTranslator(u.id, u.display_name, u.email, u.status, at) for u, at in rows
        ]
        taken = {a.user_id for a in assigned}
        others = await session.scalars(
            select(User)
            .where(
                User.centre_id == actor.centre_id,
                User.role == Role.TRANSLATOR,
                User.status != AccountStatus.DISABLED,
            )
            .order_by(User.display_name)
        )
        choices = [
            TranslatorChoice(u.id, f"{u.display_name} ({u.email})")
            for u in others
            if u.id not in taken
        ]
    return FamilyTranslators(assigned, choices)


async def assign_translator(
    services: Services, actor: Actor, family_id: uuid.UUID, data: AssignTranslatorInput
) -> None:
    """Give one of the centre's translators this family's moderation. Anyone who is not an
    active or invited translator of this centre is refused, never given access."""
    async with services.transaction(actor) as work:
        session = work.session
        family = await _family(session, actor, family_id)
        user = await session.scalar(
            select(User).where(
                User.id == data.translator_id,
                User.centre_id == actor.centre_id,
                User.role == Role.TRANSLATOR,
            )
        )
        if user is None:
            raise InvalidInput(
                {
                    "translator_id": "Please choose one of the centre's translators. To add "
                    "a translator, invite them from the people page first."
                }
            )
        if user.status is AccountStatus.DISABLED:
            raise InvalidInput(
                {"translator_id": "That translator's account is disabled, so they cannot help."}
            )
        already = await session.scalar(
            select(TranslatorAssignment.id).where(
                TranslatorAssignment.user_id == user.id,
                TranslatorAssignment.family_id == family.id,
            )
        )
        if already is not None:
            raise InvalidInput(
                {"translator_id": f"{user.display_name} already moderates this family's items."}
            )
        session.add(
            TranslatorAssignment(
                user_id=user.id,
                family_id=family.id,
                assigned_by=actor.user_id,
                assigned_at=datetime.now(UTC),
            )
        )
        await session.flush()
        await _record(work, family.id, EventKind.TRANSLATOR_ASSIGNED, user.id)


async def remove_translator(
    services: Services, actor: Actor, family_id: uuid.UUID, translator_id: uuid.UUID
) -> None:
    """End a translator's moderation of this family: their next request is refused, and the
    items of the family they were reviewing are free for staff at once (their claims go)."""
    async with services.transaction(actor) as work:
        family = await _family(work.session, actor, family_id)
        removed = await work.session.execute(
            delete(TranslatorAssignment)
            .where(
                TranslatorAssignment.user_id == translator_id,
                TranslatorAssignment.family_id == family.id,
            )
            .returning(TranslatorAssignment.id)
        )
        if removed.first() is None:
            raise NotFound("That translator does not moderate this family's items.")
        await work.session.execute(
            update(ItemClaim)
            .where(
                ItemClaim.moderator_id == translator_id,
                ItemClaim.released_at.is_(None),
                ItemClaim.item_id.in_(select(Item.id).where(Item.family_id == family.id)),
            )
            .values(released_at=datetime.now(UTC))
        )
        await _record(work, family.id, EventKind.TRANSLATOR_REMOVED, translator_id)


async def _record(
    work: RecordedWork, family_id: uuid.UUID, kind: EventKind, user_id: uuid.UUID
) -> None:
    await work.record(family_id, kind, {"user_id": str(user_id)})
