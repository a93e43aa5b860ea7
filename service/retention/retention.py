"""Retention rules, when each family's content is due to be destroyed, and the run that
destroys it.

When a rule passes (and no legal hold stands) the family is crypto-shredded by the same
function the ``letterbox shred`` command uses (``service.maintenance.run_shred``): the
``family_shredded`` event is appended, then the family key is destroyed, so every letter,
photo, note and sealed record value becomes unreadable while the record still verifies.
A family already shredded is skipped, so a second run does nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import func, select

from service.errors import Invalid, NotFound
from service.http.rules import Actor
from service.i18n import _
from service.maintenance import run_shred
from service.services import Services
from storage.children import open_children
from storage.models import (
    CentreRetention,
    Family,
    FamilyKey,
    FamilyStatus,
    RecordEvent,
    RetentionKind,
    RetentionRule,
)

__all__ = [
    "DEFAULT_KIND",
    "DEFAULT_YEARS",
    "WARN_BEFORE",
    "FamilyRetention",
    "RuleInput",
    "centre_default",
    "due_on",
    "family_retention",
    "retention_overview",
    "run_retention",
    "set_centre_default",
    "set_family_rule",
    "set_legal_hold",
]

log = logging.getLogger(__name__)

DEFAULT_KIND: Final = RetentionKind.YOUNGEST_25
DEFAULT_YEARS: Final = 6
WARN_BEFORE: Final = timedelta(days=31)
MAX_YEARS: Final = 100


def due_on(
    kind: RetentionKind, years: int, birth_years: list[int], closed_at: datetime | None
) -> date | None:
    """The first day the family's content may be destroyed, or ``None`` (not yet known)."""
    if kind is RetentionKind.YOUNGEST_25:
        if not birth_years:
            return None
        # Only the birth year is kept: the first day the youngest is certainly 25.
        return date(max(birth_years) + 26, 1, 1)
    if closed_at is None:
        return None
    closed = closed_at.date()
    try:
        return closed.replace(year=closed.year + years)
    except ValueError:  # 29 February
        return closed.replace(year=closed.year + years, day=28)


