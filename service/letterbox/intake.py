"""Intake: a letter, reply or digital gift arrives, is sanitised and scanned, and waits for review.

The upload is read part by part from the multipart stream (never ``request.post()``), so the
limits refuse an oversized or surplus file as soon as its bytes pass the limit. Each file is
buffered up to the per-file limit because the sanitiser needs the whole file; the sanitiser runs
in a process pool. Nothing is stored until every file has been accepted: the original (sealed,
admins only) and the sanitised copy are encrypted by the vault in the same transaction that
creates the item, its parts and the record events, so a refusal leaves no item and no object row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import log_security_event
from service.appkeys import KEYRING, SANITISER_POOL, SESSIONMAKER, SETTINGS, VAULT, WORD_READER
from service.errors import Conflict, Invalid, LetterboxError, TooLarge, Unavailable, Unsupported
from service.http.access import Actor
from service.letterbox import filetypes
from service.letterbox import sanitise as sanitiser
from service.letterbox.clamd import ClamdAddress, ClamdClient, ClamdUnavailable, Infected
from service.letterbox.ocr import ReadWords, WordReader
from service.letterbox.sanitise import IntakeRefused, RefusalCode, SanitisedFile
from service.letterbox.scanner import scan
from service.limits import MIB, IntakeLimits
from service.settings import Settings
from storage.keyring import KeyRing
from storage.models import (
    Channel,
    Direction,
    Family,
    FamilyStatus,
    IdempotentRequest,
    Item,
    ItemKind,
    ItemPart,
    ItemStatus,
    ObjectRole,
    PartKind,
    SensitiveTerm,
)
from storage.record import (
    EventAuthor,
    KeyRingPayloadSealer,
    RecordedWork,
    RecordLog,
    record_transaction,
)

log = logging.getLogger(__name__)

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
SENSITIVE_TERM_PURPOSE = "sensitive-term"
# The words read from a picture or page (service.letterbox.ocr), sealed for moderators.
READ_TEXT_PURPOSE = "read-text"
READ_CHUNK = 64 * 1024
# Small form fields (kind, child id) beside the text and the files.
MAX_FIELD_BYTES = 1000
# A claimed idempotency key whose request never finished (a crashed node) may be taken over.
STALE_CLAIM = timedelta(minutes=15)
SECURITY_MALWARE_REFUSED = "malware_refused"
FAULT_TEST_HOLD = timedelta(minutes=2)


# --- shared plumbing -------------------------------------------------------------------------


class SanitiserPool:
    """Owns the process pool; a worker killed by a hostile file breaks the pool, so it is
    replaced rather than left refusing every later upload."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        # forkserver: workers never inherit the event loop's threads or open sockets.
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(max_workers=self._workers, mp_context=context)

    @property
    def executor(self) -> ProcessPoolExecutor:
        return self._executor

    def replace(self) -> None:
        broken = self._executor
        self._executor = self._new()
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


async def sanitiser_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    pool = SanitiserPool(workers=max(1, min(4, os.cpu_count() or 1)))
    app[SANITISER_POOL] = pool
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
        pool.shutdown()


def sanitiser_limits(settings: Settings) -> IntakeLimits:
    """The intake limits: one definition (service.limits), read from the settings."""
    return settings.intake


def record_log(app: web.Application) -> RecordLog:
    return RecordLog(sealer=KeyRingPayloadSealer(app[KEYRING]))


def record_actor(actor: Actor) -> EventAuthor:
    return EventAuthor(actor.user_id, actor.role.value)


def refusal_error(refused: IntakeRefused) -> LetterboxError:
    """An intake refusal as the HTTP error the middleware renders; the message is the
    sanitiser's own (it names the file, the limit and what to do)."""
    code = refused.code
    error: type[LetterboxError]
    if code in (RefusalCode.FILE_TOO_LARGE, RefusalCode.TOO_MANY_FILES, RefusalCode.TEXT_TOO_LONG):
        error = TooLarge
    elif code is RefusalCode.UNSUPPORTED_TYPE:
        error = Unsupported
    else:
        error = Invalid
    return error(refused.message, field=refused.field, code=str(code))


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


def hits_json(text: str, terms: list[str]) -> list[dict[str, Any]]:
    # Offsets and category only: the matched text is content and stays in the sealed object.
    return [
        {"start": hit.start, "end": hit.end, "category": str(hit.category)}
        for hit in scan(text, terms)
    ]


