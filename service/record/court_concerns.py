"""The court export's section of safeguarding concerns (issue 20), read from the record.

What the court sees follows the family's contact level, like observation notes: for
supervised contact, what was seen, when the lead acknowledged it and the action taken; for
supported contact (where staff keep only dates and times), that a concern was raised, when,
and when it was acknowledged and acted on, without the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from service.i18n import N_, _, gettext
from service.record.pdf import ContactBlock, EventLine, Section
from service.record.timeline import TimelineEntry

__all__ = ["concerns_section"]

# Whole sentences per source, so each language words them its own way.
_RAISED: Final = {
    "item": N_("A safeguarding concern about an item was raised by {who}."),
    "call": N_("A safeguarding concern about a video call was raised by {who}."),
    "session": N_("A safeguarding concern about an opening session was raised by {who}."),
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _("(erased when the family's data was destroyed)")


def concerns_section(entries: Sequence[TimelineEntry], *, supervised: bool) -> list[Section]:
    """One section listing every concern of the period, or nothing if there was none."""
    order: list[str] = []
    lines: dict[str, list[EventLine]] = {}
    for e in entries:
        if not e.kind.startswith("concern_"):
            continue
        key = str(e.payload.get("concern_id", ""))
        if key not in lines:
            order.append(key)
            lines[key] = []
        if e.kind == "concern_raised":
            raised = _RAISED.get(
                str(e.payload.get("source")),
                N_("A safeguarding concern about contact was raised by {who}."),
            )
            text = gettext(raised).format(who=e.actor)
            if e.payload.get("item_withheld"):
                text += " " + _("The item was held back at once.")
            if supervised:
                text += " " + _("What was seen: {what}").format(what=_text(e.payload.get("what")))
        elif e.kind == "concern_acknowledged":
            text = (
                _("Acknowledged by the safeguarding lead, {who} (later than 24 hours).")
                if e.payload.get("late")
                else _("Acknowledged by the safeguarding lead, {who}.")
            ).format(who=e.actor)
        elif supervised:
            text = _("Action taken recorded by the safeguarding lead, {who}: {action}").format(
                who=e.actor, action=_text(e.payload.get("action"))
            )
        else:
            text = _("Action taken recorded by the safeguarding lead, {who}.").format(who=e.actor)
        lines[key].append(EventLine(e.when, text))
    if not order:
        return []
    intro = (
        _("Concerns raised by staff and what the centre's safeguarding lead did about them.")
        if supervised
        else _(
            "This family has supported contact: only the dates of each concern and of the "
            "lead's response are shown."
        )
    )
    blocks = [
        ContactBlock(_("Safeguarding concern {number}").format(number=n), (), lines[key])
        for n, key in enumerate(order, start=1)
    ]
    return [Section(_("Safeguarding concerns"), intro, blocks)]