@dataclass(frozen=True)
class RuleInput:
    kind: RetentionKind | None  # None: the centre's default
    years: int | None
    legal_hold: bool

    @classmethod
    def parse(cls, form: dict[str, str]) -> RuleInput:
        text = form.get("kind", "").strip()
        kind = None
        if text and text != "default":
            try:
                kind = RetentionKind(text)
            except ValueError:
                raise Invalid(
                    "Choose how long to keep this family's content.", field="kind"
                ) from None
        years = None
        if kind is RetentionKind.YEARS_AFTER_CLOSURE or form.get("years", "").strip():
            raw = form.get("years", "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_YEARS:
                raise Invalid(
                    _("Years: a whole number from 1 to {most}.").format(most=MAX_YEARS),
                    field="years",
                )
            years = int(raw)
        return cls(kind, years, form.get("legal_hold") == "yes")


async def set_centre_default(
    services: Services, actor: Actor, kind: RetentionKind, years: int
) -> None:
    if not 1 <= years <= MAX_YEARS:
        raise Invalid(
            _("Years: a whole number from 1 to {most}.").format(most=MAX_YEARS), field="years"
        )
    async with services.sessionmaker.begin() as session:
        row = await session.get(CentreRetention, actor.centre_id)
        if row is None:
            row = CentreRetention(
                centre_id=actor.centre_id, kind=kind, years=years, changed_by=actor.user_id
            )
            session.add(row)
        row.kind, row.years, row.changed_by = kind, years, actor.user_id
        row.changed_at = datetime.now(UTC)


async def centre_default(services: Services, actor: Actor) -> tuple[RetentionKind, int]:
    """The centre's default rule: its own, or the built-in one until an admin sets it."""
    async with services.sessionmaker() as session:
        row = await session.get(CentreRetention, actor.centre_id)
    return (row.kind, row.years) if row is not None else (DEFAULT_KIND, DEFAULT_YEARS)


async def set_family_rule(
    services: Services, actor: Actor, family_id: uuid.UUID, rule: RuleInput
) -> None:
    await _change_rule(services, actor, family_id, rule.legal_hold, rule)


async def set_legal_hold(
    services: Services, actor: Actor, family_id: uuid.UUID, legal_hold: bool
) -> None:
    """Set or release the legal hold, keeping the family's rule as it is."""
    await _change_rule(services, actor, family_id, legal_hold, None)


async def _change_rule(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    legal_hold: bool,
    rule: RuleInput | None,
) -> None:
    """The legal hold, and the family's rule unless ``rule`` is ``None``; recorded."""
    async with services.transaction(actor) as work:
        session = work.session
        family = await session.scalar(
            select(Family).where(Family.id == family_id, Family.centre_id == actor.centre_id)
        )
        if family is None:
            raise NotFound()
        row = await session.get(RetentionRule, family_id, with_for_update=True)
        if row is None:
            row = RetentionRule(family_id=family_id, changed_by=actor.user_id)
            session.add(row)
        row.legal_hold = legal_hold
        if rule is not None:
            row.kind, row.years = rule.kind, rule.years
        row.changed_by, row.changed_at = actor.user_id, datetime.now(UTC)
        await session.flush()
        await work.record(
            family_id,
            "retention_changed",
            {
                "kind": None if row.kind is None else row.kind.value,
                "years": row.years,
                "legal_hold": row.legal_hold,
            },
        )


@dataclass(frozen=True)
class FamilyRetention:
    family_id: uuid.UUID
    case_reference: str
    rule: str
    due_on: date | None
    legal_hold: bool
    shredded: bool
    warning: bool  # due within a month and not held
    overdue: bool
    # The family's own rule; ``None``: the centre's default.
    own_kind: RetentionKind | None = None
    own_years: int | None = None


async def _families(
    services: Services,
    centre_id: uuid.UUID | None,
    today: date,
    family_id: uuid.UUID | None = None,
) -> list[FamilyRetention]:
    async with services.sessionmaker() as session:
        query = (
            select(Family, RetentionRule, CentreRetention, FamilyKey.shredded_at)
            .outerjoin(RetentionRule, RetentionRule.family_id == Family.id)
            .outerjoin(CentreRetention, CentreRetention.centre_id == Family.centre_id)
            .outerjoin(FamilyKey, FamilyKey.family_id == Family.id)
        )
        if centre_id is not None:
            query = query.where(Family.centre_id == centre_id)
        if family_id is not None:
            query = query.where(Family.id == family_id)
        rows = (await session.execute(query.order_by(Family.case_reference))).all()
        ids = [r[0].id for r in rows]
        births: dict[uuid.UUID, list[int]] = {}
        for child in await open_children(session, services.keyring, family_ids=ids):
            births.setdefault(child.family_id, []).append(child.birth_year)
        last_event = dict(
            (
                await session.execute(
                    select(RecordEvent.family_id, func.max(RecordEvent.at))
                    .where(RecordEvent.family_id.in_(ids))
                    .group_by(RecordEvent.family_id)
                )
            ).all()
        )
    out = []
    for family, rule, default, shredded_at in rows:
        kind = (rule.kind if rule and rule.kind else None) or (
            default.kind if default else DEFAULT_KIND
        )
        years = (rule.years if rule and rule.years else None) or (
            default.years if default else DEFAULT_YEARS
        )
        # A closed case's last record event is when it closed: nothing happens after closure.
        closed_at = last_event.get(family.id) if family.status is FamilyStatus.CLOSED else None
        due = due_on(kind, years, births.get(family.id, []), closed_at)
        hold = bool(rule and rule.legal_hold)
        own = bool(rule and rule.kind)
        words = _rule_words(kind, years, own)
        out.append(
            FamilyRetention(
                family.id,
                family.case_reference,
                words,
                due,
                hold,
                shredded_at is not None,
                due is not None and not hold and shredded_at is None and due - today <= WARN_BEFORE,
                due is not None and due <= today,
                rule.kind if rule else None,
                rule.years if rule else None,
            )
        )
    return out


def _rule_words(kind: RetentionKind, years: int, own: bool) -> str:
    """The rule as one sentence a translator sees whole, saying when it is the centre's."""
    if kind is RetentionKind.YOUNGEST_25:
        if own:
            return _("until the youngest child is 25")
        return _("until the youngest child is 25 (centre default)")
    if own:
        return _("{years} years after the case closed").format(years=years)
    return _("{years} years after the case closed (centre default)").format(years=years)


async def retention_overview(
    services: Services, actor: Actor, today: date | None = None
) -> list[FamilyRetention]:
    """The centre's families with their retention date; those due within a month first."""
    today = today or datetime.now(services.settings.zone).date()
    found = await _families(services, actor.centre_id, today)
    return sorted(found, key=lambda f: (not f.warning, f.due_on or date.max))


async def family_retention(
    services: Services, actor: Actor, family_id: uuid.UUID, today: date | None = None
) -> FamilyRetention:
    """One family of the actor's centre, as ``retention_overview`` shows it."""
    today = today or datetime.now(services.settings.zone).date()
    found = await _families(services, actor.centre_id, today, family_id)
    if not found:
        raise NotFound()
    return found[0]


async def run_retention(services: Services, today: date | None = None) -> list[uuid.UUID]:
    """Shred every family whose retention has passed, has no legal hold and is not shredded
    yet. Returns the families shredded by this run."""
    today = today or datetime.now(services.settings.zone).date()
    shredded = []
    for family in await _families(services, None, today):
        if family.shredded or family.legal_hold or family.due_on is None or family.due_on > today:
            continue
        await run_shred(services.settings, family.case_reference)
        log.info("retention: family %s shredded", family.family_id)
        shredded.append(family.family_id)
    return shredded
