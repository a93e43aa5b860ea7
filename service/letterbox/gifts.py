"""Physical gifts: logged when received, checked, then handed over or returned.

Each step is a record event. The description is sealed under the family key; a photo of the
gift goes through the same sanitiser as any upload and is kept as a GIFT_PHOTO object.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.appkeys import KEYRING, SETTINGS, VAULT
from service.errors import Conflict, Invalid, NotFound
from service.http.access import Actor, family_of
from service.i18n import N_, _
from service.letterbox.intake import (
    Submission,
    sanitise_uploads,
    scan_for_malware,
)
from service.localtime import day_in_words
from service.services import Services
from storage.db import rows_connection
from storage.directread import DirectRead
from storage.models import FamilySender, GiftStatus, ObjectRole, PhysicalGift

DESCRIPTION_PURPOSE = "gift-description"
MAX_DESCRIPTION_CHARS = 500
# A gift's step in words, as a refused step names it ("This gift is received; …").
_STATUS_WORDS = {
    GiftStatus.RECEIVED: N_("received"),
    GiftStatus.CHECKED: N_("checked"),
    GiftStatus.HANDED_OVER: N_("handed over"),
    GiftStatus.RETURNED: N_("sent back to the sender"),
}

STEPS: dict[str, tuple[GiftStatus, frozenset[GiftStatus], str]] = {
    "checked": (GiftStatus.CHECKED, frozenset({GiftStatus.RECEIVED}), "gift_checked"),
    "handed-over": (GiftStatus.HANDED_OVER, frozenset({GiftStatus.CHECKED}), "gift_handed_over"),
    "returned": (
        GiftStatus.RETURNED,
        frozenset({GiftStatus.RECEIVED, GiftStatus.CHECKED}),
        "gift_returned",
    ),
}


STATUS_WORDS = {
    GiftStatus.RECEIVED: N_("Received, not checked yet"),
    GiftStatus.CHECKED: N_("Checked, ready to hand over"),
    GiftStatus.HANDED_OVER: N_("Handed over to the child"),
    GiftStatus.RETURNED: N_("Returned"),
}


# Access lookup: the family a gift in the path belongs to.
family_of_gift = family_of(PhysicalGift, "gift_id")


async def log_received(
    app: web.Application, actor: Actor, family_id: uuid.UUID, submission: Submission
) -> dict[str, Any]:
    description = (submission.fields.get("description") or submission.text).strip()
    if not description:
        raise Invalid(
            "Please describe the gift (for example “a blue teddy bear”).", field="description"
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise Invalid(
            _("The description may be at most {limit} characters.").format(
                limit=MAX_DESCRIPTION_CHARS
            ),
            field="description",
        )
    if len(submission.files) > 1:
        raise Invalid("Attach at most one photo of the gift.", field="files")
    from_user: uuid.UUID | None = None
    raw_from = submission.fields.get("from_user_id", "")
    if raw_from:
        try:
            from_user = uuid.UUID(raw_from)
        except ValueError:
            raise Invalid("Choose who the gift is from.", field="from_user_id") from None
    for upload in submission.files:
        await scan_for_malware(app, actor, family_id, upload)
    photos = await sanitise_uploads(app, submission.files, sender=actor.user_id)
    if photos and photos[0].kind != "image":
        raise Invalid("The gift photo must be a photo, not a document.", field="files")
    async with Services.of(app).transaction(actor) as work:
        session = work.session
        if from_user is not None:
            sender = await session.scalar(
                select(FamilySender.id).where(
                    FamilySender.family_id == family_id, FamilySender.user_id == from_user
                )
            )
            if sender is None:
                raise Invalid("Choose one of this family's approved senders.", field="from_user_id")
        photo_id = None
        photo_sha = None
        if photos:
            page = photos[0].pages[0]
            stored = await app[VAULT].put_bytes(
                session,
                family_id,
                page.data,
                role=ObjectRole.GIFT_PHOTO,
                media_type=page.media_type,
            )
            photo_id, photo_sha = stored.id, stored.sha256
            await session.flush()
        plaintext = description.encode("utf-8")
        now = datetime.now(UTC)
        gift = PhysicalGift(
            id=uuid.uuid4(),
            family_id=family_id,
            from_user_id=from_user,
            description_sealed=await app[KEYRING].seal_for_family(
                session, family_id, plaintext, DESCRIPTION_PURPOSE
            ),
            photo_object_id=photo_id,
            status=GiftStatus.RECEIVED,
            received_at=now,
            received_by=actor.user_id,
        )
        session.add(gift)
        await session.flush()
        await work.record(
            family_id,
            "gift_logged",
            {
                "gift_id": gift.id,
                "from_user_id": from_user,
                "description_sha256": hashlib.sha256(plaintext).hexdigest(),
                "photo_object_id": photo_id,
                "photo_sha256": photo_sha,
                "received_at": now,
            },
        )
    return {"gift_id": str(gift.id), "status": gift.status.value}


async def advance(
    app: web.Application, actor: Actor, gift_id: uuid.UUID, step: str
) -> dict[str, Any]:
    if step not in STEPS:
        raise NotFound()
    target, allowed_from, event = STEPS[step]
    async with Services.of(app).transaction(actor) as work:
        gift = await work.session.scalar(
            select(PhysicalGift).where(PhysicalGift.id == gift_id).with_for_update()
        )
        if gift is None:
            raise NotFound()
        if gift.status not in allowed_from:
            raise Conflict(
                _("This gift is {status}; it cannot be marked {step} now.").format(
                    status=_(_STATUS_WORDS[gift.status]), step=_(_STATUS_WORDS[target])
                ),
                code="gift_step_out_of_order",
            )
        now = datetime.now(UTC)
        gift.status = target
        if target is GiftStatus.CHECKED:
            gift.checked_at, gift.checked_by = now, actor.user_id
        elif target is GiftStatus.HANDED_OVER:
            gift.handed_over_at, gift.closed_by = now, actor.user_id
        else:
            gift.returned_at, gift.closed_by = now, actor.user_id
        await work.session.flush()
        await work.record(gift.family_id, event, {"gift_id": gift.id, "at": now})
    return {"gift_id": str(gift.id), "status": gift.status.value}


async def gifts_for_staff(
    app: web.Application, session: AsyncSession, family_id: uuid.UUID
) -> list[dict[str, Any]]:
    gifts = (
        await session.scalars(
            select(PhysicalGift)
            .where(PhysicalGift.family_id == family_id)
            .order_by(PhysicalGift.received_at)
        )
    ).all()
    keyring = app[KEYRING]
    zone = app[SETTINGS].zone
    return [
        {
            "gift_id": str(g.id),
            "status": g.status.value,
            "status_text": STATUS_WORDS[g.status],
            "from_user_id": str(g.from_user_id) if g.from_user_id else None,
            "received_on": day_in_words(g.received_at, zone),
            "checked_on": day_in_words(g.checked_at, zone),
            "closed_on": day_in_words(g.handed_over_at or g.returned_at, zone),
            "description": (
                await keyring.open_for_family(
                    session, family_id, g.description_sealed, DESCRIPTION_PURPOSE
                )
            ).decode("utf-8"),
            "received_at": g.received_at.isoformat(),
            "checked_at": g.checked_at.isoformat() if g.checked_at else None,
            "handed_over_at": g.handed_over_at.isoformat() if g.handed_over_at else None,
            "returned_at": g.returned_at.isoformat() if g.returned_at else None,
            "has_photo": g.photo_object_id is not None,
        }
        for g in gifts
    ]


# Built once: every letterbox view of a parent runs it. Plain columns, not ORM objects.
_PARENT_GIFTS = DirectRead(
    select(
        PhysicalGift.id,
        PhysicalGift.description_sealed,
        PhysicalGift.received_at,
        PhysicalGift.handed_over_at,
        PhysicalGift.status,
    )
    .where(
        PhysicalGift.family_id == bindparam("family_id"),
        PhysicalGift.from_user_id == bindparam("parent_id"),
    )
    .order_by(PhysicalGift.received_at)
)


async def gifts_for_parent(
    app: web.Application, session: AsyncSession, family_id: uuid.UUID, parent_id: uuid.UUID
) -> list[dict[str, Any]]:
    """What a parent sees of the gifts they sent: received, and given on a date."""
    connection = await rows_connection(session)  # plain rows, as in parent.overview
    gifts = await _PARENT_GIFTS.rows(connection, {"family_id": family_id, "parent_id": parent_id})
    keyring = app[KEYRING]
    zone = app[SETTINGS].zone
    return [
        {
            "gift_id": str(g.id),
            "description": (
                await keyring.open_for_family(
                    session, family_id, g.description_sealed, DESCRIPTION_PURPOSE
                )
            ).decode("utf-8"),
            "received_on": g.received_at.astimezone(zone).date().isoformat(),
            "given_on": g.handed_over_at.astimezone(zone).date().isoformat()
            if g.handed_over_at
            else None,
            "returned": g.status is GiftStatus.RETURNED,
            # The same dates in words, for the parent's page.
            "received_on_text": day_in_words(g.received_at, zone),
            "given_on_text": day_in_words(g.handed_over_at, zone),
        }
        for g in gifts
    ]