# --- reading the upload ----------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    """The sender's file name, made safe to show (sanitise.display_name)."""
    data: bytes


@dataclass
class Submission:
    text: str = ""
    files: list[Upload] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.fields):
            digest.update(f"field:{name}={self.fields[name]}\x00".encode())
        digest.update(b"text:" + self.text.encode("utf-8") + b"\x00")
        for upload in self.files:
            digest.update(f"file:{upload.filename}:".encode())
            digest.update(hashlib.sha256(upload.data).digest())
        return digest.hexdigest()


async def read_submission(
    request: web.Request,
    limits: IntakeLimits,
    *,
    text_field: str = "text",
    file_field: str = "files",
    fields: frozenset[str] = frozenset(),
) -> Submission:
    """Read a multipart upload part by part, refusing at the first byte past a limit."""
    if request.content_type != "multipart/form-data":
        raise Invalid("Please send the letter as a form upload (multipart/form-data).")
    # A body bigger than every allowed file and the text together cannot be accepted; say so
    # before reading any of it.
    ceiling = limits.max_files * (limits.max_file_bytes + 64 * 1024) + 4 * limits.max_text_chars
    if request.content_length is not None and request.content_length > ceiling + 1024 * 1024:
        raise TooLarge(
            f"The upload is {request.content_length / MIB:.0f} MB; a letter may carry "
            f"at most {limits.max_files} files of {limits.max_file_bytes // MIB} MB "
            "each. Please send fewer or smaller files.",
            field=file_field,
        )
    submission = Submission()
    # Files, the text and the named fields, with room for a browser's extras; thousands of
    # tiny parts are a way to burn server time, not a letter.
    max_parts = limits.max_files + len(fields) + 8
    try:
        reader = await request.multipart()
        count = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            count += 1
            if count > max_parts:
                raise Invalid(
                    f"The form has too many parts (more than {max_parts}). Please send at most "
                    f"{limits.max_files} files with your letter.",
                    field=file_field,
                )
            if not isinstance(part, BodyPartReader):
                raise Invalid("Nested multipart uploads are not accepted.")
            if part.name == file_field and part.filename is not None:
                upload = await _read_file(part, len(submission.files), limits)
                if upload is not None:
                    submission.files.append(upload)
            elif part.name == text_field:
                raw = await _read_limited(part, 4 * limits.max_text_chars + 4, text_field, limits)
                text = _decode(raw, text_field).replace("\r\n", "\n")
                sanitiser.check_text_length(text, limits)
                submission.text = text
            elif part.name in fields:
                raw = await _read_limited(part, MAX_FIELD_BYTES, part.name, limits)
                submission.fields[part.name] = _decode(raw, part.name).strip()
            else:
                # Unknown parts are drained, never kept.
                await _read_limited(part, MAX_FIELD_BYTES, part.name or "form", limits)
    except (ValueError, HttpProcessingError):
        # aiohttp's multipart reader raises these for a body that is not a well-formed form
        # (no or wrong boundary, cut short, a part header that is too long or invalid).
        raise Invalid(
            "The upload could not be read (it is not a complete form). Nothing was sent; "
            "please send the letter again from the letter page."
        ) from None
    return submission


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The text could not be read (it is not UTF-8).", field=name) from None


async def _read_limited(part: BodyPartReader, limit: int, name: str, limits: IntakeLimits) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(READ_CHUNK):
        data += chunk
        if len(data) > limit:
            if name == "text":
                sanitiser.check_text_length(data.decode("utf-8", "replace"), limits)
            raise Invalid(f"The field {name!r} is too long.", field=name)
    return bytes(data)


async def _read_file(part: BodyPartReader, already: int, limits: IntakeLimits) -> Upload | None:
    name = sanitiser.display_name(part.filename or "")
    data = bytearray()
    counted = False
    while chunk := await part.read_chunk(READ_CHUNK):
        if not counted:
            # Counted once the part has bytes: a browser sends an empty part for an empty
            # file input, which is not a file.
            sanitiser.check_file_count(already + 1, limits)
            counted = True
        data += chunk
        sanitiser.check_file_size(name, len(data), limits, head=bytes(data[:64]))
    if not data:
        if part.filename:
            raise IntakeRefused(
                RefusalCode.EMPTY_FILE,
                f"{name} is empty (0 bytes). Please choose the file again and re-send it.",
                name,
            )
        return None
    return Upload(name, bytes(data))


