"""The letter a parent is writing, kept on the server as they type.

One draft per parent per family, its words sealed with the family key like any content. A
time-out, a closed tab, a lost signal or another device never loses the words: the writing
page opens on the draft. Sending the letter discards the draft. Photos are not kept with a
draft (the page says so): they are large, and a photo is sanitised only when it is sent.

A draft is not a contact event (nothing has been sent), so it is not in the family record.
Saving one is not the parent's activity either: the draft route is called with the
``Letterbox-Background`` header, which the session middleware does not count (a phone left
signed in on a letter still times out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select

from service.errors import Conflict, TooLarge
from service.http.rules import Actor
from service.letterbox import sanitise
from service.letterbox.parent import visible_item
from service.letterbox.sanitise import IntakeRefused
from service.localtime import local_time
from service.services import Services
from storage.keyring import FamilyShredded
from storage.models import Family, FamilyStatus, ParentDraft

DRAFT_PURPOSE = "parent-draft"


@dataclass(frozen=True)
class Draft:
    family_id: uuid.UUID
    text: str
    replaces_item_id: uuid.UUID | None
    saved_at: datetime
    saved_text: str
    may_send: bool
    why_not: str | None


def _why_not(family: Family | None) -> str | None:
    if family is None or family.status is FamilyStatus.CLOSED:
        return "Contact through Letterbox has ended for your family. You cannot send this letter."
    if family.status is FamilyStatus.PAUSED:
        return (
            "Sending is paused for now, so you cannot send this letter yet. It stays saved here. "
            "The centre will tell you when you can send again."
        )
    return None


async def load(services: Services, actor: Actor, family_id: uuid.UUID) -> Draft | None:
    async with services.sessionmaker() as session:
        row = await session.scalar(
            select(ParentDraft).where(
                ParentDraft.family_id == family_id, ParentDraft.user_id == actor.user_id
            )
        )
        if row is None:
            return None
        try:
            text = (
                await services.keyring.open_for_family(
                    session, family_id, row.text_sealed, DRAFT_PURPOSE
                )
            ).decode("utf-8")
        except FamilyShredded:
            # The family's content was erased: so were its drafts, as far as anyone can read.
            return None
        family = await session.get(Family, family_id)
    why_not = _why_not(family)
    return Draft(
        family_id,
        text,
        row.replaces_item_id,
        row.updated_at,
        local_time(row.updated_at, services.settings.zone, "%H:%M"),
        why_not is None,
        why_not,
    )


async def save(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    text: str,
    replaces_item_id: uuid.UUID | None = None,
) -> Draft:
    """Keep the words. Over the letter's limit it is refused, naming the limit; the page keeps
    the words in the browser, and the last draft within the limit stays saved."""
    try:
        sanitise.check_text_length(text, services.settings.intake)
    except IntakeRefused as refused:
        raise TooLarge(refused.message, field="text", code="text_too_long") from None
    now = datetime.now(UTC)
    async with services.sessionmaker.begin() as session:
        if replaces_item_id is not None:
            # Only the parent's own items may be named.
            await visible_item(session, actor, family_id, replaces_item_id)
        sealed = await services.keyring.seal_for_family(
            session, family_id, text.encode("utf-8"), DRAFT_PURPOSE
        )
        row = await session.scalar(
            select(ParentDraft)
            .where(ParentDraft.family_id == family_id, ParentDraft.user_id == actor.user_id)
            .with_for_update()
        )
        if row is None:
            session.add(
                ParentDraft(
                    family_id=family_id,
                    user_id=actor.user_id,
                    text_sealed=sealed,
                    replaces_item_id=replaces_item_id,
                    updated_at=now,
                )
            )
        else:
            row.text_sealed = sealed
            row.replaces_item_id = replaces_item_id
            row.updated_at = now
        family = await session.get(Family, family_id)
    why_not = _why_not(family)
    return Draft(
        family_id,
        text,
        replaces_item_id,
        now,
        local_time(now, services.settings.zone, "%H:%M"),
        why_not is None,
        why_not,
    )


async def discard(services: Services, actor: Actor, family_id: uuid.UUID) -> None:
    async with services.sessionmaker.begin() as session:
        await session.execute(
            delete(ParentDraft).where(
                ParentDraft.family_id == family_id, ParentDraft.user_id == actor.user_id
            )
        )


def refuse_if_not_sendable(draft: Draft) -> None:
    if not draft.may_send:
        raise Conflict(draft.why_not or "This letter cannot be sent.", code="family_not_active")
