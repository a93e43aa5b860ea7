"""Holding an item back for a safeguarding concern, and letting it go again.

Withholding takes the item out of every delivery at once: it goes back to "in review" (so
the child's view and the parent's received list no longer show it, and its sender sees
"Being checked", as for any item being moderated: nothing tells them a concern exists),
and ``withheld_at`` stops any moderator deciding on it until it is released. Both run in the
caller's recorded transaction, whose event (``concern_raised`` or
``concern_action_recorded``) is the record of the change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import NotFound
from storage.models import Item, ItemStatus

__all__ = ["release_item", "withhold_item"]


async def withhold_item(session: AsyncSession, item_id: uuid.UUID, now: datetime) -> uuid.UUID:
    """Hold the item back at once; returns its family. Already held: nothing changes."""
    item = await session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound()
    if item.withheld_at is None:
        item.withheld_at = now
        if item.status is not ItemStatus.IN_REVIEW:
            item.status = ItemStatus.IN_REVIEW
        await session.flush()
    return item.family_id


async def release_item(session: AsyncSession, item_id: uuid.UUID) -> None:
    """Let moderators decide on the item again (it stays in review until one does)."""
    item = await session.scalar(select(Item).where(Item.id == item_id).with_for_update())
    if item is not None and item.withheld_at is not None:
        item.withheld_at = None
        await session.flush()
