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
from service.i18n import _
from service.letterbox.backdrop import flatten

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


def parse_spans(raw: object, text_length: int, *, field: str = "redactions.text") -> list[Span]:
    """``[[start, end], …]`` into merged, ordered spans, each inside the text.

    ``field`` names the form or JSON field an error is about, so the page can show the
    message next to it."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("Text redactions must be a list of [start, end] pairs.", field=field)
    spans: list[Span] = []
    for entry in raw:
        if (
            not isinstance(entry, list | tuple)
            or len(entry) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)
        ):
            raise Invalid("Each text redaction must be [start, end].", field=field)
        start, end = int(entry[0]), int(entry[1])
        if not 0 <= start < end <= text_length:
            raise Invalid(
                _(
                    "The part to black out, {start}-{end}, is not inside the letter: the letter "
                    "has {length} characters, so use positions from 0 to {length}, with the "
                    "start before the end."
                ).format(start=start, end=end, length=text_length),
                field=field,
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


def parse_boxes(
    raw: object, width: int, height: int, *, field: str = "redactions.images"
) -> list[Box]:
    """``[[x, y, w, h], …]`` in the picture's own pixels; every box must lie inside it.

    A box that spills over the edge is refused rather than quietly trimmed: the moderator
    must see exactly what will be covered. The drawing tool on the page keeps its boxes
    inside the picture; typed boxes are checked here, the authority."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("Image redactions must be a list of [x, y, w, h].", field=field)
    boxes: list[Box] = []
    for entry in raw:
        if (
            not isinstance(entry, list | tuple)
            or len(entry) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)
        ):
            raise Invalid("Each box must be four whole numbers: x,y,width,height.", field=field)
        x, y, w, h = (int(v) for v in entry)
        if w <= 0 or h <= 0:
            raise Invalid(
                _(
                    "The box {x},{y},{width},{height} has no size: its width and height must be "
                    "more than 0."
                ).format(x=x, y=y, width=w, height=h),
                field=field,
            )
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise Invalid(
                _(
                    "The box {x},{y},{width},{height} goes outside the picture, which is "
                    "{picture_width} pixels wide and {picture_height} high. Keep x + width at "
                    "most {picture_width} and y + height at most {picture_height}."
                ).format(x=x, y=y, width=w, height=h, picture_width=width, picture_height=height),
                field=field,
            )
        boxes.append(Box(x, y, w, h))
    return boxes


def fill_boxes(data: bytes, boxes: Sequence[Box]) -> tuple[bytes, str]:
    """The picture with every box filled solid, as PNG (lossless: the fill stays exactly
    solid). Runs in the process pool; ``data`` is a sanitised image the sanitiser made.

    The sanitiser already made it opaque; a picture stored before it did is laid over the same
    background here rather than having its alpha channel dropped, which would show whatever
    colours the transparent pixels carried."""
    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as source:
        source.load()
        picture = flatten(source)
    draw = ImageDraw.Draw(picture)
    for box in boxes:
        draw.rectangle((box.x, box.y, box.x + box.width - 1, box.y + box.height - 1), fill=FILL)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue(), "image/png"
