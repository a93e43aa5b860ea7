"""The moderation queue as a support worker reads it: whose item, from whom, what, how long it
has waited against the centre's target, how many flags, its first words, who is reviewing it.

The waiting target is in working days (Monday to Friday in the centre's time zone), two
unless an admin sets another; an item past it shows as late, and staff are e-mailed (no
content) once a day while any item is late (``late_items_job``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVarTuple

from aiohttp import web
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Invalid
from service.http.access import Actor
from service.i18n import _
from service.letterbox.claims import Claim, current_claims
from service.notify import KINDS
from service.schema import about, number
from service.services import Services
from storage.children import names_by_family, open_children
from storage.models import (
    AccountStatus,
    Centre,
    Direction,
    Family,
    Item,
    ItemPart,
    ItemStatus,
    ModerationTarget,
    PartKind,
    Role,
    StoredObject,
    TranslatorAssignment,
    User,
)

log = logging.getLogger(__name__)
Ts = TypeVarTuple("Ts")

REVIEWABLE = (ItemStatus.IN_REVIEW, ItemStatus.AWAITING_SECOND_APPROVAL)
DEFAULT_TARGET_DAYS = 2
FIRST_WORDS = 12
FIRST_WORDS_CHARS = 90
# Staff are told about late items at most once in this long.
LATE_NOTICE_EVERY = timedelta(hours=24)
# How often each node looks for late items (the notice itself goes out once a day at most).
LATE_CHECK_SECONDS = 15 * 60.0


def working_deadline(start: datetime, days: int, zone: tzinfo) -> datetime:
    """``days`` working days after ``start``: Saturdays and Sundays in the centre's zone do
    not count (an item sent on Friday evening with a two-day target is late on Tuesday)."""
    local = start.astimezone(zone)
    left = days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local.astimezone(UTC)


def waited_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours = minutes // 60
    if hours < 48:
        return _("{hours} h").format(hours=hours)
    return _("{days} days").format(days=hours // 24)


@dataclass(frozen=True)
class QueueFilters:
    family_id: uuid.UUID | None = None
    direction: Direction | None = None
    flagged_only: bool = False
    late_only: bool = False

    @classmethod
    def from_query(cls, query: object) -> QueueFilters:
        """From a page's or the API's query string; a bad value names its field."""
        get = getattr(query, "get")  # noqa: B009 - a MultiDict or a dict alike
        family_id = None
        direction = None
        if raw := get("family_id"):
            try:
                family_id = uuid.UUID(str(raw))
            except ValueError:
                raise Invalid("That is not a family id.", field="family_id") from None
        if raw := get("direction"):
            try:
                direction = Direction(str(raw))
            except ValueError:
                raise Invalid("Direction is to_child or to_parent.", field="direction") from None

        def flag(name: str) -> bool:
            raw = str(get(name) or "")
            if raw not in ("", "1", "true", "on", "0", "false"):
                raise Invalid(_("{name} is true or false.").format(name=name), field=name)
            return raw in ("1", "true", "on")

        return cls(family_id, direction, flag("flagged"), flag("late"))


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters, as query parameters (all optional; flags are true or false)."""

    family_id: uuid.UUID | None = field(default=None, metadata=about("Only this family's items"))
    direction: Direction | None = field(default=None, metadata=about("Only this direction"))
    flagged: bool = field(default=False, metadata=about("Only items with scanner flags"))
    late: bool = field(default=False, metadata=about("Only items waiting past the target"))


@dataclass(frozen=True)
class QueueRow:
    item_id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    child_name: str
    sender: str
    kind: str
    direction: Direction
    status: ItemStatus
    submitted_at: datetime
    age: str
    late: bool
    flags: int
    first_words: str | None
    claimed_by: str | None
    claimed_by_me: bool


@dataclass(frozen=True)
class FamilyChoice:
    id: uuid.UUID
    label: str


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    families: list[FamilyChoice]
    target_days: int
    waiting: int
    late: int
    filters: QueueFilters = field(default_factory=QueueFilters)


async def target_days(session: AsyncSession, centre_id: uuid.UUID) -> int:
    days = await session.scalar(
        select(ModerationTarget.working_days).where(ModerationTarget.centre_id == centre_id)
    )
    return int(days) if days is not None else DEFAULT_TARGET_DAYS


@dataclass(frozen=True)
class WaitingTargetInput:
    """How long an item may wait for moderation before it shows as late."""

    working_days: int = field(metadata=number(1, 10, "Working days an item may wait"))


