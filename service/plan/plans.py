"""The contact plan: what the order or agreement says, and what is due, sent and overdue.

A plan gives each channel a frequency: "every N days/weeks/months" from the plan's start
(one contact per window, due by the window's last day, allowed from its first), or a list of
dates ("birthday and Christmas": each date a window of the two weeks up to it). Dates to
avoid move "can be sent from" past them. The names the child is never to be called become
the family's sensitive terms, so the scanner flags them in both directions. Every change
appends ``plan_changed`` (the plan sealed, never in the clear).

Windows are whole days in the centre's zone; what was sent is counted from the family's own
tables: letters and digital gifts sent to the child (not returned or rejected), video calls
not cancelled.
"""

from __future__ import annotations

import calendar
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Invalid, NotFound
from service.http.rules import Actor
from service.i18n import N_, _
from service.localtime import local_day
from service.services import Services
from storage import record
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import (
    Call,
    CallStatus,
    ContactPlan,
    Direction,
    Family,
    FamilySender,
    FamilyStatus,
    Item,
    ItemKind,
    ItemStatus,
    SensitiveTerm,
)

__all__ = [
    "CHANNELS",
    "ChannelStatus",
    "FamilyPlan",
    "NextLetter",
    "OverdueEntry",
    "PlanInput",
    "Rule",
    "beyond_plan",
    "court_plan",
    "family_plan",
    "next_letters",
    "overdue_list",
    "plan_status",
    "planned_per_month",
    "set_plan",
    "windows",
]

PLAN_PURPOSE: Final = "contact-plan"
# The purpose the letterbox's screening opens sensitive terms with (service.centre.families).
TERM_PURPOSE: Final = "sensitive-term"
CARD_WINDOW: Final = timedelta(days=14)  # a card for a date may be sent in the two weeks up to it
CHANNELS: Final = {"letters": "letter", "gifts": "gift", "video": "video call"}
UNITS: Final = ("days", "weeks", "months")
# A channel given both ways, in a whole sentence for each channel.
_BOTH_WAYS: Final = {
    "letters": N_("Give the letters either a frequency or dates, not both."),
    "gifts": N_("Give the gifts either a frequency or dates, not both."),
    "video": N_("Give the video calls either a frequency or dates, not both."),
}
# The plan form's words for each channel and unit: whole labels, never a word plus "s".
CHANNEL_HEADINGS: Final = {
    "letters": N_("Letters"),
    "gifts": N_("Gifts"),
    "video": N_("Video calls"),
}
UNIT_LABELS: Final = {
    "letters": N_("Unit for letters"),
    "gifts": N_("Unit for gifts"),
    "video": N_("Unit for video calls"),
}
UNIT_WORDS: Final = {"days": N_("days"), "weeks": N_("weeks"), "months": N_("months")}
# A rule in words: (one, many) for "every" rules, each a whole sentence for the translator.
_EVERY: Final = {
    ("letters", "days"): (N_("A letter every day"), N_("A letter every {every} days")),
    ("letters", "weeks"): (N_("A letter every week"), N_("A letter every {every} weeks")),
    ("letters", "months"): (N_("A letter every month"), N_("A letter every {every} months")),
    ("gifts", "days"): (N_("A gift every day"), N_("A gift every {every} days")),
    ("gifts", "weeks"): (N_("A gift every week"), N_("A gift every {every} weeks")),
    ("gifts", "months"): (N_("A gift every month"), N_("A gift every {every} months")),
    ("video", "days"): (N_("A video call every day"), N_("A video call every {every} days")),
    ("video", "weeks"): (N_("A video call every week"), N_("A video call every {every} weeks")),
    ("video", "months"): (
        N_("A video call every month"),
        N_("A video call every {every} months"),
    ),
}
_ON_DAYS: Final = {
    "letters": N_("A letter for {days}"),
    "gifts": N_("A gift for {days}"),
    "video": N_("A video call for {days}"),
}
MAX_EVERY: Final = 366
_DAY_MONTH: Final = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")
NOT_SENT: Final = (ItemStatus.RETURNED, ItemStatus.REJECTED)


