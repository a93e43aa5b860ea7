"""The court export's planned-against-actual contact and in-centre attendance (issue 20).

``add_to`` takes the document ``build_document`` made and adds, after its sections:

- "Planned and actual contact": the plan (the order's reference, its dates, each channel's
  frequency, the names the child is to be called) and, month by month, what the plan
  expected against what happened, counted from the period's events (letters and gifts sent
  to the child, video calls held, in-centre visits the child came to);
- "In-centre visits": each session, handover or pre-visit with everyone's times (notes only
  for supervised contact);
- a chart of contact per month by channel (filled bars: what happened; outlines: what the
  plan expected), drawn by ``PlanChart`` on a page of its own.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from service.i18n import N_, _, gettext
from service.localtime import local_time
from service.plan import FamilyPlan, Rule, court_plan, planned_per_month
from service.record.pdf import ContactBlock, CourtDocument, EventLine, Section
from service.record.timeline import UK, TimelineEntry, format_moment
from storage.keyring import KeyRing

__all__ = ["CHANNEL_WORDS", "PlanChart", "add_to", "load"]

# Printed through gettext: the PDF is drawn in the language chosen at export.
CHANNEL_WORDS: Final = {
    "letters": N_("Letters"),
    "gifts": N_("Gifts"),
    "video": N_("Video calls"),
    "visits": N_("In-centre visits"),
}
# A plan's rule in the PDF's language (``Rule.words`` is the English of the plan pages).
_RULE_WHAT: Final = {"letters": N_("A letter"), "gifts": N_("A gift"), "video": N_("A video call")}
_EVERY_ONE: Final = {
    "days": N_("every day"),
    "weeks": N_("every week"),
    "months": N_("every month"),
}
_EVERY_MANY: Final = {
    "days": N_("every {count} days"),
    "weeks": N_("every {count} weeks"),
    "months": N_("every {count} months"),
}
_COLOURS: Final = {
    "letters": (31, 119, 180),
    "gifts": (230, 120, 20),
    "video": (44, 150, 44),
    "visits": (148, 103, 189),
}
MAX_MONTHS: Final = 24  # a longer period shows its last two years in the chart and table
_NOT_HELD: Final = frozenset({"parent_did_not_attend"})


async def load(session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID) -> FamilyPlan | None:
    return await court_plan(session, keyring, family_id)


def _month(at: datetime) -> str:
    return f"{at.astimezone(UK):%Y-%m}"


def actual_per_month(entries: Sequence[TimelineEntry]) -> dict[str, dict[str, int]]:
    months: dict[str, dict[str, int]] = {}
    visits_seen: set[str] = set()

    def add(at: datetime, channel: str) -> None:
        month = months.setdefault(_month(at), {})
        month[channel] = month.get(channel, 0) + 1

    for e in entries:
        p: Mapping[str, Any] = e.payload
        if e.kind == "item_submitted" and p.get("direction") == "to_child":
            add(e.at, "gifts" if p.get("item_kind") == "digital_gift" else "letters")
        elif e.kind == "gift_logged":
            add(e.at, "gifts")
        elif e.kind == "call_ended" and str(p.get("reason")) not in _NOT_HELD:
            add(e.at, "video")
        elif e.kind == "visit_attendance" and p.get("child_arrived"):
            visit = str(p.get("visit_id"))
            if visit not in visits_seen:
                visits_seen.add(visit)
                add(e.at, "visits")
    return months


def _months(first: date, last: date) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out[-MAX_MONTHS:]


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UK)


def _month_words(month: str, short: bool = False) -> str:
    """ "March 2025" (or "Mar 2025"), with the month named in the PDF's language."""
    first = _noon(date(int(month[:4]), int(month[5:]), 1))
    return local_time(first, UK, "%b %Y" if short else "%B %Y")


def _day_words(day: date) -> str:
    return local_time(_noon(day), UK, "%-d %B %Y")