async def set_target_days(services: Services, actor: Actor, data: WaitingTargetInput) -> int:
    async with services.sessionmaker() as session, session.begin():
        target = await session.get(ModerationTarget, actor.centre_id, with_for_update=True)
        if target is None:
            session.add(ModerationTarget(centre_id=actor.centre_id, working_days=data.working_days))
        else:
            target.working_days = data.working_days
    return data.working_days


async def get_target_days(services: Services, actor: Actor) -> int:
    async with services.sessionmaker() as session:
        return await target_days(session, actor.centre_id)


def _first_words(text: str) -> str:
    words = " ".join(text.split()[:FIRST_WORDS])
    if len(words) > FIRST_WORDS_CHARS:
        words = words[:FIRST_WORDS_CHARS].rsplit(" ", 1)[0]
    return words + ("…" if words != " ".join(text.split()) else "")


async def _texts(
    services: Services, session: AsyncSession, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not item_ids or services.vault is None:
        return {}
    rows = await session.execute(
        select(ItemPart.item_id, StoredObject)
        .join(StoredObject, StoredObject.id == ItemPart.sanitised_object_id)
        .where(ItemPart.item_id.in_(item_ids), ItemPart.kind == PartKind.TEXT)
    )
    texts: dict[uuid.UUID, str] = {}
    for item_id, stored in rows:
        try:
            texts[item_id] = _first_words(
                (await services.store.read_bytes(session, stored)).decode("utf-8")
            )
        except (OSError, ValueError):
            # The preview is a convenience: a row without it still opens the item.
            log.warning("could not read the first words of item %s", item_id)
    return texts


def _assigned_only(query: Select[*Ts], actor: Actor) -> Select[*Ts]:
    """A translator's view of a query over families: only the families assigned to them
    (``TranslatorAssignment``); staff see the centre's."""
    if actor.role is not Role.TRANSLATOR:
        return query
    return query.join(
        TranslatorAssignment,
        (TranslatorAssignment.family_id == Family.id)
        & (TranslatorAssignment.user_id == actor.user_id),
    )


async def moderation_queue(
    services: Services, actor: Actor, filters: QueueFilters | None = None
) -> Queue:
    """Every item waiting at the centre, oldest first, as the queue page and API show it; for
    a translator, only the items of the families assigned to them."""
    filters = filters or QueueFilters()
    now = datetime.now(UTC)
    zone = services.settings.zone
    async with services.sessionmaker() as session:
        days = await target_days(session, actor.centre_id)
        query = _assigned_only(
            select(Item, Family.case_reference, User.display_name)
            .join(Family, Family.id == Item.family_id)
            .join(User, User.id == Item.sender_id)
            .where(Family.centre_id == actor.centre_id, Item.status.in_(REVIEWABLE))
            .order_by(Item.submitted_at, Item.id),
            actor,
        )
        if filters.family_id is not None:
            query = query.where(Item.family_id == filters.family_id)
        if filters.direction is not None:
            query = query.where(Item.direction == filters.direction)
        found = (await session.execute(query)).all()
        ids = [item.id for item, *_ in found]
        hits: dict[uuid.UUID, int] = {}
        for item_id, part_hits in await session.execute(
            select(ItemPart.item_id, ItemPart.scan_hits).where(ItemPart.item_id.in_(ids))
        ):
            hits[item_id] = hits.get(item_id, 0) + len(part_hits or [])
        first_children, child_names = await _first_children(services, session, actor.centre_id)
        claims = await current_claims(session, ids, now)
        rows: list[QueueRow] = []
        for item, reference, sender_name in found:
            child = (
                child_names.get(item.child_id, "") if item.child_id else ""
            ) or first_children.get(item.family_id, "")
            late = now >= working_deadline(item.submitted_at, days, zone)
            if filters.late_only and not late:
                continue
            if filters.flagged_only and not hits.get(item.id):
                continue
            claim: Claim | None = claims.get(item.id)
            rows.append(
                QueueRow(
                    item_id=item.id,
                    family_id=item.family_id,
                    case_reference=reference,
                    child_name=child,
                    # A reply is the child's, typed by a staff member: named as the child's.
                    sender=(
                        f"{child}’s reply" if item.direction is Direction.TO_PARENT else sender_name
                    ),
                    kind=item.kind.value,
                    direction=item.direction,
                    status=item.status,
                    submitted_at=item.submitted_at,
                    age=waited_text(now - item.submitted_at),
                    late=late,
                    flags=hits.get(item.id, 0),
                    first_words=None,
                    claimed_by=claim.moderator_name if claim else None,
                    claimed_by_me=bool(claim and claim.held_by(actor)),
                )
            )
        previews = await _texts(services, session, [r.item_id for r in rows])
        rows = [_with_words(r, previews.get(r.item_id)) for r in rows]
        families = [
            FamilyChoice(family_id, f"{ref} ({first_children[family_id]})")
            if first_children.get(family_id)
            else FamilyChoice(family_id, ref)
            for family_id, ref in await session.execute(
                _assigned_only(
                    select(Family.id, Family.case_reference)
                    .where(Family.centre_id == actor.centre_id)
                    .order_by(Family.case_reference),
                    actor,
                )
            )
        ]
    return Queue(rows, families, days, len(found), sum(r.late for r in rows), filters)


def _with_words(row: QueueRow, words: str | None) -> QueueRow:
    return replace(row, first_words=words)


async def _first_children(
    services: Services, session: AsyncSession, centre_id: uuid.UUID
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Each family's children's first names, for telling families apart at a glance, and
    each child's name."""
    children = await open_children(session, services.keyring, centre_id=centre_id)
    joined = {f: " and ".join(n) for f, n in names_by_family(children).items()}
    return joined, {c.id: c.name for c in children}


@dataclass(frozen=True)
class QueueSummary:
    """What a home page says about the queue."""

    waiting: int
    late: int
    target_days: int
    oldest_submitted_at: datetime | None
    oldest_waited: str | None


async def queue_summary(services: Services, actor: Actor) -> QueueSummary:
    now = datetime.now(UTC)
    async with services.sessionmaker() as session:
        days = await target_days(session, actor.centre_id)
        submitted = (
            await session.scalars(
                select(Item.submitted_at)
                .join(Family, Family.id == Item.family_id)
                .where(Family.centre_id == actor.centre_id, Item.status.in_(REVIEWABLE))
                .order_by(Item.submitted_at)
            )
        ).all()
    zone = services.settings.zone
    late = sum(1 for at in submitted if now >= working_deadline(at, days, zone))
    oldest = submitted[0] if submitted else None
    return QueueSummary(
        len(submitted), late, days, oldest, waited_text(now - oldest) if oldest else None
    )


# --- the late-items e-mail ---------------------------------------------------------------------


async def late_items_job(app: web.Application) -> None:
    """Tell each centre's staff, once a day at most, that items are past the waiting target.
    Idempotent: the notice time is claimed with a conditional update before anything is
    sent, so two nodes running the job at once send one e-mail each person, not two."""
    services = Services.of(app)
    now = datetime.now(UTC)
    async with services.sessionmaker() as session:
        centres = (await session.scalars(select(Centre.id))).all()
    for centre_id in centres:
        await _tell_centre(services, centre_id, now)


async def _tell_centre(services: Services, centre_id: uuid.UUID, now: datetime) -> None:
    zone = services.settings.zone
    async with services.sessionmaker() as session, session.begin():
        days = await target_days(session, centre_id)
        oldest = await session.scalar(
            select(func.min(Item.submitted_at))
            .join(Family, Family.id == Item.family_id)
            .where(Family.centre_id == centre_id, Item.status.in_(REVIEWABLE))
        )
        if oldest is None or now < working_deadline(oldest, days, zone):
            return
        if await session.get(ModerationTarget, centre_id) is None:
            session.add(ModerationTarget(centre_id=centre_id, working_days=days))
            await session.flush()
        claimed = await session.execute(
            update(ModerationTarget)
            .where(
                ModerationTarget.centre_id == centre_id,
                (ModerationTarget.late_notice_sent_at.is_(None))
                | (ModerationTarget.late_notice_sent_at <= now - LATE_NOTICE_EVERY),
            )
            .values(late_notice_sent_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return
        emails = (
            await session.scalars(
                select(User.email).where(
                    User.centre_id == centre_id,
                    User.role.in_([Role.STAFF, Role.ADMIN]),
                    User.status == AccountStatus.ACTIVE,
                )
            )
        ).all()
    for email in emails:
        try:
            await services.mailer.send(
                to=email,
                subject=KINDS["items_late"].subject,
                template="items_late",
                context={"link": services.link("/staff/moderation")},
            )
        except Exception:
            # The notice time is already taken: a failed e-mail waits for tomorrow's run
            # rather than sending twice to those it reached.
            log.warning("could not tell a staff member about late items", exc_info=True)