# --- the plan's rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    channel: str
    every: int | None = None
    unit: str | None = None
    dates: tuple[tuple[int, int], ...] = ()  # (month, day)

    def words(self) -> str:
        """The rule as a sentence in the reader's language ("A letter every 2 months")."""
        if self.every is not None and self.unit is not None:
            one, many = _EVERY[(self.channel, self.unit)]
            return _(one) if self.every == 1 else _(many).format(every=self.every)
        days = ", ".join(local_day(date(2000, m, d), "%-d %B") for m, d in self.dates)
        return _(_ON_DAYS[self.channel]).format(days=days)

    def as_json(self) -> dict[str, Any]:
        if self.every is not None:
            return {"channel": self.channel, "every": self.every, "unit": self.unit}
        return {"channel": self.channel, "dates": [f"{m:02d}-{d:02d}" for m, d in self.dates]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        if "every" in data:
            return cls(str(data["channel"]), int(data["every"]), str(data["unit"]))
        dates = tuple(
            (int(text[:2]), int(text[3:])) for text in data.get("dates", ()) if len(text) == 5
        )
        return cls(str(data["channel"]), dates=dates)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _step(start: date, rule: Rule, k: int) -> date:
    assert rule.every is not None  # noqa: S101 - only called for frequency rules
    if rule.unit == "months":
        return _add_months(start, k * rule.every)
    days = rule.every * (7 if rule.unit == "weeks" else 1)
    return start + timedelta(days=k * days)


def _safe_date(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def windows(
    rule: Rule, starts_on: date, ends_on: date | None, until: date
) -> list[tuple[date, date]]:
    """The rule's windows (first allowed day, due-by day) from the plan's start, up to the
    first window ending on or after ``until``, cut at the plan's end."""
    found: list[tuple[date, date]] = []
    if rule.every is not None:
        k = 0
        while True:
            first, nxt = _step(starts_on, rule, k), _step(starts_on, rule, k + 1)
            if ends_on is not None and first > ends_on:
                break
            last = nxt - timedelta(days=1)
            if ends_on is not None:
                last = min(last, ends_on)
            found.append((first, last))
            if last >= until:
                break
            k += 1
    else:
        for year in range(starts_on.year, until.year + 2):
            for month, day in sorted(rule.dates):
                due = _safe_date(year, month, day)
                if due < starts_on or (ends_on is not None and due > ends_on):
                    continue
                found.append((max(starts_on, due - CARD_WINDOW), due))
        found.sort()
        upto = [w for w in found if w[1] < until]
        later = [w for w in found if w[1] >= until][:1]
        found = upto + later
    return found


# --- reading and writing the plan ----------------------------------------------------------


@dataclass(frozen=True)
class FamilyPlan:
    family_id: uuid.UUID
    starts_on: date
    review_on: date | None
    ends_on: date | None
    order_reference: str
    rules: tuple[Rule, ...]
    avoid: tuple[tuple[date, date], ...]  # (first, last) day, in the plan's years
    avoid_text: str
    names_to_use: tuple[str, ...]
    names_never: tuple[str, ...]
    version: int

    def avoided(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.avoid)

    def rule(self, channel: str) -> Rule | None:
        return next((r for r in self.rules if r.channel == channel), None)


def _parse_day(text: str, field: str, label: str, *, required: bool) -> date | None:
    """``label``: which date, in words marked with ``N_`` (translated here)."""
    text = text.strip()
    if not text:
        if required:
            raise Invalid(
                _("Please give the {label} (YYYY-MM-DD).").format(label=_(label)), field=field
            )
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            _(
                "The {label} “{text}” is not a date. Write it as YYYY-MM-DD, for example "
                "2026-12-25."
            ).format(label=_(label), text=text[:20]),
            field=field,
        ) from None


def _day_month(text: str, field: str) -> tuple[int, int]:
    match = _DAY_MONTH.match(text)
    if match is None:
        raise Invalid(
            _("“{text}” is not a day and month. Write them as DD/MM, for example 25/12.").format(
                text=text.strip()[:20]
            ),
            field=field,
        )
    day, month = int(match.group(1)), int(match.group(2))
    try:
        date(2000, month, day)  # a leap year: 29/02 is a real birthday
    except ValueError:
        raise Invalid(
            _("{day}/{month} is not a real day of the year.").format(day=day, month=month),
            field=field,
        ) from None
    return month, day


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in re.split(r"[,\n]", text) if n.strip())


