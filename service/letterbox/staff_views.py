"""What the centre's letterbox pages show, each gathered by one function into one dataclass:
a family's letterbox page (the moderation queue's is ``queue.moderation_queue``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from service.letterbox import gifts
from storage.children import ChildFacts, open_children, open_relationship
from storage.models import Family, FamilySender, OpeningSession, User


@dataclass(frozen=True)
class FamilyLetterbox:
    family: Family
    children: list[ChildFacts]
    gifts: list[dict[str, Any]]
    # (user id, display name, relationship to the child) of each approved sender.
    senders: list[tuple[uuid.UUID, str, str]]
    sessions: list[OpeningSession]


async def family_letterbox(app: web.Application, family_id: uuid.UUID) -> FamilyLetterbox:
    async with app[SESSIONMAKER]() as session:
        family = await session.get(Family, family_id)
        if family is None:
            raise RuntimeError("the access rule let through a family that does not exist")
        # A shredded family's letterbox says when its content was destroyed.
        await app[KEYRING].family_key(session, family_id)
        children = await open_children(session, app[KEYRING], family_ids=[family_id])
        family_gifts = await gifts.gifts_for_staff(app, session, family_id)
        senders = [
            (user_id, name, await open_relationship(session, app[KEYRING], link))
            for user_id, name, link in await session.execute(
                select(User.id, User.display_name, FamilySender)
                .join(FamilySender, FamilySender.user_id == User.id)
                .where(FamilySender.family_id == family_id, FamilySender.approved.is_(True))
                .order_by(User.display_name)
            )
        ]
        sessions = (
            await session.scalars(
                select(OpeningSession)
                .where(OpeningSession.family_id == family_id)
                .order_by(OpeningSession.started_at.desc())
                .limit(20)
            )
        ).all()
    names = {str(user_id): name for user_id, name, _ in senders}
    for gift in family_gifts:
        gift["from_name"] = names.get(gift["from_user_id"] or "", "")
    return FamilyLetterbox(family, list(children), family_gifts, list(senders), list(sessions))
