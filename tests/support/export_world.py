"""A family with a realistic record, for the export, timeline and PDF tests and the benchmark.

No tests here: ``seed_family`` writes real record events (through ``RecordLog``, in guarded
transactions) for letters, replies, gifts, opening sessions, calls and, for supervised
families, observation notes.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageStat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.children import seal_child_with_key
from storage.keyring import KeyRing
from storage.models import (
    Centre,
    Child,
    ContactLevel,
    Family,
    ObservationNote,
    ReferrerAccess,
    Role,
    User,
)
from storage.record import (
    EventAuthor,
    KeyRingPayloadSealer,
    RecordedWork,
    RecordLog,
    Sealed,
    record_transaction,
)

NOTE_TEXT = "Sam laughed at the drawing and asked when the next call would be."
REJECT_REASON = "The letter named the child's new school."
WARNING_TEXT = "Please do not ask where Sam lives."


@dataclass
class SeededFamily:
    family_id: uuid.UUID
    case_reference: str
    centre_id: uuid.UUID
    admin_id: uuid.UUID
    staff_id: uuid.UUID
    parent_id: uuid.UUID
    supervisor_id: uuid.UUID
    first_at: datetime
    last_at: datetime
    events: int = 0
    notes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


async def new_centre_family(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    level: ContactLevel,
    case_reference: str | None = None,
    centre_id: uuid.UUID | None = None,
) -> tuple[Family, dict[Role, User]]:
    if centre_id is None:
        centre = Centre(name="Riverside Child Contact Centre")
        session.add(centre)
        await session.flush()
        centre_id = centre.id
    family = Family(
        centre_id=centre_id,
        case_reference=case_reference or f"RCC-{uuid.uuid4().hex[:6].upper()}",
        contact_level=level,
        channels=["letters", "gifts", "video"],
    )
    session.add(family)
    await session.flush()
    key = await keyring.create_family_key(session, family.id)
    session.add(
        Child(family_id=family.id, details_sealed=seal_child_with_key(key, family.id, "Sam", 2016))
    )
    people = {}
    for role, name in (
        (Role.ADMIN, "Alex Admin"),
        (Role.STAFF, "Jo Support-Worker"),
        (Role.PARENT, "Chris Parent"),
        (Role.SUPERVISOR, "Pat Supervisor"),
    ):
        user = User(
            centre_id=centre_id,
            email=f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
            display_name=name,
            role=role,
        )
        session.add(user)
        people[role] = user
    await session.flush()
    return family, people


async def seed_family(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    *,
    level: ContactLevel = ContactLevel.SUPERVISED,
    cycles: int = 2,
    start: datetime | None = None,
    case_reference: str | None = None,
    referrer: tuple[uuid.UUID, datetime] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeededFamily:
    """``cycles`` rounds of contact, one day apart: a letter and its moderation, an opening
    session, a rejected letter, a gift, a reply and a supervised call."""
    start = start or datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        family, people = await new_centre_family(
            session, keyring, level=level, case_reference=case_reference
        )
        if referrer is not None:
            session.add(
                ReferrerAccess(
                    family_id=family.id,
                    user_id=referrer[0],
                    granted_by=people[Role.ADMIN].id,
                    expires_at=referrer[1],
                )
            )
    admin, staff = people[Role.ADMIN].id, people[Role.STAFF].id
    parent, supervisor = people[Role.PARENT].id, people[Role.SUPERVISOR].id
    seeded = SeededFamily(
        family.id,
        family.case_reference,
        family.centre_id,
        admin,
        staff,
        parent,
        supervisor,
        start,
        start,
    )
    clock = _Clock(start)
    log = RecordLog(sealer=KeyRingPayloadSealer(keyring), clock=clock)
    supervised = level is ContactLevel.SUPERVISED
    child_id = None
    async with sessionmaker() as session:
        child_id = str(await session.scalar(select(Child.id).where(Child.family_id == family.id)))

    as_admin, as_staff = EventAuthor(admin, "admin"), EventAuthor(staff, "staff")
    as_parent, as_supervisor = EventAuthor(parent, "parent"), EventAuthor(supervisor, "supervisor")

    # One transaction per cycle: a session's identity map grows with every event it appends,
    # so 10,000 events in one transaction would slow each flush down.
    work_box: list[RecordedWork] = []

    async def event(
        kind: str, payload: dict[str, object], actor: EventAuthor, minutes: float = 3
    ) -> None:
        clock.advance(minutes)
        await work_box[0].record(family.id, kind, payload, actor=actor)
        seeded.events += 1
        seeded.kinds[kind] = seeded.kinds.get(kind, 0) + 1

    async def note(where: dict[str, object], author: EventAuthor) -> None:
        session = work_box[0].session
        sealed = await keyring.seal_for_family(
            session, family.id, NOTE_TEXT.encode(), "observation-note"
        )
        row = ObservationNote(
            family_id=family.id,
            contact_level=ContactLevel.SUPERVISED,
            author_id=author.id,
            text_sealed=sealed,
            written_at=clock.now,
        )
        session.add(row)
        await session.flush()
        await event("observation_note_added", {"note_id": str(row.id), **where}, author)
        seeded.notes += 1

    async with record_transaction(sessionmaker, log, as_admin) as work:
        work_box[:] = [work]
        await event(
            "family_created",
            {"case_reference": family.case_reference, "contact_level": level.value},
            as_admin,
        )
        await event(
            "sender_approved",
            {"user_id": str(parent), "relationship": Sealed("father")},
            as_admin,
        )

    async def _cycle(cycle: int) -> None:
        day = start + timedelta(days=cycle + 1, hours=1)
        if clock.now < day:
            clock.now = day
        letter, session_id, call = (str(uuid.uuid4()) for _ in range(3))
        await event(
            "item_submitted",
            {
                "item_id": letter,
                "direction": "to_child",
                "item_kind": "letter",
                "child_id": child_id,
                "parts": [{"kind": "text"}, {"kind": "image"}],
            },
            as_parent,
        )
        await event("item_in_review", {"item_id": letter}, as_parent, 0.1)
        decision = str(uuid.uuid4())
        await event(
            "item_moderated",
            {"item_id": letter, "decision_id": decision, "decision": "approve", "redactions": []},
            as_staff,
            40,
        )
        await event("item_approved", {"item_id": letter, "decision_id": decision}, as_staff, 0.1)
        await event("item_delivered", {"item_id": letter, "decision_id": decision}, as_staff, 0.1)
        await event(
            "opening_session_started",
            {"session_id": session_id, "child_id": child_id, "staff_id": str(staff)},
            as_staff,
            120,
        )
        await event(
            "item_opened",
            {
                "item_id": letter,
                "session_id": session_id,
                "child_id": child_id,
                "first_opening": True,
            },
            as_staff,
            5,
        )
        if supervised:
            await note({"session_id": session_id}, as_staff)
        await event(
            "opening_session_ended",
            {"session_id": session_id, "child_id": child_id, "items_opened": 1},
            as_staff,
            25,
        )
        rejected = str(uuid.uuid4())
        await event(
            "item_submitted",
            {
                "item_id": rejected,
                "direction": "to_child",
                "item_kind": "letter",
                "parts": [{"kind": "text"}],
            },
            as_parent,
            30,
        )
        await event(
            "item_rejected",
            {
                "item_id": rejected,
                "decision_id": str(uuid.uuid4()),
                "reason": Sealed(REJECT_REASON),
            },
            as_staff,
            20,
        )
        reply = str(uuid.uuid4())
        await event(
            "reply_submitted",
            {
                "item_id": reply,
                "direction": "to_parent",
                "item_kind": "reply",
                "child_id": child_id,
            },
            as_staff,
            10,
        )
        gift = str(uuid.uuid4())
        await event("gift_logged", {"gift_id": gift, "from_user_id": str(parent)}, as_staff, 10)
        await event("gift_checked", {"gift_id": gift}, as_staff, 5)
        await event("gift_handed_over", {"gift_id": gift}, as_staff, 5)
        begins = clock.now + timedelta(hours=2)
        await event(
            "call_scheduled",
            {
                "call_id": call,
                "child_id": child_id,
                "supervisor_id": str(supervisor),
                "starts_at": begins.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "ends_at": (begins + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
            as_admin,
            1,
        )
        clock.now = begins
        await event("call_joined", {"call_id": call, "as": "supervisor"}, as_supervisor, 0)
        await event("call_joined", {"call_id": call, "as": "parent"}, as_parent, 1)
        await event("call_joined", {"call_id": call, "as": "child"}, as_staff, 1)
        await event("call_admitted", {"call_id": call}, as_supervisor, 1)
        await event("call_paused", {"call_id": call}, as_supervisor, 14)
        await event(
            "call_warned", {"call_id": call, "text": Sealed(WARNING_TEXT)}, as_supervisor, 1
        )
        await event("call_resumed", {"call_id": call}, as_supervisor, 2)
        if supervised:
            await note({"call_id": call}, as_supervisor)
        await event("call_ended", {"call_id": call, "reason": "completed"}, as_supervisor, 25)

    for cycle in range(cycles):
        async with record_transaction(sessionmaker, log, as_admin) as work:
            work_box[:] = [work]
            await _cycle(cycle)
        if progress is not None:
            progress(seeded.events)
    seeded.last_at = clock.now
    return seeded


# --- looking at PDFs (poppler-utils) ------------------------------------------------------


def pdf_pages_text(pdf: bytes, workdir: Path) -> list[str]:
    """The text of each page, via ``pdftotext`` (form feeds separate pages)."""
    path = workdir / "probe.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    pages = done.stdout.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_page_count(pdf: bytes, workdir: Path) -> int:
    path = workdir / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


def render_pages(pdf: bytes, workdir: Path, first: int, last: int, dpi: int = 60) -> list[Path]:
    """Pages ``first``…``last`` as PNG files, via ``pdftoppm``."""
    path = workdir / "render.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-f",
            str(first),
            "-l",
            str(last),
            "-png",
            str(path),
            str(workdir / "page"),
        ],
        check=True,
        timeout=120,
    )
    return sorted(workdir.glob("page-*.png"))


def pixel_stddev(png: Path) -> float:
    """Standard deviation of the grey levels: 0 for a blank page."""
    with Image.open(png) as image:
        return float(ImageStat.Stat(image.convert("L")).stddev[0])