@dataclass(frozen=True)
class PlanInput:
    starts_on: date
    review_on: date | None
    ends_on: date | None
    order_reference: str
    rules: tuple[Rule, ...]
    avoid: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    names_to_use: tuple[str, ...]
    names_never: tuple[str, ...]

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> PlanInput:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        starts_on = _parse_day(text("starts_on"), "starts_on", N_("start date"), required=True)
        assert starts_on is not None  # noqa: S101 - required above
        review_on = _parse_day(text("review_on"), "review_on", N_("review date"), required=False)
        ends_on = _parse_day(text("ends_on"), "ends_on", N_("end date"), required=False)
        for day, name, too_early in (
            (review_on, "review_on", N_("The review date is before the start date.")),
            (ends_on, "ends_on", N_("The end date is before the start date.")),
        ):
            if day is not None and day < starts_on:
                raise Invalid(_(too_early), field=name)
        reference = text("order_reference").strip()
        if len(reference) > 100:
            raise Invalid(
                "The order's reference is at most 100 characters.", field="order_reference"
            )
        rules = []
        for channel in CHANNELS:
            every_text, dates_text = text(f"{channel}_every").strip(), text(f"{channel}_dates")
            if every_text and dates_text.strip():
                raise Invalid(_(_BOTH_WAYS[channel]), field=f"{channel}_every")
            if every_text:
                if not every_text.isdigit() or not 1 <= int(every_text) <= MAX_EVERY:
                    raise Invalid(
                        _("How often: a whole number from 1 to {most}.").format(most=MAX_EVERY),
                        field=f"{channel}_every",
                    )
                unit = text(f"{channel}_unit")
                if unit not in UNITS:
                    raise Invalid("Choose days, weeks or months.", field=f"{channel}_unit")
                rules.append(Rule(channel, int(every_text), unit))
            elif dates_text.strip():
                dates = tuple(
                    _day_month(part, f"{channel}_dates")
                    for part in dates_text.split(",")
                    if part.strip()
                )
                rules.append(Rule(channel, dates=dates))
        avoid = []
        for line in text("avoid").splitlines():
            if not line.strip():
                continue
            first, _dash, last = line.partition("-")
            start = _day_month(first, "avoid")
            avoid.append((start, _day_month(last, "avoid") if last.strip() else start))
        never = _names(text("names_never"))
        if any(len(n) > 100 for n in (*never, *_names(text("names_to_use")))):
            raise Invalid("A name is at most 100 characters.", field="names_never")
        return cls(
            starts_on,
            review_on,
            ends_on,
            reference,
            tuple(rules),
            tuple(avoid),
            _names(text("names_to_use")),
            never,
        )

    def details(self, term_ids: Sequence[str]) -> dict[str, Any]:
        return {
            "order_reference": self.order_reference,
            "rules": [r.as_json() for r in self.rules],
            "avoid": [[f"{a[0]:02d}-{a[1]:02d}", f"{b[0]:02d}-{b[1]:02d}"] for a, b in self.avoid],
            "names_to_use": list(self.names_to_use),
            "names_never": list(self.names_never),
            "term_ids": list(term_ids),
        }


def _avoid_ranges(pairs: Sequence[Sequence[str]], years: range) -> tuple[tuple[date, date], ...]:
    out = []
    for first, last in pairs:
        (m1, d1), (m2, d2) = (int(first[:2]), int(first[3:])), (int(last[:2]), int(last[3:]))
        for year in years:
            start = _safe_date(year, m1, d1)
            end = _safe_date(year if (m2, d2) >= (m1, d1) else year + 1, m2, d2)
            out.append((start, end))
    return tuple(out)


async def _open(services: Services, session: AsyncSession, row: ContactPlan) -> FamilyPlan:
    return await open_plan(session, services.keyring, row)


