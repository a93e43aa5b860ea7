"""Redactions a moderator asks for, applied to make the delivered copy.

Text spans become one fixed visible block (its length does not betray the length of what was
hidden); image rectangles are filled solid in the pixels themselves, server-side, so nothing
under a box survives in the delivered file. ``fill_boxes`` is CPU work on untrusted-sized
images and runs in the sanitiser's process pool.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from service.errors import Invalid

BLOCK = "█████"
FILL = (0, 0, 0)


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int


def parse_spans(raw: object, text_length: int) -> list[Span]:
    """``[[start, end], …]`` into merged, ordered spans inside the text."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("Text redactions must be a list of [start, end] pairs.", field="redactions")
    spans: list[Span] = []
    for entry in raw:
        if (
            not isinstance(entry, list | tuple)
            or len(entry) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)
        ):
            raise Invalid("Each text redaction must be [start, end].", field="redactions")
        start, end = int(entry[0]), int(entry[1])
        if not 0 <= start < end <= text_length:
            raise Invalid(
                f"The text redaction {start}–{end} is outside the letter (0–{text_length}).",
                field="redactions",
            )
        spans.append(Span(start, end))
    return merge(spans)


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def redact_text(text: str, spans: Sequence[Span]) -> str:
    pieces: list[str] = []
    at = 0
    for span in merge(spans):
        pieces.append(text[at : span.start])
        pieces.append(BLOCK)
        at = span.end
    pieces.append(text[at:])
    return "".join(pieces)


def parse_boxes(raw: object, width: int, height: int) -> list[Box]:
    """``[[x, y, w, h], …]`` in image pixels; boxes are clipped to the picture."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("Image redactions must be a list of [x, y, w, h].", field="redactions")
    boxes: list[Box] = []
    for entry in raw:
        if (
            not isinstance(entry, list | tuple)
            or len(entry) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)
        ):
            raise Invalid("Each image box must be [x, y, width, height].", field="redactions")
        x, y, w, h = (int(v) for v in entry)
        left, top = max(0, x), max(0, y)
        right, bottom = min(width, x + w), min(height, y + h)
        if w <= 0 or h <= 0 or right <= left or bottom <= top:
            raise Invalid(
                f"The box {x},{y} {w}×{h} does not cover any of the {width}×{height} picture.",
                field="redactions",
            )
        boxes.append(Box(left, top, right - left, bottom - top))
    return boxes


def fill_boxes(data: bytes, boxes: Sequence[Box]) -> tuple[bytes, str]:
    """The picture with every box filled solid, as PNG (lossless: the fill stays exactly
    solid). Runs in the process pool; ``data`` is a sanitised image the sanitiser made."""
    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as source:
        picture = source.convert("RGB")
    draw = ImageDraw.Draw(picture)
    for box in boxes:
        draw.rectangle((box.x, box.y, box.x + box.width - 1, box.y + box.height - 1), fill=FILL)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue(), "image/png"
