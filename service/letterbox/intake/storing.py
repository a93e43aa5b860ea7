"""Storing: the screened letter becomes an item in review, in one recorded transaction.

The original (sealed, admins only) and the sanitised copy of every file are encrypted by the
vault in the same transaction that creates the item, its parts and the record events, so a
refusal or a crash before the commit leaves no item and no object row (only orphan bytes in
the store, which ``letterbox reconcile`` deletes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from service.appkeys import KEYRING, SETTINGS, VAULT
from service.errors import Invalid
from service.letterbox import filetypes
from service.letterbox.intake.screening import Screened
from service.letterbox.intake.upload import Upload, sanitiser_limits
from storage.models import Direction, Item, ItemKind, ItemPart, ItemStatus, ObjectRole, PartKind
from storage.record import RecordedWork

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
# The words read from a picture or page (service.letterbox.ocr), sealed for moderators.
READ_TEXT_PURPOSE = "read-text"
# The code of the language a text part seems to be in (service.letterbox.language).
LANGUAGE_PURPOSE = "text-language"


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


async def store(
    app: web.Application, work: RecordedWork, sender_id: uuid.UUID, new: NewItem, letter: Screened
) -> dict[str, Any]:
    """Store the letter as an item in review, with its record events; return its summary."""
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
        sender_id=sender_id,
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
    if letter.text.strip():
        stored = await vault.put_bytes(
            session,
            new.family_id,
            letter.text.encode("utf-8"),
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
            scan_hits=letter.text_hits,
            language_sealed=await keyring.seal_for_family(
                session, new.family_id, letter.language.code.encode("utf-8"), LANGUAGE_PURPOSE
            )
            if letter.language is not None
            else None,
        )
        parts.append(part)
        record_parts.append(
            {"part_id": part.id, "kind": "text", "object_id": stored.id, "sha256": stored.sha256}
        )
        position += 1
    for entry in letter.files:
        original = await vault.put_bytes(
            session,
            new.family_id,
            entry.upload.data,
            role=ObjectRole.ORIGINAL,
            media_type=filetypes.info(entry.result.detected_type).media_type,
        )
        kind = PartKind.IMAGE if entry.result.kind == "image" else PartKind.DOCUMENT
        for page, read, hits in zip(entry.result.pages, entry.read, entry.hits, strict=True):
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
                scan_hits=hits,
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