async def open_plan(session: AsyncSession, keyring: KeyRing, row: ContactPlan) -> FamilyPlan:
    raw = await keyring.open_for_family(session, row.family_id, row.details_sealed, PLAN_PURPOSE)
    data = json.loads(raw)
    last_year = (row.ends_on or date.today() + timedelta(days=800)).year
    return FamilyPlan(
        family_id=row.family_id,
        starts_on=row.starts_on,
        review_on=row.review_on,
        ends_on=row.ends_on,
        order_reference=data.get("order_reference", ""),
        rules=tuple(Rule.from_json(r) for r in data.get("rules", ())),
        avoid=_avoid_ranges(data.get("avoid", ()), range(row.starts_on.year - 1, last_year + 1)),
        avoid_text="\n".join(
            f"{a[3:]}/{a[:2]}" + ("" if a == b else f" - {b[3:]}/{b[:2]}")
            for a, b in data.get("avoid", ())
        ),
        names_to_use=tuple(data.get("names_to_use", ())),
        names_never=tuple(data.get("names_never", ())),
        version=row.version,
    )


async def family_plan(services: Services, family_id: uuid.UUID) -> FamilyPlan | None:
    async with services.sessionmaker() as session:
        row = await session.get(ContactPlan, family_id)
        return None if row is None else await _open(services, session, row)


async def set_plan(services: Services, actor: Actor, family_id: uuid.UUID, plan: PlanInput) -> None:
    """Set or change the family's plan; the never-to-use names become sensitive terms
    (the plan's previous ones are replaced). Recorded as ``plan_changed``."""
    async with services.transaction(actor) as work:
        session = work.session
        family = await session.scalar(
            select(Family).where(Family.id == family_id, Family.centre_id == actor.centre_id)
        )
        if family is None:
            raise NotFound()
        row = await session.get(ContactPlan, family_id, with_for_update=True)
        if row is not None:
            previous = json.loads(
                await services.keyring.open_for_family(
                    session, family_id, row.details_sealed, PLAN_PURPOSE
                )
            ).get("term_ids", [])
            if previous:
                await session.execute(
                    delete(SensitiveTerm).where(
                        SensitiveTerm.family_id == family_id,
                        SensitiveTerm.id.in_([uuid.UUID(t) for t in previous]),
                    )
                )
        term_ids = []
        for name in plan.names_never:
            term = SensitiveTerm(
                family_id=family_id,
                term_sealed=await services.keyring.seal_for_family(
                    session, family_id, name.encode("utf-8"), TERM_PURPOSE
                ),
            )
            session.add(term)
            await session.flush()
            term_ids.append(str(term.id))
        details = plan.details(term_ids)
        sealed = await services.keyring.seal_for_family(
            session, family_id, json.dumps(details).encode("utf-8"), PLAN_PURPOSE
        )
        if row is None:
            row = ContactPlan(family_id=family_id, changed_by=actor.user_id)
            session.add(row)
        row.starts_on, row.review_on, row.ends_on = plan.starts_on, plan.review_on, plan.ends_on
        row.details_sealed, row.changed_by = sealed, actor.user_id
        row.changed_at = datetime.now(UTC)
        await session.flush()
        visible = {k: v for k, v in details.items() if k not in ("term_ids", "names_never")}
        await work.record(
            family_id,
            "plan_changed",
            {
                "starts_on": plan.starts_on.isoformat(),
                "review_on": None if plan.review_on is None else plan.review_on.isoformat(),
                "ends_on": None if plan.ends_on is None else plan.ends_on.isoformat(),
                # The names never to use name who the child is now: kept out of the record,
                # like sensitive terms; the rest of the plan is sealed.
                "plan": record.Sealed(visible),
                "names_never": len(plan.names_never),
            },
        )


# --- due, sent, overdue ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelStatus:
    channel: str
    words: str
    window_from: date | None
    due_by: date | None
    sent_in_window: int
    state: str  # "due", "sent", "overdue", "not started", "ended"
    missed: tuple[date, ...]  # due-by days of past windows with nothing sent
    history: tuple[tuple[date, date, int], ...] = field(default=())  # (from, due by, sent)

    @property
    def overdue(self) -> bool:
        return bool(self.missed) or self.state == "overdue"


@dataclass(frozen=True)
class PlanStatus:
    plan: FamilyPlan | None
    channels: tuple[ChannelStatus, ...]
    today: date


def _day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


