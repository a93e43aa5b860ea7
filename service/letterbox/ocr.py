"""Reading the words in a picture or a scanned page, so the scanner can flag them.

A photo of a school gate, a drawing signed with a new surname, a PDF of a letter with an
address: the personal details are in the pixels, where the text scanner cannot see them.
Tesseract reads them from the sanitised copy (our own re-encoded pixels, never the upload),
and the words go through the same scanner as a letter. The words are for moderators only:
sealed with the family key, never delivered.

Reading is best effort: a picture tesseract cannot read, or one that takes too long, is stored
without words, and moderators still look at every picture.
"""

from __future__ import annotations

import asyncio
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


@dataclass
class WordReader:
    """Runs tesseract, a few at a time (each is single-threaded: one per core)."""

    tesseract: str
    at_once: int = field(default_factory=lambda: os.cpu_count() or 1)
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.at_once)

    async def read(self, picture: bytes) -> str | None:
        """The words in ``picture`` (a sanitised JPEG or PNG), or None when it could not be
        read. An empty string: read, and no words."""
        prepared = await asyncio.to_thread(_prepare, picture)
        async with self._slots:
            return await self._run(prepared)

    async def _run(self, prepared: bytes) -> str | None:
        process = await asyncio.create_subprocess_exec(
            self.tesseract,
            "stdin",
            "stdout",
            "-l",
            "eng",
            "--psm",
            "3",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                words, _ = await process.communicate(prepared)
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("reading the words in a picture took over %.0f s; skipped", TIMEOUT_SECONDS)
            return None
        if process.returncode != 0:
            log.warning("tesseract could not read a picture (exit %s)", process.returncode)
            return None
        return words.decode("utf-8", errors="replace")[:MAX_CHARS]


def _prepare(picture: bytes) -> bytes:
    """Grey, at most MAX_SIDE pixels a side, as PNG: what tesseract reads best and fastest."""
    with Image.open(io.BytesIO(picture)) as image:
        grey = image.convert("L")
    grey.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    grey.save(out, format="PNG")
    return out.getvalue()
