"""The court export's section of safeguarding concerns (issue 20), read from the record.

What the court sees follows the family's contact level, like observation notes: for
supervised contact, what was seen, when the lead acknowledged it and the action taken; for
supported contact (where staff keep only dates and times), that a concern was raised, when,
and when it was acknowledged and acted on, without the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.record.pdf import ContactBlock, EventLine, Section
from service.record.timeline import TimelineEntry

__all__ = ["concerns_section"]

_ABOUT = {"item": "an item", "call": "a video call", "session": "an opening session"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "(erased when the family's data was destroyed)"


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
            about = _ABOUT.get(str(e.payload.get("source")), "contact")
            held = " The item was held back at once." if e.payload.get("item_withheld") else ""
            words = f" What was seen: {_text(e.payload.get('what'))}" if supervised else ""
            text = f"A safeguarding concern about {about} was raised by {e.actor}.{held}{words}"
        elif e.kind == "concern_acknowledged":
            late = " (later than 24 hours)" if e.payload.get("late") else ""
            text = f"Acknowledged by the safeguarding lead, {e.actor}{late}."
        else:
            words = f": {_text(e.payload.get('action'))}" if supervised else "."
            text = f"Action taken recorded by the safeguarding lead, {e.actor}{words}"
        lines[key].append(EventLine(e.when, text))
    if not order:
        return []
    intro = (
        "Concerns raised by staff and what the centre's safeguarding lead did about them."
        if supervised
        else "This family has supported contact: only the dates of each concern and of the "
        "lead's response are shown."
    )
    blocks = [
        ContactBlock(f"Safeguarding concern {n}", (), lines[key])
        for n, key in enumerate(order, start=1)
    ]
    return [Section("Safeguarding concerns", intro, blocks)]