def _rule_words(rule: Rule) -> str:
    what = gettext(_RULE_WHAT.get(rule.channel, N_("Contact")))
    if rule.every is not None and rule.unit in _EVERY_ONE:
        if rule.every == 1:
            return f"{what} {gettext(_EVERY_ONE[rule.unit])}"
        return f"{what} {gettext(_EVERY_MANY[rule.unit]).format(count=rule.every)}"
    days = ", ".join(local_time(_noon(date(2000, m, d)), UK, "%-d %B") for m, d in rule.dates)
    return _("{what} for {days}").format(what=what, days=days)


@dataclass(frozen=True)
class PlanChart:
    """Contact per month by channel, drawn on the court PDF (``pdf`` is its FPDF)."""

    months: tuple[str, ...]
    channels: tuple[str, ...]
    planned: Mapping[str, Mapping[str, int]]
    actual: Mapping[str, Mapping[str, int]]

    def __call__(self, pdf: Any) -> None:
        pdf.add_page()
        pdf.heading(_("Contact per month by channel"))
        pdf.paragraph(
            _(
                "Filled bars: contact that took place. Outlined bars: what the contact plan "
                "expected. Counted per calendar month (UK time)."
            )
        )
        left, top = pdf.l_margin + 8, pdf.get_y() + 4
        width, height = pdf.text_width - 8, 80.0
        peak = max(
            [1]
            + [v for m in self.actual.values() for v in m.values()]
            + [v for m in self.planned.values() for v in m.values()]
        )
        pdf.set_draw_color(120, 120, 120)
        pdf.font(7)
        for tick in range(peak + 1):
            y = top + height - height * tick / peak
            pdf.line(left, y, left + width, y)
            pdf.text(left - 5, y + 1, str(tick))
        group = width / max(1, len(self.months))
        bar = group / (len(self.channels) + 1)
        for i, month in enumerate(self.months):
            x0 = left + i * group + bar / 2
            for j, channel in enumerate(self.channels):
                colour = _COLOURS[channel]
                x = x0 + j * bar
                done = self.actual.get(month, {}).get(channel, 0)
                if done:
                    h = height * done / peak
                    pdf.set_fill_color(*colour)
                    pdf.rect(x, top + height - h, bar * 0.9, h, style="F")
                expected = self.planned.get(month, {}).get(channel, 0)
                if expected:
                    h = height * expected / peak
                    pdf.set_draw_color(*colour)
                    pdf.set_line_width(0.5)
                    pdf.rect(x, top + height - h, bar * 0.9, h, style="D")
                    pdf.set_line_width(0.2)
            pdf.font(6.5)
            label = pdf.t(_month_words(month, short=True))
            pdf.text(
                left + i * group + group / 2 - pdf.get_string_width(label) / 2,
                top + height + 4,
                label,
            )
        y = top + height + 10
        x = left
        pdf.font(8)
        for channel in self.channels:
            pdf.set_fill_color(*_COLOURS[channel])
            pdf.rect(x, y - 2.5, 3, 3, style="F")
            words = pdf.t(gettext(CHANNEL_WORDS[channel]))
            pdf.text(x + 4.5, y, words)
            x += pdf.get_string_width(words) + 12
        pdf.set_draw_color(0, 0, 0)
        pdf.set_y(y + 6)


def _plan_block(plan: FamilyPlan | None) -> ContactBlock:
    if plan is None:
        return ContactBlock(
            _("The plan"),
            (_("No contact plan is recorded for this family, so only what happened is shown."),),
        )
    if plan.ends_on:
        runs = _("From {first} to {last}").format(
            first=_day_words(plan.starts_on), last=_day_words(plan.ends_on)
        )
    else:
        runs = _("From {first}").format(first=_day_words(plan.starts_on))
    if plan.review_on:
        runs += _("; to be reviewed on {day}").format(day=_day_words(plan.review_on))
    lines = [
        _("Order reference: {reference}.").format(
            reference=plan.order_reference or _("none given")
        ),
        f"{runs}.",
        *[f"{_rule_words(rule)}." for rule in plan.rules],
    ]
    if plan.avoid_text:
        lines.append(
            _("Dates to avoid: {dates}.").format(dates=plan.avoid_text.replace("\n", "; "))
        )
    if plan.names_to_use:
        lines.append(
            _("The child is to be called: {names}.").format(names=", ".join(plan.names_to_use))
        )
    return ContactBlock(_("The plan"), tuple(lines))


