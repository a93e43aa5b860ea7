"""Finding the words a person reads in a template's literal HTML.

Templates are not rewritten with ``{% trans %}`` tags: the literal text between tags, and the
values of the attributes people read or hear (``alt``, ``title``, ``placeholder``,
``aria-label``), are the messages. One scanner serves both the extraction that builds the
catalogue and the template extension that swaps in the translation when a template compiles,
so what is extracted is exactly what is translated.

A template's literal HTML reaches the scanner in pieces (the parts between ``{{ }}`` and
``{% %}``), so the scanner keeps its state (inside a tag, inside an attribute value, inside a
script) from one piece to the next. Text split by an expression becomes two messages:
"Letters for" and the child's name stay apart, and the translator sees each fragment with its
template in the catalogue's comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

TRANSLATED_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})
_RAW_TEXT = ("script", "style")
_LETTER = re.compile(r"[^\W\d_]")
_EDGE_SPACE = re.compile(r"^(\s*)(.*?)(\s*)$", re.DOTALL)


# Markup a macro writes as loose text: an attribute (``aria-invalid="true"``) or an id prefix.
_ATTRIBUTE_TEXT = re.compile(r"""^\s*([\w:-]+="[^"]*"?|[\w]+-)\s*$""")


def is_message(text: str) -> bool:
    """Worth translating: it holds a letter (not only punctuation, numbers or an entity)
    and is not a piece of markup written as text."""
    stripped = re.sub(r"&[#\w]+;", "", text)
    return bool(_LETTER.search(stripped)) and not _ATTRIBUTE_TEXT.match(text)


@dataclass
class _State:
    in_tag: bool = False
    tag_name: str = ""
    reading_name: bool = False
    attribute: str = ""
    quote: str = ""  # the quote of the attribute value being read, "" outside one
    raw_until: str = ""  # "</script" while inside a script's body
    comment: bool = False


class MarkupScanner:
    """Splits literal HTML into (kind, text) pieces; kind "message" marks the translatable ones."""

    def __init__(self) -> None:
        self.state = _State()

    def pieces(self, html: str) -> Iterator[tuple[str, str]]:
        """("markup", ...) and ("message", ...) pieces whose texts join back into ``html``."""
        state = self.state
        i = 0
        text_start = 0
        n = len(html)

        def flush(end: int, kind: str) -> Iterator[tuple[str, str]]:
            if end > text_start:
                yield from _split_message(html[text_start:end], kind)

        while i < n:
            if state.comment:
                end = html.find("-->", i)
                if end < 0:
                    i = n
                    break
                state.comment = False
                i = end + 3
                yield ("markup", html[text_start:i])
                text_start = i
                continue
            if state.raw_until:
                end = html.lower().find(state.raw_until, i)
                if end < 0:
                    i = n
                    break
                state.raw_until = ""
                i = end  # the closing tag is read as a tag
                yield ("markup", html[text_start:i])
                text_start = i
                continue
            char = html[i]
            if state.quote:
                if char == state.quote:
                    if state.attribute in TRANSLATED_ATTRIBUTES:
                        yield from flush(i, "attribute")
                        text_start = i
                    state.quote = ""
                    state.attribute = ""
                i += 1
                continue
            if state.in_tag:
                if char == ">":
                    state.in_tag = False
                    if state.tag_name in _RAW_TEXT:
                        state.raw_until = "</" + state.tag_name
                    i += 1
                    yield ("markup", html[text_start:i])
                    text_start = i
                    continue
                if char in "\"'":
                    state.quote = char
                    i += 1
                    if state.attribute in TRANSLATED_ATTRIBUTES:
                        yield ("markup", html[text_start:i])
                        text_start = i
                    continue
                match = re.compile(r"[\w:-]+").match(html, i)
                if match:
                    word = match.group().lower()
                    if state.reading_name:
                        state.tag_name = word
                        state.reading_name = False
                    else:
                        state.attribute = word
                    i = match.end()
                    continue
                if char.isspace() or char == "=":
                    i += 1
                    continue
                if char == "/":
                    i += 1
                    continue
                state.attribute = ""
                i += 1
                continue
            # In text.
            if char == "<":
                if html.startswith("<!--", i):
                    yield from flush(i, "text")
                    text_start = i
                    state.comment = True
                    i += 4
                    continue
                if i + 1 < n and (html[i + 1].isalpha() or html[i + 1] in "/!"):
                    yield from flush(i, "text")
                    text_start = i
                    state.in_tag = True
                    state.reading_name = html[i + 1] != "/"
                    state.tag_name = ""
                    i += 1
                    continue
            i += 1
        # What is left: text that goes on in the next piece, or markup.
        if not (state.in_tag or state.comment or state.raw_until) or (
            state.quote and state.attribute in TRANSLATED_ATTRIBUTES
        ):
            kind = "attribute" if state.quote else "text"
            yield from flush(n, kind)
        elif n > text_start:
            yield ("markup", html[text_start:n])


def _split_message(chunk: str, kind: str) -> Iterator[tuple[str, str]]:
    """Text keeps its edge whitespace as markup; the middle is the message."""
    if kind == "markup" or not is_message(chunk):
        yield ("markup", chunk)
        return
    match = _EDGE_SPACE.match(chunk)
    before, core, after = match.groups() if match else ("", chunk, "")
    if before:
        yield ("markup", before)
    yield ("message", " ".join(core.split()))
    if after:
        yield ("markup", after)


class PlainTextScanner:
    """Plain-text templates (e-mails): each paragraph is a message, blank lines stay."""

    _PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n)")

    def pieces(self, text: str) -> Iterator[tuple[str, str]]:
        for index, part in enumerate(self._PARAGRAPH_BREAK.split(text)):
            yield from _split_message(part, "markup" if index % 2 else "text")


def scanner_for(template_name: str | None) -> MarkupScanner | PlainTextScanner:
    if template_name and template_name.endswith(".txt"):
        return PlainTextScanner()
    return MarkupScanner()