# --- idempotency -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


async def claim_idempotency_key(
    request: web.Request, actor: Actor, key: str
) -> Replay | IdempotentRequest | None:
    """Claim ``key`` before the body is read.

    Returns None when this request now owns the key; the finished row when the key was used
    before (the caller compares fingerprints once the body is read). A request still in
    progress under the same key is a Conflict.
    """
    if not key or len(key) > 200 or not key.isprintable():
        raise Invalid("The Idempotency-Key header must be 1 to 200 printable characters.")
    now = datetime.now(UTC)
    sessionmaker = request.app[SESSIONMAKER]
    try:
        async with sessionmaker() as session, session.begin():
            row = await session.get(IdempotentRequest, (actor.user_id, key))
            if row is not None:
                if row.status is not None:
                    return row
                if now - row.created_at < STALE_CLAIM:
                    raise _in_progress()
                await session.delete(row)
                await session.flush()
            session.add(
                IdempotentRequest(
                    user_id=actor.user_id, key=key, fingerprint="", status=None, created_at=now
                )
            )
    except IntegrityError:
        raise _in_progress() from None
    return None


def _in_progress() -> Conflict:
    return Conflict(
        "This letter is already being sent (the same request is in progress). Please wait a "
        "moment and check your letters before sending again.",
        code="request_in_progress",
    )


def replay_of(row: IdempotentRequest, fingerprint: str) -> Replay:
    if row.fingerprint != fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used for a different letter. Use a new key for "
            "a new letter.",
            code="idempotency_key_reused",
        )
    return Replay(row.status or 200, dict(row.response or {}))


async def release_idempotency_key(request: web.Request, actor: Actor, key: str) -> None:
    """A failed request gives its key back, so the sender can correct and retry."""
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.user_id == actor.user_id,
                IdempotentRequest.key == key,
                IdempotentRequest.status.is_(None),
            )
        )


# --- the intake itself -----------------------------------------------------------------------


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str


@dataclass(frozen=True)
class NewItem:
    family_id: uuid.UUID
    direction: Direction
    kind: ItemKind
    child_id: uuid.UUID | None = None
    # A returned item changed and sent again: the item it replaces, and the pictures kept
    # from it (their sanitised copies, put through intake again like any upload).
    replaces_item_id: uuid.UUID | None = None
    kept_files: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class _Accepted:
    upload: Upload
    result: SanitisedFile
    # The words read from each page, in order (None: not read).
    read: tuple[ReadWords | None, ...]


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
            f"{upload.filename} could not be checked for viruses just now. Nothing was sent; "
            "please try again in a few minutes.",
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
            f"{upload.filename} contains a virus ({verdict.signature}) and was not accepted. "
            "The centre has been told. Please check your device and send a clean copy.",
            field=upload.filename,
            code="infected_file",
        )


async def sanitise_uploads(app: web.Application, uploads: list[Upload]) -> list[SanitisedFile]:
    pool = app[SANITISER_POOL]
    limits = sanitiser_limits(app[SETTINGS])
    results = []
    for upload in uploads:
        try:
            results.append(
                await sanitiser.sanitise_in_pool(
                    pool.executor, upload.data, upload.filename, limits
                )
            )
        except IntakeRefused as refused:
            if refused.code is RefusalCode.PROCESSING_FAILED:
                pool.replace()
            raise refusal_error(refused) from None
    return results


async def read_words(app: web.Application, result: SanitisedFile) -> tuple[ReadWords | None, ...]:
    """The words in each sanitised page, for the scanner; nothing when tesseract is absent.
    The pages of a PDF are read side by side, as many at once as the reader allows."""
    reader = app[WORD_READER]
    if reader is None:
        return tuple(None for _ in result.pages)
    return tuple(await asyncio.gather(*(reader.read(page.data) for page in result.pages)))


def picture_hits(read: ReadWords | None, terms: list[str]) -> list[dict[str, Any]]:
    """The scanner's hits on the words read from a picture, each with the boxes that cover
    it in the picture (positions only, like the offsets)."""
    if read is None:
        return []
    return [
        {**hit, "boxes": [list(box) for box in read.boxes(hit["start"], hit["end"])]}
        for hit in hits_json(read.text, terms)
    ]