def _visits_section(entries: Sequence[TimelineEntry], supervised: bool) -> Section | None:
    booked: dict[str, list[EventLine]] = {}
    titles: dict[str, str] = {}
    words = {
        "session": _("Contact session"),
        "handover": _("Handover"),
        "pre_visit": _("Pre-visit"),
    }
    arrived = {
        "resident": _("Resident parent arrived {time}"),
        "visiting": _("Visiting parent arrived {time}"),
        "child": _("Child arrived {time}"),
    }
    left = {
        "resident": _("Resident parent left {time}"),
        "visiting": _("Visiting parent left {time}"),
        "child": _("Child left {time}"),
    }
    for e in entries:
        if e.kind not in ("visit_booked", "visit_attendance"):
            continue
        key = str(e.payload.get("visit_id"))
        lines = booked.setdefault(key, [])
        titles.setdefault(key, words.get(str(e.payload.get("kind"))) or _("Visit"))
        if e.kind == "visit_booked":
            stagger = e.payload.get("stagger_minutes")
            text = (
                _("Booked by {who}, the two adults {minutes} minutes apart.")
                if e.payload.get("kind") == "handover"
                else _("Booked by {who}.")
            )
            lines.append(EventLine(e.when, text.format(who=e.actor, minutes=stagger)))
            continue
        times = []
        for person in arrived:
            for event, words_of in (("arrived", arrived), ("left", left)):
                value = e.payload.get(f"{person}_{event}")
                if isinstance(value, str):
                    moment = format_moment(datetime.fromisoformat(value), with_day=False)
                    times.append(words_of[person].format(time=moment))
        text = "; ".join(times) + "." if times else _("Times recorded.")
        if e.payload.get("adults_met"):
            text += " " + _("The two adults were at the centre together.")
        if supervised and isinstance(e.payload.get("notes"), str):
            text += " " + _("Notes: {notes}").format(notes=e.payload["notes"])
        lines.append(EventLine(e.when, text))
    if not booked:
        return None
    intro = _(
        "Sessions, handovers and pre-visits at the centre, with each person's arrival and "
        "departure."
    )
    if not supervised:
        intro += " " + _("Supported contact: dates and times only.")
    return Section(
        gettext(CHANNEL_WORDS["visits"]),
        intro,
        [ContactBlock(titles[k], (), lines) for k, lines in booked.items()],
    )


def add_to(
    document: CourtDocument,
    plan: FamilyPlan | None,
    entries: Sequence[TimelineEntry],
    first_day: date,
    last_day: date,
) -> CourtDocument:
    months = _months(first_day, last_day)
    planned = planned_per_month(plan, first_day, last_day) if plan is not None else {}
    actual = actual_per_month(entries)
    channels = tuple(
        c
        for c in CHANNEL_WORDS
        if any(c in planned.get(m, {}) or c in actual.get(m, {}) for m in months)
        or (plan is not None and plan.rule(c) is not None)
    ) or ("letters",)
    rows = []
    for month in months:
        cells = [
            _("{channel}: planned {planned}, actual {actual}").format(
                channel=gettext(CHANNEL_WORDS[c]),
                planned=planned.get(month, {}).get(c, 0),
                actual=actual.get(month, {}).get(c, 0),
            )
            for c in channels
        ]
        rows.append(EventLine(_month_words(month), "; ".join(cells) + "."))
    section = Section(
        _("Planned and actual contact"),
        _(
            "What the contact plan sets out, and month by month how much contact it expected "
            "against what took place. A chart of the same figures follows the sections."
        ),
        [_plan_block(plan), ContactBlock(_("Month by month"), (), rows)],
    )
    visits = _visits_section(entries, document.supervised)
    chart = PlanChart(tuple(months), channels, planned, actual)
    return dataclasses.replace(
        document,
        sections=[*document.sections, section, *([visits] if visits else [])],
        drawings=(*document.drawings, chart),
    )
