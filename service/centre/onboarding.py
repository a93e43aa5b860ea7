"""Accepting a referral carries it through: the family (with its children), the parents
invited as senders, the referring person given access to the family's exports, and the
places and names the risk concerns offered as sensitive terms on the family's page.

The family is created first, in its own recorded transaction; each invitation and the
referrer's access are then their own recorded changes. One that cannot be made (an e-mail
address already used by another kind of account) does not undo the family: it is reported,
by name, so the admin can put it right on the family's page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.centre import families, referrals
from service.http.access import Actor
from service.schema import InvalidInput
from service.services import Services

# A referrer follows the case through the proceedings; the admin can end it sooner.
REFERRER_ACCESS_DAYS = 365


@dataclass(frozen=True)
class Accepted:
    family_id: uuid.UUID
    # Sentences naming what could not be done, for the admin to put right.
    problems: list[str]


def _message(error: InvalidInput) -> str:
    return " ".join(error.errors.values())


async def accept(services: Services, actor: Actor, referral_id: uuid.UUID) -> Accepted:
    family_id = await referrals.accept_referral(services, actor, referral_id)
    carry = await referrals.carried_by_referral(services, actor, referral_id)
    problems: list[str] = []
    for parent in carry.parents:
        try:
            await families.invite_parent(
                services,
                actor,
                family_id,
                families.ParentInviteInput(
                    email=parent.email,
                    display_name=parent.display_name,
                    relationship_to_child=parent.relationship_to_child,
                ),
            )
        except InvalidInput as error:
            problems.append(f"{parent.display_name} was not invited: {_message(error)}")
    try:
        await families.grant_referrer_access(
            services,
            actor,
            family_id,
            families.ReferrerAccessInput(
                email=carry.referrer_email,
                display_name=carry.referrer_name,
                days=REFERRER_ACCESS_DAYS,
            ),
        )
    except InvalidInput as error:
        problems.append(f"{carry.referrer_name} was not given access: {_message(error)}")
    return Accepted(family_id, problems)