async def _sent_days(
    session: AsyncSession, family_id: uuid.UUID, channel: str, since: date, zone: tzinfo
) -> list[date]:
    start = datetime.combine(since, time(0), tzinfo=zone).astimezone(UTC)
    if channel == "video":
        rows = await session.scalars(
            select(Call.starts_at).where(
                Call.family_id == family_id,
                Call.status != CallStatus.CANCELLED,
                Call.starts_at >= start,
            )
        )
    else:
        kind = ItemKind.LETTER if channel == "letters" else ItemKind.DIGITAL_GIFT
        rows = await session.scalars(
            select(Item.submitted_at).where(
                Item.family_id == family_id,
                Item.direction == Direction.TO_CHILD,
                Item.kind == kind,
                Item.status.not_in(NOT_SENT),
                Item.submitted_at >= start,
            )
        )
    return [_day(m, zone) for m in rows]


def channel_status(
    plan: FamilyPlan, rule: Rule, sent: Sequence[date], today: date
) -> ChannelStatus:
    if today < plan.starts_on:
        first = windows(rule, plan.starts_on, plan.ends_on, plan.starts_on)
        window = first[0] if first else (None, None)
        return ChannelStatus(rule.channel, rule.words(), window[0], window[1], 0, "not started", ())
    found = windows(rule, plan.starts_on, plan.ends_on, today)
    history = tuple((a, b, sum(1 for d in sent if a <= d <= b)) for a, b in found)
    missed = tuple(b for a, b, n in history if b < today and n == 0)
    current = next(((a, b, n) for a, b, n in history if a <= today <= b), None)
    if current is None:
        upcoming = next(((a, b, n) for a, b, n in history if a > today), None)
        if upcoming is None:
            return ChannelStatus(
                rule.channel, rule.words(), None, None, 0, "ended", missed, history
            )
        a, b, n = upcoming
        return ChannelStatus(rule.channel, rule.words(), a, b, n, "not started", missed, history)
    a, b, n = current
    state = "sent" if n else "due"
    return ChannelStatus(rule.channel, rule.words(), a, b, n, state, missed, history)


async def plan_status(
    services: Services, family_id: uuid.UUID, today: date | None = None
) -> PlanStatus:
    zone = services.settings.zone
    today = today or datetime.now(zone).date()
    async with services.sessionmaker() as session:
        row = await session.get(ContactPlan, family_id)
        if row is None:
            return PlanStatus(None, (), today)
        plan = await _open(services, session, row)
        statuses = []
        for rule in plan.rules:
            sent = await _sent_days(session, family_id, rule.channel, plan.starts_on, zone)
            statuses.append(channel_status(plan, rule, sent, today))
    return PlanStatus(plan, tuple(statuses), today)


@dataclass(frozen=True)
class OverdueEntry:
    family_id: uuid.UUID
    case_reference: str
    channel: str
    words: str
    missed: tuple[date, ...]


async def overdue_list(
    services: Services, actor: Actor, today: date | None = None
) -> list[OverdueEntry]:
    """Every overdue contact of the centre's active families: a window that ended with
    nothing sent."""
    async with services.sessionmaker() as session:
        families = (
            await session.execute(
                select(Family.id, Family.case_reference)
                .join(ContactPlan, ContactPlan.family_id == Family.id)
                .where(Family.centre_id == actor.centre_id, Family.status == FamilyStatus.ACTIVE)
                .order_by(Family.case_reference)
            )
        ).all()
    out = []
    for family_id, ref in families:
        status = await plan_status(services, family_id, today)
        for channel in status.channels:
            if channel.missed:
                out.append(
                    OverdueEntry(family_id, ref, channel.channel, channel.words, channel.missed)
                )
    return out


@dataclass(frozen=True)
class NextLetter:
    family_id: uuid.UUID
    can_send_from: date | None
    due_by: date | None
    sent: bool


def _first_allowed(plan: FamilyPlan, day: date) -> date:
    for _day in range(400):
        if not plan.avoided(day):
            return day
        day += timedelta(days=1)
    return day


