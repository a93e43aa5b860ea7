"""Flags: every scanner hit a moderator must resolve before an item may be approved.

A flag is one hit in a part (the letter's text, or the words read from a picture or page). It
is resolved when the redactions the moderator chose cover it completely — a text span from at
or before its start to at or after its end; for a picture, boxes whose union covers every box
the hit sits in — or when the moderator marked it "safe to pass" with a reason. Anything else
is unresolved, and approval is refused: a hit in a picture whose position could not be found
cannot be proven covered, so only "safe to pass" resolves it (fail closed).

Only a hit's ``start``, ``end``, ``category`` and ``boxes`` are read: the scanner may grow new
categories or wider spans without this module changing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from service.errors import Invalid
from service.i18n import _
from service.letterbox.redaction import Box, Span, merge

MAX_SAFE_REASON_CHARS = 300
MAX_FLAG_CHOICES = 1000


class Choice:
    """How a moderator resolved a flag (stored in the decision's redactions)."""

    BLACK_OUT = "black_out"
    SAFE = "safe"


@dataclass(frozen=True)
class Flag:
    id: str
    part_id: str
    in_text: bool
    start: int
    end: int
    category: str
    boxes: tuple[Box, ...]
    matched: str
    where: str  # "the letter", "picture 2": how the refusal names the part

    def describe(self) -> str:
        return f"“{self.matched}” ({self.category.replace('_', ' ')}) in {self.where}"


def flag_id(part_id: object, index: int) -> str:
    """A flag's name: its part and its place among that part's hits (fixed at intake)."""
    return f"{part_id}.{index}"


def flags_of_part(
    part_id: str, in_text: bool, hits: Sequence[Mapping[str, Any]], words: str, where: str
) -> list[Flag]:
    flags = []
    for index, hit in enumerate(hits):
        start, end = int(hit["start"]), int(hit["end"])
        boxes = tuple(Box(*(int(v) for v in box)) for box in hit.get("boxes") or [])
        flags.append(
            Flag(
                flag_id(part_id, index),
                part_id,
                in_text,
                start,
                end,
                str(hit["category"]),
                boxes,
                words[start:end],
                where,
            )
        )
    return flags


def span_covers(spans: Sequence[Span], start: int, end: int) -> bool:
    """Whether one of the merged spans holds all of ``start``–``end`` (touching spans merge,
    so two spans meeting inside a hit cover it together)."""
    return any(span.start <= start and end <= span.end for span in merge(spans))


def boxes_cover(target: Box, boxes: Iterable[Box]) -> bool:
    """Whether the union of ``boxes`` covers every pixel of ``target``.

    Sweep over the columns where a box edge falls; in each column the rows the boxes hold
    must, merged, run from the target's top to its bottom."""
    left, top = target.x, target.y
    right, bottom = target.x + target.width, target.y + target.height
    near = [
        b
        for b in boxes
        if b.x < right and b.x + b.width > left and b.y < bottom and b.y + b.height > top
    ]
    edges = sorted(
        {left, right}
        | {min(max(b.x, left), right) for b in near}
        | {min(max(b.x + b.width, left), right) for b in near}
    )
    for x0, x1 in pairwise(edges):
        if x0 == x1:
            continue
        rows = sorted((b.y, b.y + b.height) for b in near if b.x <= x0 and b.x + b.width >= x1)
        reached = top
        for y0, y1 in rows:
            if y0 > reached:
                break
            reached = max(reached, y1)
        if reached < bottom:
            return False
    return True


def covered(flag: Flag, spans: Sequence[Span], boxes: Sequence[Box]) -> bool:
    if flag.in_text:
        return span_covers(spans, flag.start, flag.end)
    # Fail closed: a hit with no known place in the picture cannot be shown to be covered.
    return bool(flag.boxes) and all(boxes_cover(box, boxes) for box in flag.boxes)


def parse_safe(raw: object) -> dict[str, str]:
    """``{"<flag>": "reason", …}``: the flags the moderator passes as safe, each with a short
    reason. A missing, empty or over-long reason is refused, naming the flag's field."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid(
            "“safe_to_pass” must be an object from flag names to reasons, "
            'like {"<flag>": "the school is already known to both parents"}.',
            field="safe_to_pass",
        )
    if len(raw) > MAX_FLAG_CHOICES:
        raise Invalid(
            _("At most {limit} flags can be passed as safe at once.").format(
                limit=MAX_FLAG_CHOICES
            ),
            field="safe_to_pass",
        )
    safe: dict[str, str] = {}
    for key, reason in raw.items():
        name = str(key)
        if not isinstance(reason, str) or not reason.strip():
            raise Invalid(
                "To pass a flag as safe, write a short reason why it is safe to deliver.",
                field=f"safe_to_pass.{name}",
            )
        reason = reason.strip()
        if len(reason) > MAX_SAFE_REASON_CHARS:
            raise Invalid(
                _("The reason is {count} characters; keep it to {limit}.").format(
                    count=len(reason), limit=MAX_SAFE_REASON_CHARS
                ),
                field=f"safe_to_pass.{name}",
            )
        safe[name] = reason
    return safe


def parse_black_out(raw: object) -> frozenset[str]:
    """``["<flag>", …]``: flags to black out exactly where the scanner found them."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise Invalid("“black_out” must be a list of flag names.", field="black_out")
    if len(raw) > MAX_FLAG_CHOICES:
        raise Invalid(
            _("At most {limit} flags can be blacked out at once.").format(limit=MAX_FLAG_CHOICES),
            field="black_out",
        )
    return frozenset(raw)


def check_known(flags: Sequence[Flag], names: Iterable[str], field: str) -> None:
    known = {flag.id for flag in flags}
    unknown = sorted(set(names) - known)
    if unknown:
        raise Invalid(
            _("{flag} is not a flag of this item. Reload the item to see its flags.").format(
                flag=unknown[0]
            ),
            field=field,
        )


def unresolved(
    flags: Sequence[Flag],
    spans: Sequence[Span],
    boxes: Mapping[str, Sequence[Box]],
    safe: Iterable[str],
) -> list[Flag]:
    passed = set(safe)
    return [
        flag
        for flag in flags
        if flag.id not in passed and not covered(flag, spans, boxes.get(flag.part_id, ()))
    ]


def refusal(open_flags: Sequence[Flag]) -> Invalid:
    """The plain refusal: which flags are open and what to do about each."""
    count = len(open_flags)
    listed = "; ".join(flag.describe() for flag in open_flags[:10])
    if count == 1:
        message = _(
            "Not approved: 1 flag is not resolved: {listed}. For each one, black it out (cover "
            "all of it) or mark it “safe to pass” and write why, then approve again."
        )
    elif count <= 10:
        message = _(
            "Not approved: {count} flags are not resolved: {listed}. For each one, black it out "
            "(cover all of it) or mark it “safe to pass” and write why, then approve again."
        )
    else:
        message = _(
            "Not approved: {count} flags are not resolved: {listed}; and {more} more. For each "
            "one, black it out (cover all of it) or mark it “safe to pass” and write why, then "
            "approve again."
        )
    sentences = [message.format(count=count, listed=listed, more=count - 10)]
    if any(not f.in_text and not f.boxes for f in open_flags):
        sentences.append(
            _(
                "Words in a picture whose place could not be found cannot be covered by a box "
                "the server can check: pass them as safe with a reason, or return the item."
            )
        )
    return Invalid(" ".join(sentences), field="flags", code="unresolved_flags")


def choices(
    flags: Sequence[Flag],
    spans: Sequence[Span],
    boxes: Mapping[str, Sequence[Box]],
    safe: Mapping[str, str],
) -> dict[str, str]:
    """Each resolved flag's choice, for the decision row: blacked out wins over safe (the
    words are gone either way); a flag passed and not covered is "safe"."""
    chosen: dict[str, str] = {}
    for flag in flags:
        if covered(flag, spans, boxes.get(flag.part_id, ())):
            chosen[flag.id] = Choice.BLACK_OUT
        elif flag.id in safe:
            chosen[flag.id] = Choice.SAFE
    return chosen
