"""Screening: every file checked for viruses, rebuilt from its pixels in a killable worker
process, its words read, and the letter and the words scanned for personal details.

Nothing is stored here; a refusal of any file refuses the letter, with the sanitiser's own
message (it names the file, the limit and what to do).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Hashable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.appkeys import (
    KEYRING,
    LANGUAGE_DETECTOR,
    SANITISER_POOL,
    SESSIONMAKER,
    SETTINGS,
    WORD_READER,
)
from service.errors import Invalid, Unavailable
from service.http.access import Actor
from service.i18n import _
from service.letterbox import sanitise as sanitiser
from service.letterbox.clamd import ClamdAddress, ClamdClient, ClamdUnavailable, Infected
from service.letterbox.intake.upload import Upload, sanitiser_limits
from service.letterbox.language import Language
from service.letterbox.ocr import ReadWords, WordReader
from service.letterbox.sanitise import SanitisedFile
from service.letterbox.scanner import scan
from service.letterbox.workers import FileWorkers
from service.security_log import log_security_event
from storage.children import open_children
from storage.keyring import KeyRing
from storage.leases import SenderSlots
from storage.models import FamilySender, SensitiveTerm, User

log = logging.getLogger(__name__)

SENSITIVE_TERM_PURPOSE = "sensitive-term"
SECURITY_MALWARE_REFUSED = "malware_refused"
# Modules a sanitiser process imports before its first file, so the decoders' import time
# never counts against a file's limit.
SANITISER_PRELOAD = ("service.letterbox.sanitise",)

T = TypeVar("T")


async def sanitiser_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """The worker processes that sanitise uploads and redact pictures, and the word reader."""
    workers = FileWorkers(preload=SANITISER_PRELOAD)
    app[SANITISER_POOL] = workers
    tesseract = app[SETTINGS].tesseract
    app[WORD_READER] = WordReader(tesseract) if tesseract is not None else None
    if tesseract is None:
        log.warning(
            "tesseract is not installed: words inside pictures and scanned pages are not "
            "scanned for personal details (install tesseract-ocr)"
        )
    try:
        yield
    finally:
        await workers.shutdown()


@dataclass(frozen=True)
class ScreenedFile:
    upload: Upload
    result: SanitisedFile
    # Per page, in order: the words read (None: not read) and the scanner's hits on them.
    read: tuple[ReadWords | None, ...]
    hits: tuple[list[dict[str, Any]], ...]


@dataclass(frozen=True)
class Screened:
    text: str
    text_hits: list[dict[str, Any]]
    files: list[ScreenedFile]
    # The language the text seems to be in; None when too short or unsure.
    language: Language | None = None


async def screen(
    app: web.Application, actor: Actor, family_id: uuid.UUID, text: str, uploads: list[Upload]
) -> Screened:
    """Virus scan, sanitise, read words, scan, tell the language: the letter as it will be
    stored, or a refusal."""
    for upload in uploads:
        await scan_for_malware(app, actor, family_id, upload)
    sanitised = await sanitise_uploads(app, uploads, sender=actor.user_id)
    read = await all_or_none([read_words(app, result) for result in sanitised])
    async with app[SESSIONMAKER]() as session:
        terms = await sensitive_terms(session, app[KEYRING], family_id)
        names = await family_first_names(session, app[KEYRING], family_id)
    return Screened(
        text,
        hits_json(text, terms, names),
        [
            ScreenedFile(
                upload, result, words, tuple(picture_hits(page, terms, names) for page in words)
            )
            for upload, result, words in zip(uploads, sanitised, read, strict=True)
        ],
        await text_language(app, text),
    )


async def text_language(app: web.Application, text: str) -> Language | None:
    """The language the letter's words seem to be in, told in a thread (CPU work: never on
    the event loop)."""
    if not text.strip():
        return None
    return await asyncio.to_thread(app[LANGUAGE_DETECTOR].detect, text)


async def scan_for_malware(
    app: web.Application, actor: Actor, family_id: uuid.UUID, upload: Upload
) -> None:
    """Stream the original to clamd when configured; infected files are refused and alerted."""
    address = app[SETTINGS].clamd
    if address is None:
        return
    client = ClamdClient(ClamdAddress.parse(address))
    try:
        verdict = await client.scan_bytes(upload.data)
    except ClamdUnavailable as exc:
        log.warning("virus scanner unavailable: %s", exc)
        raise Unavailable(
            _(
                "{file} could not be checked for viruses just now. Nothing was sent; please try "
                "again in a few minutes."
            ).format(file=upload.filename),
            field=upload.filename,
        ) from exc
    if isinstance(verdict, Infected):
        log.warning(
            "SECURITY: infected upload refused (signature %s, family %s, user %s)",
            verdict.signature,
            family_id,
            actor.user_id,
        )
        async with app[SESSIONMAKER]() as session, session.begin():
            await log_security_event(
                session,
                SECURITY_MALWARE_REFUSED,
                user_id=actor.user_id,
                actor_id=actor.user_id,
                detail={
                    "family_id": str(family_id),
                    "signature": verdict.signature,
                    "sha256": hashlib.sha256(upload.data).hexdigest(),
                },
            )
        raise Invalid(
            _(
                "{file} contains a virus ({signature}) and was not accepted. The centre has been "
                "told. Please check your device and send a clean copy."
            ).format(file=upload.filename, signature=verdict.signature),
            field=upload.filename,
            code="infected_file",
        )


async def sanitise_uploads(
    app: web.Application, uploads: list[Upload], *, sender: Hashable
) -> list[SanitisedFile]:
    """Every file rebuilt in a worker process of its own, in ``sender``'s turn (files of one
    sender queue behind each other, never in front of another sender's). The first refusal
    refuses them all and stops the rest."""
    workers = app[SANITISER_POOL]
    settings = app[SETTINGS]
    limits = sanitiser_limits(settings)

    async def one(upload: Upload) -> SanitisedFile:
        async with sender_share(app, sender):
            return await sanitiser.sanitise_in_pool(
                workers,
                upload.data,
                upload.filename,
                limits,
                sender=sender,
                seconds=settings.sanitise_seconds,
            )

    return await all_or_none([one(upload) for upload in uploads])


@contextlib.asynccontextmanager
async def sender_share(app: web.Application, sender: Hashable) -> AsyncIterator[None]:
    """Hold one of ``sender``'s slots of the whole centre (``storage.leases.SenderSlots``)
    while a file of theirs is sanitised: with several workers (or hosts), each worker's own
    queue is fair, and this keeps one sender from running on every worker at once. A sender
    at their share waits here, in no worker's queue. A slot whose worker died lapses after
    twice the time limit of a file and a minute."""
    slots = SenderSlots(app[SESSIONMAKER])
    limit = app[SANITISER_POOL].per_sender
    ttl = timedelta(seconds=2 * app[SETTINGS].sanitise_seconds + 60)
    delay = 0.05
    while (held := await slots.take(str(sender), limit, ttl)) is None:
        await asyncio.sleep(delay)
        delay = min(1.0, delay * 2)
    try:
        yield
    finally:
        # Even when the upload is cancelled (the first refusal stops the others).
        await asyncio.shield(slots.release(str(sender), *held))


async def all_or_none(steps: list[Awaitable[T]]) -> list[T]:
    """Run ``steps`` side by side; on the first failure cancel the others (a cancelled worker
    job leaves its queue or has its process killed) and raise it."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        for finished in asyncio.as_completed(tasks):
            await finished
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [task.result() for task in tasks]


