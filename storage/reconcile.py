"""Reconciling the database with the object store.

A row whose object is missing is reported and never deleted: it is evidence, and a restore
from backup may bring the object back. An object with no row is an orphan — an upload whose
transaction never committed (a crash or a failed request between the write and the commit) —
and is deleted once it is older than a threshold, so in-flight uploads are never touched.
Each deletion is logged.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import StoredObject
from storage.objects import ObjectStore
from storage.vault import object_name

log = logging.getLogger(__name__)

OBJECT_PREFIX = "f/"


@dataclass
class ReconcileReport:
    checked_rows: int = 0
    checked_objects: int = 0
    missing_objects: list[str] = field(default_factory=list)  # rows without an object
    deleted_orphans: list[str] = field(default_factory=list)
    young_orphans: list[str] = field(default_factory=list)  # kept: may still be committing

    @property
    def healthy(self) -> bool:
        return not self.missing_objects

    def summary(self) -> str:
        return (
            f"{self.checked_rows} rows, {self.checked_objects} objects; "
            f"{len(self.missing_objects)} rows missing their object; "
            f"{len(self.deleted_orphans)} orphan objects deleted; "
            f"{len(self.young_orphans)} recent orphans kept"
        )


def _parse_name(name: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "f":
        return None
    try:
        return uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2])
    except ValueError:
        return None


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    objects: ObjectStore,
    *,
    orphan_age: timedelta,
    dry_run: bool = False,
) -> ReconcileReport:
    report = ReconcileReport()
    # Objects are listed before rows: an object whose row commits meanwhile is then seen
    # with its row, never wrongly as an orphan.
    listed = [info async for info in objects.list(OBJECT_PREFIX)]
    async with sessionmaker() as session:
        rows = (await session.execute(select(StoredObject.id, StoredObject.family_id))).all()
    known = {object_name(family_id, object_id) for object_id, family_id in rows}
    report.checked_rows = len(known)
    report.checked_objects = len(listed)

    present = {info.name for info in listed}
    report.missing_objects = sorted(known - present)
    for name in report.missing_objects:
        log.error("stored object row has no object in the store: %s", name)

    cutoff = datetime.now(UTC) - orphan_age
    for info in listed:
        if info.name in known:
            continue
        if info.modified_at > cutoff:
            report.young_orphans.append(info.name)
            continue
        parsed = _parse_name(info.name)
        if parsed is None:
            # Not one of ours by shape; an operator should look, we do not delete it.
            log.warning("object with an unexpected name left alone: %s", info.name)
            continue
        # A row may have committed since the listing: check again just before deleting.
        family_id, object_id = parsed
        async with sessionmaker() as session:
            if await session.get(StoredObject, object_id) is not None:
                continue
        if not dry_run:
            await objects.delete(info.name)
        report.deleted_orphans.append(info.name)
        log.warning(
            "deleted orphan object %s (family %s, %d bytes, written %s)%s",
            info.name,
            family_id,
            info.size,
            info.modified_at.isoformat(),
            " [dry run]" if dry_run else "",
        )
    return report