def _check_family(family: Family | None, new: NewItem, submission: Submission) -> Family:
    if family is None:
        raise Invalid("That family does not exist.")
    if family.status is not FamilyStatus.ACTIVE:
        raise Conflict(
            "Letters for this family are paused at the moment. The centre will tell you when "
            "you can send again.",
            code="family_not_active",
        )
    if new.direction is Direction.TO_CHILD:
        channels = set(family.channels or [])
        needed = Channel.GIFTS if new.kind is ItemKind.DIGITAL_GIFT else Channel.LETTERS
        if needed.value not in channels:
            raise Invalid(f"This family's contact does not include {needed.value}.")
        if submission.files and Channel.PHOTOS.value not in channels:
            raise Invalid(
                "This family's contact does not include photos or documents. Please send the "
                "letter without attachments.",
                field="files",
            )
    return family


async def submit(
    app: web.Application,
    actor: Actor,
    new: NewItem,
    submission: Submission,
    idempotency: Idempotency | None = None,
) -> dict[str, Any]:
    """Sanitise, scan and store a submission as a new item in review; return its summary."""
    if new.kept_files:
        submission = Submission(
            submission.text, [*new.kept_files, *submission.files], submission.fields
        )
    if not submission.text.strip() and not submission.files:
        raise Invalid("Please write something or attach a photo before sending.", field="text")
    limits = sanitiser_limits(app[SETTINGS])
    sanitiser.check_text_length(submission.text, limits)
    sanitiser.check_file_count(len(submission.files), limits)
    async with app[SESSIONMAKER]() as session:
        family = _check_family(await session.get(Family, new.family_id), new, submission)
        family_id = family.id
    for upload in submission.files:
        await scan_for_malware(app, actor, family_id, upload)
    sanitised = await sanitise_uploads(app, submission.files)
    accepted = [
        _Accepted(upload, result, await read_words(app, result))
        for upload, result in zip(submission.files, sanitised, strict=True)
    ]
    async with record_transaction(app[SESSIONMAKER], record_log(app), record_actor(actor)) as work:
        summary = await _store(app, work, actor, new, submission.text, accepted)
        if idempotency is not None:
            row = await work.session.get(IdempotentRequest, (actor.user_id, idempotency.key))
            if row is not None:
                row.fingerprint = idempotency.fingerprint
                row.status = 201
                row.response = summary
        if (marker := app[SETTINGS].test_pause_before_commit) is not None:
            await _pause_for_fault_test(marker)
    return summary


async def _pause_for_fault_test(marker: Path) -> None:
    """Test mode only (the setting is refused otherwise): the objects are in the store and the
    transaction is not committed. Say so through ``marker``, then hold here so a fault test can
    kill the process at exactly this point (tests/reliability/test_crash_before_commit.py); a
    test that does not kill it lets the commit go ahead after ``FAULT_TEST_HOLD``."""
    await asyncio.to_thread(marker.write_text, f"{os.getpid()}\n")
    await asyncio.sleep(FAULT_TEST_HOLD.total_seconds())


