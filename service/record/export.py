"""The court export: a family's record for a period, as a PDF a judge reads and a bundle
anyone can verify offline.

`make_export` runs in three steps, so the database is never held while the PDF is drawn:

1. one transaction signs a fresh checkpoint of the family's record and gathers the bundle's
   contents (``service.record.bundle.collect_material``); the bundle hash (the record digest)
   is then known;
2. outside any transaction, the PDF is drawn in a thread, with the bundle hash on every page,
   and the bundle is built around the PDF's SHA-256;
3. one guarded transaction stores both files (encrypted, under the family key) and appends the
   ``export_made`` event, which names the period, the checkpoint, the digest and both hashes.

Every download of an export is an ``export_downloaded`` event, written before the file is
handed over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, ParamSpec, TypeVar

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import Invalid, NotFound, Unavailable
from service.i18n import SOURCE_LANGUAGE, use_language
from service.record import court_plan
from service.record.bundle import BundleMaterial, build_bundle, collect_material
from service.record.checkpoints import publish_centre_checkpoint, stamp_centre_checkpoint
from service.record.court_concerns import concerns_section
from service.record.court_reports import reports_section
from service.record.pdf import (
    DEJAVU_DIR,
    Certifier,
    ContactBlock,
    CourtDocument,
    EventLine,
    NoteEntry,
    Section,
    render_court_pdf,
)
from service.record.timeline import (
    UK,
    TimelineEntry,
    entries_for,
    family_summary,
    format_day,
    format_moment,
    load_names,
    parse_day,
    uk_day_start,
)
from service.record.timestamp import TimestampInvalid
from storage import recordformat as rf
from storage.children import court_order_references
from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import ObjectRole, RecordEvent, StoredObject
from storage.record import (
    EventAuthor,
    KeyRingPayloadSealer,
    RecordLog,
    load_or_create_signer,
    record_transaction,
)
from storage.vault import EncryptedStore

__all__ = [
    "Certifier",
    "ExportFile",
    "ExportMade",
    "ExportSummary",
    "Maker",
    "Period",
    "build_document",
    "download_export",
    "export_file_name",
    "list_exports",
    "make_export",
    "parse_certifier",
]

_log = logging.getLogger(__name__)
MAX_PERIOD_DAYS: Final = 366 * 20
ExportFile = Literal["pdf", "bundle"]
_MEDIA: Final = {"pdf": "application/pdf", "bundle": "application/zip"}


@dataclass(frozen=True)
class Period:
    """Whole UK calendar days, both ends included."""

    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise Invalid("The end date is before the start date.", field="to")
        if (self.last_day - self.first_day).days > MAX_PERIOD_DAYS:
            raise Invalid("A period is at most 20 years.", field="to")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        return cls(parse_day(first, "from"), parse_day(last, "to"))

    @property
    def start(self) -> datetime:
        return uk_day_start(self.first_day)

    @property
    def until(self) -> datetime:
        """The first instant after the period (midnight after the last day, UK time)."""
        return uk_day_start(self.last_day + timedelta(days=1))

    def words(self) -> str:
        return (
            f"{format_day(self.first_day)} to {format_day(self.last_day)} "
            "(whole days, UK time, both included)"
        )


@dataclass(frozen=True)
class Maker:
    """Who makes or downloads an export: the record actor and how the PDF names them."""

    actor: EventAuthor
    name: str


@dataclass(frozen=True)
class ExportMade:
    seq: int  # the export_made event's record sequence number: the export's name
    family_id: uuid.UUID
    case_reference: str
    period: Period
    pdf: bytes
    bundle: bytes
    pdf_sha256: str
    bundle_sha256: str
    record_digest: str
    events: int
    checkpoint_size: int
    stored: bool

    def file_name(self, file: ExportFile) -> str:
        return export_file_name(self.case_reference, self.period, file)


def export_file_name(case_reference: str, period: Period, file: ExportFile) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", case_reference).strip("-") or "case"
    stem = f"{safe}_{period.first_day.isoformat()}_{period.last_day.isoformat()}"
    return f"{stem}_record.pdf" if file == "pdf" else f"{stem}_bundle.zip"


# --- the document ------------------------------------------------------------------------


def _short(moment: datetime) -> str:
    local = moment.astimezone(UK)
    return f"{local:%a %d %b %Y %H:%M}"


def _minutes(delta: timedelta) -> str:
    total = max(int(delta.total_seconds() + 30) // 60, 0)
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"


def _line(entry: TimelineEntry) -> EventLine:
    return EventLine(_short(entry.at), entry.text)


def _notes(entries: Sequence[TimelineEntry]) -> list[NoteEntry]:
    return [
        NoteEntry(_short(e.at), e.note_author or e.actor, e.note)
        for e in entries
        if e.note is not None
    ]


def _item_block(entries: list[TimelineEntry]) -> ContactBlock:
    first = next((e for e in entries if e.kind in ("item_submitted", "reply_submitted")), None)
    if first is None:
        title = "Item sent before this period"
    else:
        payload = first.payload
        word = {"letter": "Letter", "reply": "Reply", "digital_gift": "Digital gift"}.get(
            str(payload.get("item_kind")), "Item"
        )
        if first.kind == "reply_submitted" or payload.get("direction") == "to_parent":
            title = f"{word} to the parent, written {_short(first.at)}"
        else:
            title = f"{word} to the child, sent {_short(first.at)}"
    outcome = "waiting for a moderator"
    for entry in entries:
        match entry.kind:
            case "item_rejected":
                outcome = "rejected by the moderator"
            case "item_returned":
                outcome = "returned to the sender with a message"
            case "item_delivered":
                outcome = "approved and delivered, not yet opened"
            case "item_opened":
                outcome = f"opened on {format_day(entry.at.astimezone(UK).date())}"
            case "item_moderated" if entry.payload.get("awaiting_second_approval"):
                outcome = "waiting for a second moderator"
    if first is not None and (
        first.kind == "reply_submitted" or first.payload.get("direction") == "to_parent"
    ):
        outcome = outcome.replace("not yet opened", "ready for the parent to read")
    return ContactBlock(
        title, (f"Outcome: {outcome}.",), [_line(e) for e in entries if e.note is None], []
    )


def _call_block(entries: list[TimelineEntry], notes: list[TimelineEntry]) -> ContactBlock:
    booked = next(
        (e for e in reversed(entries) if e.kind in ("call_scheduled", "call_changed")), None
    )
    title = "Video call booked before this period"
    if booked is not None:
        start = booked.payload.get("starts_at")
        end = booked.payload.get("ends_at")
        try:
            begins, ends = rf.parse_time(str(start)), rf.parse_time(str(end))
            title = (
                f"Video call booked for {_short(begins)} to "
                f"{format_moment(ends, with_day=False)} ({_minutes(ends - begins)})"
            )
        except rf.RecordFormatError:
            title = "Video call"
    connected: datetime | None = None
    finished: datetime | None = None
    paused_at: datetime | None = None
    pauses: list[timedelta] = []
    warnings = 0
    ended_by = ""
    joined: list[str] = []
    for entry in entries:
        match entry.kind:
            case "call_admitted":
                connected = connected or entry.at
            case "call_joined":
                who = str(entry.payload.get("as", "someone"))
                if who not in joined:
                    joined.append(who)
                if who == "child" and connected is None and "parent" in joined:
                    connected = entry.at
            case "call_paused":
                paused_at = paused_at or entry.at
            case "call_resumed":
                if paused_at is not None:
                    pauses.append(entry.at - paused_at)
                    paused_at = None
            case "call_warned":
                warnings += 1
            case "call_ended":
                finished = entry.at
                ended_by = entry.text.removeprefix("The call was ended by ").rstrip(".")
            case "call_left" if finished is None:
                finished = entry.at if connected is not None else finished
            case "call_cancelled":
                ended_by = "cancelled: " + entry.text.split(": ", 1)[-1].rstrip(".")
    if paused_at is not None and finished is not None:
        pauses.append(finished - paused_at)
    summary = []
    if joined:
        summary.append("Joined: " + ", ".join(joined) + ".")
    if connected is not None and finished is not None:
        summary.append(
            f"Contact lasted {_minutes(finished - connected)} "
            f"({format_moment(connected, with_day=False)} to {format_moment(finished, with_day=False)})."
        )
    if pauses:
        summary.append(
            f"Paused {len(pauses)} time{'s' if len(pauses) != 1 else ''}, "
            f"{_minutes(sum(pauses, timedelta()))} in all."
        )
    if warnings:
        summary.append(f"{warnings} warning{'s' if warnings != 1 else ''} shown to the parent.")
    if ended_by:
        summary.append(
            f"Ended by {ended_by}." if "cancelled" not in ended_by else f"Call {ended_by}."
        )
    return ContactBlock(title, summary, [_line(e) for e in entries], _notes(notes))


def _session_block(entries: list[TimelineEntry], notes: list[TimelineEntry]) -> ContactBlock:
    start = next((e for e in entries if e.kind == "opening_session_started"), None)
    end = next((e for e in entries if e.kind == "opening_session_ended"), None)
    title = f"Opening session, {_short(start.at)}" if start else "Opening session"
    summary = []
    if start is not None and end is not None:
        summary.append(
            f"Attended from {format_moment(start.at, with_day=False)} to "
            f"{format_moment(end.at, with_day=False)} ({_minutes(end.at - start.at)})."
        )
    return ContactBlock(title, summary, [_line(e) for e in entries], _notes(notes))


def _group_key(entry: TimelineEntry) -> tuple[str, str]:
    p = entry.payload
    if entry.group == "letters" and p.get("item_id"):
        return ("item", str(p["item_id"]))
    if entry.group == "gifts" and p.get("gift_id"):
        return ("gift", str(p["gift_id"]))
    if entry.group == "calls" and p.get("call_id"):
        return ("call", str(p["call_id"]))
    if entry.group == "attendance" and p.get("session_id"):
        return ("session", str(p["session_id"]))
    if entry.kind == "observation_note_added":
        if p.get("call_id"):
            return ("call-note", str(p["call_id"]))
        if p.get("session_id"):
            return ("session-note", str(p["session_id"]))
        return ("note", "")
    return ("other", "")


_SUPPORTED_NOTE: Final = (
    "This family has supported contact: staff do not observe or write notes, so this record "
    "holds no observation notes."
)


async def court_order_reference(
    session: AsyncSession, keyring: KeyRing, family_id: uuid.UUID
) -> str | None:
    """The order the family was referred under (shown on the cover and the exports pages),
    sealed with the family key: none once the family is shredded."""
    return (await court_order_references(session, keyring, [family_id])).get(family_id)


def build_document(
    entries: Sequence[TimelineEntry],
    *,
    centre_name: str,
    case_reference: str,
    supervised: bool,
    period: Period,
    material: BundleMaterial,
    generated_by: str,
    generated_at: datetime,
    certifier: Certifier | None = None,
    court_order_reference: str | None = None,
) -> CourtDocument:
    """Group the period's events per contact, in plain language, for the PDF."""
    groups: dict[tuple[str, str], list[TimelineEntry]] = defaultdict(list)
    for entry in entries:
        key = _group_key(entry)
        if not supervised and key[0] in ("call-note", "session-note", "note"):
            key = ("other", "")  # cannot happen (the schema forbids it); never show a note
        groups[key].append(entry)

    def ids(kind: str) -> list[str]:
        return [k[1] for k in groups if k[0] == kind]

    session_ids = list(dict.fromkeys(ids("session") + ids("session-note")))
    call_ids = list(dict.fromkeys(ids("call") + ids("call-note")))
    attendance = [
        _session_block(groups.get(("session", s), []), groups.get(("session-note", s), []))
        for s in session_ids
    ]
    calls = [
        _call_block(groups.get(("call", c), []), groups.get(("call-note", c), [])) for c in call_ids
    ]
    call_attendance = [
        EventLine(
            block.lines[0].when,
            " ".join(
                [block.title + "."]
                + [line for line in block.summary if line.startswith(("Joined", "Contact"))]
            ),
        )
        for block in calls
        if block.lines and any(line.startswith("Joined") for line in block.summary)
    ]
    if call_attendance:
        attendance.append(ContactBlock("Video calls attended", (), call_attendance, ()))
    letters = [_item_block(groups[("item", i)]) for i in ids("item")]
    gifts = [
        ContactBlock(
            f"Physical gift logged {_short(groups[('gift', g)][0].at)}",
            (),
            [_line(e) for e in groups[("gift", g)]],
        )
        for g in ids("gift")
    ]
    others = groups.get(("other", ""), []) + groups.get(("note", ""), [])
    other_blocks = (
        [
            ContactBlock(
                "In date order",
                (),
                [_line(e) for e in others],
                _notes(groups.get(("note", ""), [])),
            )
        ]
        if others
        else []
    )
    level_note = (
        "Observation notes written by the supervising staff are shown with the contact they "
        "belong to."
        if supervised
        else _SUPPORTED_NOTE
    )
    sections = [
        Section(
            "Attendance",
            "When the child came to the centre to open letters and gifts, and who joined each "
            "video call. " + level_note,
            attendance,
        ),
        Section(
            "Letters, replies and digital gifts",
            "Each item, from sending to its outcome: every item is checked by a moderator "
            "before it is delivered, in either direction.",
            letters,
        ),
        Section("Physical gifts", "Gifts brought or posted to the centre.", gifts),
        Section(
            "Video calls",
            "Each call from booking to its end, with what the supervisor did and why. "
            + level_note,
            calls,
        ),
        Section(
            "Other record entries",
            "Changes to the family's settings, who may send, referrer access, and exports.",
            other_blocks,
        ),
        *reports_section(entries, supervised=supervised),  # issue 20: approved reports
        *concerns_section(entries, supervised=supervised),  # issue 20: as the level allows
    ]
    checkpoint = rf.parse_signed_note(material.checkpoint_note).checkpoint
    return CourtDocument(
        court_order_reference=court_order_reference,
        centre_name=centre_name,
        case_reference=case_reference,
        contact_level="supervised" if supervised else "supported",
        period=period.words(),
        period_utc=(
            f"from {rf.format_time(period.start, micro=False)} up to (not including) "
            f"{rf.format_time(period.until, micro=False)}"
        ),
        generated_by=generated_by,
        generated_at=generated_at,
        generated_at_text=format_moment(generated_at),
        checkpoint_size=checkpoint.size,
        checkpoint_head=checkpoint.head.hex(),
        checkpoint_time=format_moment(rf.parse_time(checkpoint.time)),
        key_fingerprint=rf.key_fingerprint(material.public_key),
        record_digest=material.digest(),
        event_count=len(entries),
        sections=sections,
        certifier=certifier,
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_certifier(name: str, role: str) -> Certifier:
    """The officer who certifies an export, as entered: both needed, each 2-100 characters."""
    for field_name, value, what in (
        ("officer_name", name, "the certifying officer's full name"),
        ("officer_role", role, "their role at the centre (for example Centre Manager)"),
    ):
        cleaned = value.strip()
        if not 2 <= len(cleaned) <= 100 or _CONTROL.search(cleaned):
            raise Invalid(f"Enter {what}, 2 to 100 characters.", field=field_name)
    return Certifier(name.strip(), role.strip())


# --- making an export ----------------------------------------------------------------------


@dataclass(frozen=True)
class _SerialisedOnce(BundleMaterial):
    """Bundle material whose events.jsonl and proof.json are serialised once: the export reads
    them for the bundle hash and again for the zip (about 0.4 s each at 10,000 events)."""

    @functools.cached_property
    def _events_jsonl(self) -> bytes:
        return super().events_jsonl()

    @functools.cached_property
    def _proof_json(self) -> bytes:
        return super().proof_json()

    def events_jsonl(self) -> bytes:
        return self._events_jsonl

    def proof_json(self) -> bytes:
        return self._proof_json

    @classmethod
    def of(cls, material: BundleMaterial) -> _SerialisedOnce:
        return cls(**{f.name: getattr(material, f.name) for f in dataclasses.fields(material)})


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _in_english(make: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    """A court export is one English document: the timeline's sentences and dates, which
    follow the reader's language on the pages, are written in English here too."""

    @functools.wraps(make)
    async def in_english(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with use_language(SOURCE_LANGUAGE):
            return await make(*args, **kwargs)

    return in_english


@_in_english
async def make_export(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    vault: EncryptedStore | None,
    family_id: uuid.UUID,
    period: Period,
    maker: Maker,
    *,
    font_dir: Path | None = DEJAVU_DIR,
    certifier: Certifier | None = None,
    tsa_url: str | None = None,
    lock_days: int = 0,
) -> ExportMade:
    """Sign a checkpoint, draw the PDF, build the bundle, store both and record the export.

    With ``vault=None`` (benchmarks) nothing is stored; the event is still written."""
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, keyring)
        material = _SerialisedOnce.of(
            await collect_material(session, family_id, period.start, period.until, signer)
        )
    if tsa_url is not None and material.centre_body:
        # The export's centre checkpoint leaves the centre now, time-stamped from outside.
        # An authority that fails does not stop a court export; the verifier then says the
        # bundle is not time-stamped, and the next interval's round tries again.
        seq = rf.CentreCheckpoint.parse(material.centre_body).seq
        try:
            token = await stamp_centre_checkpoint(sessionmaker, tsa_url, seq)
        except (TimestampInvalid, aiohttp.ClientError, TimeoutError) as exc:
            _log.warning("the export's centre checkpoint %d was not time-stamped: %s", seq, exc)
            token = None
        material = dataclasses.replace(material, centre_token=token)
    if lock_days and vault is not None and material.centre_body:
        # Kept write-once as well; a store that refuses stops the export (it was configured).
        seq = rf.CentreCheckpoint.parse(material.centre_body).seq
        await publish_centre_checkpoint(sessionmaker, vault.objects, lock_days, seq)
    generated_at = datetime.now(UTC).replace(microsecond=0)
    async with sessionmaker() as session:
        family, centre_name = await family_summary(session, family_id)
        court_order = await court_order_reference(session, keyring, family_id)
        entries = await entries_for(
            session,
            keyring,
            family,
            [
                (
                    e.seq,
                    e.family_seq,
                    rf.parse_time(e.at),
                    e.actor_id,
                    e.actor_role,
                    e.kind,
                    e.payload,
                )
                for e in material.events
            ],
        )
        supervised = family.contact_level.value == "supervised"
        plan = await court_plan.load(session, keyring, family_id)  # issue 20
    document = build_document(
        entries,
        centre_name=centre_name,
        case_reference=family.case_reference,
        supervised=supervised,
        period=period,
        material=material,
        generated_by=maker.name,
        generated_at=generated_at,
        certifier=certifier,
        court_order_reference=court_order,
    )
    document = court_plan.add_to(document, plan, entries, period.first_day, period.last_day)
    pdf = await asyncio.to_thread(render_court_pdf, document, font_dir=font_dir)
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    bundle = await asyncio.to_thread(build_bundle, material, pdf_sha256, signer.private_key)
    bundle_sha256 = hashlib.sha256(bundle).hexdigest()

    log = RecordLog(sealer=KeyRingPayloadSealer(keyring))
    async with record_transaction(sessionmaker, log, maker.actor) as work:
        stored: dict[str, str | None] = {"pdf": None, "bundle": None}
        if vault is not None:
            try:
                for file, data in (("pdf", pdf), ("bundle", bundle)):
                    row = await vault.put_bytes(
                        work.session,
                        family_id,
                        data,
                        role=ObjectRole.EXPORT,
                        media_type=_MEDIA[file],
                    )
                    stored[file] = str(row.id)
            except StorageError:
                # A crypto-shredded family still gets its (erased) record exported to files,
                # but nothing can be stored under a key that no longer exists.
                stored = {"pdf": None, "bundle": None}
        event = await work.record(
            family_id,
            "export_made",
            {
                "first_day": period.first_day.isoformat(),
                "last_day": period.last_day.isoformat(),
                "from": rf.format_time(period.start),
                "until": rf.format_time(period.until),
                "events": len(material.events),
                "checkpoint_size": document.checkpoint_size,
                "checkpoint_head": document.checkpoint_head,
                "key_fingerprint": document.key_fingerprint,
                "record_digest": document.record_digest,
                "pdf_sha256": pdf_sha256,
                "bundle_sha256": bundle_sha256,
                "pdf_object_id": stored["pdf"],
                "bundle_object_id": stored["bundle"],
                "certified_by": None
                if certifier is None
                else {"name": certifier.name, "role": certifier.role},
            },
        )
        seq = event.seq
    return ExportMade(
        seq=seq,
        family_id=family_id,
        case_reference=family.case_reference,
        period=period,
        pdf=pdf,
        bundle=bundle,
        pdf_sha256=pdf_sha256,
        bundle_sha256=bundle_sha256,
        record_digest=document.record_digest,
        events=len(material.events),
        checkpoint_size=document.checkpoint_size,
        stored=stored["pdf"] is not None,
    )


# --- listing and downloading ---------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    seq: int
    made_at: datetime
    made_by: str
    period: Period
    events: int
    record_digest: str
    pdf_sha256: str
    bundle_sha256: str
    available: bool
    downloads: int

    @property
    def made_at_text(self) -> str:
        return format_moment(self.made_at)


async def list_exports(session: AsyncSession, family_id: uuid.UUID) -> list[ExportSummary]:
    """The family's exports, newest first, from its ``export_made`` events."""
    rows = (
        await session.scalars(
            select(RecordEvent)
            .where(
                RecordEvent.family_id == family_id,
                RecordEvent.kind.in_(["export_made", "export_downloaded"]),
            )
            .order_by(RecordEvent.family_seq.desc())
        )
    ).all()
    made = [r for r in rows if r.kind == "export_made"]
    downloads: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.kind == "export_downloaded":
            value = rf.parse_canonical(row.payload).get("export_seq")
            if isinstance(value, int):
                downloads[value] += 1
    names = await load_names(session, family_id, [r.actor_id for r in made])
    out = []
    for row in made:
        p: dict[str, Any] = rf.parse_canonical(row.payload)
        try:
            period = Period.parse(str(p.get("first_day")), str(p.get("last_day")))
        except Invalid:
            continue
        out.append(
            ExportSummary(
                seq=row.seq,
                made_at=row.at,
                made_by=names.person(row.actor_id, row.actor_role),
                period=period,
                events=int(p.get("events") or 0),
                record_digest=str(p.get("record_digest", "")),
                pdf_sha256=str(p.get("pdf_sha256", "")),
                bundle_sha256=str(p.get("bundle_sha256", "")),
                available=bool(p.get("pdf_object_id") and p.get("bundle_object_id")),
                downloads=downloads[row.seq],
            )
        )
    return out


@dataclass(frozen=True)
class Download:
    file_name: str
    media_type: str
    data: bytes


async def download_export(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    vault: EncryptedStore,
    family_id: uuid.UUID,
    export_seq: int,
    file: ExportFile,
    maker: Maker,
) -> Download:
    """One file of an export of ``family_id``, after writing its ``export_downloaded`` event.

    The export must belong to the family (the caller's access was checked for the family);
    the file is checked against the hash its ``export_made`` event recorded."""
    if file not in _MEDIA:
        raise NotFound()
    async with sessionmaker() as session:
        row = await session.scalar(
            select(RecordEvent).where(
                RecordEvent.seq == export_seq,
                RecordEvent.family_id == family_id,
                RecordEvent.kind == "export_made",
            )
        )
        if row is None:
            raise NotFound("We could not find that export.")
        payload: dict[str, Any] = rf.parse_canonical(row.payload)
        object_id = payload.get(f"{file}_object_id")
        if not isinstance(object_id, str):
            raise NotFound("This export's files were not kept; please make a new export.")
        stored = await session.scalar(
            select(StoredObject).where(
                StoredObject.id == uuid.UUID(object_id), StoredObject.family_id == family_id
            )
        )
        if stored is None:
            raise NotFound("This export's files were not kept; please make a new export.")
        case_reference = (await family_summary(session, family_id))[0].case_reference
        try:
            data = await vault.read_bytes(session, stored)
        except StorageError:
            raise Unavailable("The export could not be read just now. Please try again.") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != payload.get(f"{file}_sha256"):
        raise Unavailable("The stored export does not match its record; please make a new one.")
    log = RecordLog(sealer=KeyRingPayloadSealer(keyring))
    async with record_transaction(sessionmaker, log, maker.actor) as work:
        await work.record(
            family_id,
            "export_downloaded",
            {"export_seq": export_seq, "file": file, "sha256": digest},
        )
    period = Period.parse(str(payload.get("first_day")), str(payload.get("last_day")))
    return Download(export_file_name(case_reference, period, file), _MEDIA[file], data)