async def next_letters(services: Services, actor: Actor) -> list[NextLetter]:
    """For a parent: per family with a letters rule, from when the next letter can be sent
    and by when it is due (dates only)."""
    async with services.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(FamilySender.family_id).where(
                    FamilySender.user_id == actor.user_id, FamilySender.approved.is_(True)
                )
            )
        )
    out = []
    for family_id in ids:
        status = await plan_status(services, family_id)
        letters = next((c for c in status.channels if c.channel == "letters"), None)
        if status.plan is None or letters is None or letters.state == "ended":
            continue
        if letters.state == "sent":
            # This window's letter is sent: the next one belongs to the next window.
            later = next((w for w in letters.history if w[0] > status.today), None)
            if later is None:
                rule = status.plan.rule("letters")
                assert rule is not None  # noqa: S101 - the status came from it
                after = (letters.due_by or status.today) + timedelta(days=1)
                nxt = windows(rule, status.plan.starts_on, status.plan.ends_on, after)
                later_windows = [w for w in nxt if w[0] > status.today]
                later = (later_windows[0][0], later_windows[0][1], 0) if later_windows else None
            if later is None:
                out.append(NextLetter(family_id, None, None, True))
                continue
            out.append(NextLetter(family_id, _first_allowed(status.plan, later[0]), later[1], True))
            continue
        start = max(letters.window_from or status.today, status.today)
        out.append(NextLetter(family_id, _first_allowed(status.plan, start), letters.due_by, False))
    return out


# Why a send goes beyond the plan, by channel: whole sentences for the translator.
_SENT_IN_PERIOD: Final = {
    "letters": N_(
        "The contact plan allows one letter in this period and one has already been sent."
    ),
    "gifts": N_("The contact plan allows one gift in this period and one has already been sent."),
    "video": N_(
        "The contact plan allows one video call in this period and one has already been sent."
    ),
}
_SENT_UNTIL: Final = {
    "letters": N_(
        "The contact plan allows one letter in this period and one has already been sent "
        "(this period ends on {day})."
    ),
    "gifts": N_(
        "The contact plan allows one gift in this period and one has already been sent "
        "(this period ends on {day})."
    ),
    "video": N_(
        "The contact plan allows one video call in this period and one has already been sent "
        "(this period ends on {day})."
    ),
}
_NOT_EXPECTED: Final = {
    "letters": N_("The contact plan does not expect a letter today."),
    "gifts": N_("The contact plan does not expect a gift today."),
    "video": N_("The contact plan does not expect a video call today."),
}


async def beyond_plan(
    services: Services, family_id: uuid.UUID, channel: str, today: date | None = None
) -> str | None:
    """The note for a parent whose letter or gift goes beyond what the plan allows (this
    window's one is already sent, the day is one to avoid, the plan has not started or has
    ended), or ``None``. Such a send is not dropped: it waits for staff like any other."""
    status = await plan_status(services, family_id, today)
    plan = status.plan
    found = next((c for c in status.channels if c.channel == channel), None)
    if plan is None or found is None:
        return None
    wait = _(
        "It will wait for the centre's staff, who will decide whether to pass it on, and "
        "you will see what they decide here."
    )
    if found.state == "sent":
        if found.due_by:
            sentence = _(_SENT_UNTIL[channel]).format(day=local_day(found.due_by))
        else:
            sentence = _(_SENT_IN_PERIOD[channel])
        return f"{sentence} {wait}"
    if found.state in ("not started", "ended") or plan.avoided(status.today):
        return f"{_(_NOT_EXPECTED[channel])} {wait}"
    return None


# --- for the court export ------------------------------------------------------------------


async def court_plan(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> FamilyPlan | None:
    """The family's current plan, opened with the key ring (the export has no Services);
    ``None`` without a plan or when the family's key is shredded."""
    row = await session.get(ContactPlan, family_id)
    if row is None:
        return None
    try:
        return await open_plan(session, keyring, row)
    except StorageError:  # a shredded family: the plan went with the rest of its content
        return None


def planned_per_month(
    plan: FamilyPlan, first_day: date, last_day: date
) -> dict[str, dict[str, int]]:
    """How many contacts of each channel the plan expects per month ("2026-11"): one per
    window, in the month its due-by day falls, within the given days."""
    months: dict[str, dict[str, int]] = {}
    for rule in plan.rules:
        for _first, due in windows(rule, plan.starts_on, plan.ends_on, last_day):
            if first_day <= due <= last_day:
                month = months.setdefault(f"{due:%Y-%m}", {})
                month[rule.channel] = month.get(rule.channel, 0) + 1
    return months