async def _store(
    app: web.Application,
    work: RecordedWork,
    actor: Actor,
    new: NewItem,
    text: str,
    accepted: list[_Accepted],
) -> dict[str, Any]:
    session = work.session
    vault = app[VAULT]
    keyring = app[KEYRING]
    limits = sanitiser_limits(app[SETTINGS])
    now = datetime.now(UTC)
    item = Item(
        id=uuid.uuid4(),
        family_id=new.family_id,
        direction=new.direction,
        kind=new.kind,
        sender_id=actor.user_id,
        child_id=new.child_id,
        status=ItemStatus.SUBMITTED,
        submitted_at=now,
        replaces_item_id=new.replaces_item_id,
    )
    session.add(item)
    await session.flush()
    parts: list[ItemPart] = []
    record_parts: list[dict[str, Any]] = []
    position = 0
    terms = await sensitive_terms(session, keyring, new.family_id)
    if text.strip():
        stored = await vault.put_bytes(
            session,
            new.family_id,
            text.encode("utf-8"),
            role=ObjectRole.SANITISED,
            media_type=TEXT_MEDIA_TYPE,
        )
        part = ItemPart(
            id=uuid.uuid4(),
            item_id=item.id,
            position=position,
            kind=PartKind.TEXT,
            sanitised_object_id=stored.id,
            media_type=TEXT_MEDIA_TYPE,
            removed_metadata=[],
            scan_hits=hits_json(text, terms),
        )
        parts.append(part)
        record_parts.append(
            {"part_id": part.id, "kind": "text", "object_id": stored.id, "sha256": stored.sha256}
        )
        position += 1
    for entry in accepted:
        original = await vault.put_bytes(
            session,
            new.family_id,
            entry.upload.data,
            role=ObjectRole.ORIGINAL,
            media_type=filetypes.info(entry.result.detected_type).media_type,
        )
        kind = PartKind.IMAGE if entry.result.kind == "image" else PartKind.DOCUMENT
        for page, read in zip(entry.result.pages, entry.read, strict=True):
            words = read.text if read is not None else ""
            stored = await vault.put_bytes(
                session,
                new.family_id,
                page.data,
                role=ObjectRole.SANITISED,
                media_type=page.media_type,
            )
            if stored.size > limits.max_file_bytes * 4:
                raise Invalid("A page came out too large to store.", field=entry.upload.filename)
            part = ItemPart(
                id=uuid.uuid4(),
                item_id=item.id,
                position=position,
                kind=kind,
                original_object_id=original.id,
                sanitised_object_id=stored.id,
                media_type=page.media_type,
                width=page.width,
                height=page.height,
                page_count=len(entry.result.pages) if kind is PartKind.DOCUMENT else None,
                removed_metadata=list(entry.result.removed),
                scan_hits=picture_hits(read, terms),
                read_text_sealed=await keyring.seal_for_family(
                    session, new.family_id, words.encode("utf-8"), READ_TEXT_PURPOSE
                )
                if words.strip()
                else None,
            )
            parts.append(part)
            record_parts.append(
                {
                    "part_id": part.id,
                    "kind": kind.value,
                    "object_id": stored.id,
                    "sha256": stored.sha256,
                    "original_object_id": original.id,
                    "original_sha256": original.sha256,
                    "removed": list(entry.result.removed),
                }
            )
            position += 1
    # No relationship links parts to their objects, so the object rows go in first.
    await session.flush()
    session.add_all(parts)
    await session.flush()
    submitted_kind = "reply_submitted" if new.kind is ItemKind.REPLY else "item_submitted"
    await work.record(
        new.family_id,
        submitted_kind,
        {
            "item_id": item.id,
            "direction": new.direction.value,
            "item_kind": new.kind.value,
            "child_id": new.child_id,
            "parts": record_parts,
            **({"replaces_item_id": new.replaces_item_id} if new.replaces_item_id else {}),
        },
    )
    item.status = ItemStatus.IN_REVIEW
    await session.flush()
    await work.record(new.family_id, "item_in_review", {"item_id": item.id})
    return {
        "item_id": str(item.id),
        "family_id": str(new.family_id),
        "status": ItemStatus.IN_REVIEW.value,
        "kind": new.kind.value,
        "direction": new.direction.value,
        "parts": [
            {
                "part_id": str(part.id),
                "kind": part.kind.value,
                "media_type": part.media_type,
                "removed": list(part.removed_metadata),
                "hits": len(part.scan_hits),
            }
            for part in parts
        ],
    }


async def submit_from_request(
    request: web.Request,
    actor: Actor,
    new: NewItem,
    submission_fields: frozenset[str] = frozenset(),
    prepare: Callable[[Submission], Awaitable[NewItem]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The upload handler's whole job: idempotency, streaming read, intake. ``prepare``
    completes ``new`` from the form once it is read (a resent letter's kept pictures)."""
    limits = sanitiser_limits(request.app[SETTINGS])
    key = request.headers.get("Idempotency-Key")
    previous = await claim_idempotency_key(request, actor, key) if key is not None else None
    if isinstance(previous, Replay):  # pragma: no cover - claim never returns a Replay
        return previous.status, previous.body
    try:
        try:
            submission = await read_submission(request, limits, fields=submission_fields)
        except IntakeRefused as refused:
            raise refusal_error(refused) from None
        if previous is not None:
            replay = replay_of(previous, submission.fingerprint())
            return replay.status, replay.body
        idempotency = Idempotency(key, submission.fingerprint()) if key is not None else None
        if prepare is not None:
            new = await prepare(submission)
        try:
            return 201, await submit(request.app, actor, new, submission, idempotency)
        except IntakeRefused as refused:
            raise refusal_error(refused) from None
    except Exception:
        if key is not None and previous is None:
            await release_idempotency_key(request, actor, key)
        raise