async def read_words(app: web.Application, result: SanitisedFile) -> tuple[ReadWords | None, ...]:
    """The words in each sanitised page, for the scanner; nothing when tesseract is absent.
    The pages of a PDF are read side by side, as many at once as the reader allows."""
    reader = app[WORD_READER]
    if reader is None:
        return tuple(None for _ in result.pages)
    return tuple(await asyncio.gather(*(reader.read(page.data) for page in result.pages)))


async def sensitive_terms(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> list[str]:
    rows = (
        await session.scalars(
            select(SensitiveTerm.term_sealed)
            .where(SensitiveTerm.family_id == family_id)
            .order_by(SensitiveTerm.created_at)
        )
    ).all()
    return [
        (await keyring.open_for_family(session, family_id, sealed, SENSITIVE_TERM_PURPOSE)).decode(
            "utf-8"
        )
        for sealed in rows
    ]


async def family_first_names(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> list[str]:
    """The first names of the family's children and approved senders: they appear in every
    letter, so a sensitive term's word that is one of them is not matched alone."""
    children = [c.name for c in await open_children(session, keyring, family_ids=[family_id])]
    senders = await session.scalars(
        select(User.display_name)
        .join(FamilySender, FamilySender.user_id == User.id)
        .where(FamilySender.family_id == family_id)
    )
    names = [*children, *(name.split()[0] for name in senders if name.split())]
    return sorted(set(names))


def hits_json(
    text: str, terms: list[str], first_names: list[str] | tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    # Offsets and category only: the matched text is content and stays in the sealed object.
    return [
        {"start": hit.start, "end": hit.end, "category": str(hit.category)}
        for hit in scan(text, terms, first_names=first_names)
    ]


def picture_hits(
    read: ReadWords | None, terms: list[str], first_names: list[str] | tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The scanner's hits on the words read from a picture, each with the boxes that cover
    it in the picture (positions only, like the offsets)."""
    if read is None:
        return []
    return [
        {**hit, "boxes": [list(box) for box in read.boxes(hit["start"], hit["end"])]}
        for hit in hits_json(read.text, terms, first_names)
    ]
