"""Reading the words in a picture or a scanned page, so the scanner can flag them.

A photo of a school gate, a drawing signed with a new surname, a PDF of a letter with an
address: the personal details are in the pixels, where the text scanner cannot see them.
Tesseract reads them from the sanitised copy (our own re-encoded pixels, never the upload),
and the words go through the same scanner as a letter. The words are for moderators only:
sealed with the family key, never delivered.

Tesseract also says where each word stands, so a flagged word comes with a box over it in
the picture's own pixels: the moderator can cover it with one press.

Reading is best effort: a picture tesseract cannot read, or one that takes too long, is stored
without words, and moderators still look at every picture.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
from dataclasses import dataclass, field

from PIL import Image

log = logging.getLogger(__name__)

# Enough resolution for text a person can read in the picture; less work than 12 megapixels.
MAX_SIDE = 2500
TIMEOUT_SECONDS = 60.0
MAX_CHARS = 20_000
# Pixels around a flagged word's box, so a cover hides the edges of the letters too.
BOX_MARGIN = 4

Box = tuple[int, int, int, int]  # left, top, width, height in the picture's pixels


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    line: int
    box: Box


@dataclass(frozen=True)
class ReadWords:
    """The words of a picture as text, each word with its place in the text and the picture."""

    text: str
    words: tuple[Word, ...]
    width: int
    height: int

    def boxes(self, start: int, end: int) -> list[Box]:
        """Boxes over the words that overlap text[start:end]: one a line, with a margin,
        inside the picture."""
        lines: dict[int, list[Box]] = {}
        for word in self.words:
            if word.start < end and start < word.end:
                lines.setdefault(word.line, []).append(word.box)
        return [self._cover(boxes) for boxes in lines.values()]

    def _cover(self, boxes: list[Box]) -> Box:
        left = max(0, min(x for x, _, _, _ in boxes) - BOX_MARGIN)
        top = max(0, min(y for _, y, _, _ in boxes) - BOX_MARGIN)
        right = min(self.width, max(x + w for x, _, w, _ in boxes) + BOX_MARGIN)
        bottom = min(self.height, max(y + h for _, y, _, h in boxes) + BOX_MARGIN)
        return (left, top, right - left, bottom - top)


@dataclass
class WordReader:
    """Runs tesseract, a few at a time (each is single-threaded: one per core)."""

    tesseract: str
    at_once: int = field(default_factory=lambda: os.cpu_count() or 1)
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.at_once)

    async def read(self, picture: bytes) -> ReadWords | None:
        """The words in ``picture`` (a sanitised JPEG or PNG), or None when it could not be
        read. No words: a ReadWords with empty text."""
        prepared = await asyncio.to_thread(_prepare, picture)
        async with self._slots:
            table = await self._run(prepared.png)
        return None if table is None else _words(table, prepared)

    async def _run(self, prepared: bytes) -> str | None:
        process = await asyncio.create_subprocess_exec(
            self.tesseract,
            "stdin",
            "stdout",
            "-l",
            "eng",
            "--psm",
            "3",
            "tsv",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                words, _ = await process.communicate(prepared)
        except TimeoutError:
            log.warning("reading the words in a picture took over %.0f s; skipped", TIMEOUT_SECONDS)
            return None
        finally:
            # Timed out, or the upload was abandoned (the task cancelled): no tesseract left.
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.returncode != 0:
            log.warning("tesseract could not read a picture (exit %s)", process.returncode)
            return None
        return words.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Prepared:
    png: bytes
    width: int  # of the picture itself
    height: int
    scale: float  # picture pixels per prepared pixel


def _prepare(picture: bytes) -> _Prepared:
    """Grey, at most MAX_SIDE pixels a side, as PNG: what tesseract reads best and fastest."""
    with Image.open(io.BytesIO(picture)) as image:
        width, height = image.size
        grey = image.convert("L")
    grey.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    grey.save(out, format="PNG")
    return _Prepared(out.getvalue(), width, height, width / grey.width)


def _words(table: str, prepared: _Prepared) -> ReadWords:
    """Tesseract's TSV (one row a word, with block, paragraph and line numbers) as text: words
    of a line joined by spaces, lines by a newline, paragraphs by a blank line."""
    text: list[str] = []
    words: list[Word] = []
    at = 0
    last_line: tuple[str, str, str] | None = None
    line_number = -1
    scale = prepared.scale  # tesseract saw the prepared copy; boxes are in the picture's pixels
    for row in csv.DictReader(io.StringIO(table), delimiter="\t", quoting=csv.QUOTE_NONE):
        word = (row.get("text") or "").strip()
        if row.get("level") != "5" or not word:
            continue
        line = (row["block_num"], row["par_num"], row["line_num"])
        if last_line is None:
            gap = ""
        elif line == last_line:
            gap = " "
        else:
            gap = "\n" if line[:2] == last_line[:2] else "\n\n"
        if line != last_line:
            line_number += 1
        if at + len(gap) + len(word) > MAX_CHARS:
            break
        text.append(gap)
        at += len(gap)
        left, top, width, height = (
            round(int(row[key]) * scale) for key in ("left", "top", "width", "height")
        )
        words.append(Word(at, at + len(word), line_number, (left, top, width, height)))
        text.append(word)
        at += len(word)
        last_line = line
    return ReadWords("".join(text), tuple(words), prepared.width, prepared.height)
