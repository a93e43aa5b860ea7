"""Maintenance commands: reconcile the store, crypto-shred a family, rotate the master key.

They share the app's settings and open the same resources the app does, without the web
server. Each prints a plain summary and exits non-zero when something needs attention.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.commands import Command, CommandError
from service.settings import Settings
from service.stores import open_object_store
from storage import db
from storage.keyring import KeyRing, load_master_key
from storage.keys import MasterKey, create_key_file
from storage.models import CentreKey, Family, Referral, User
from storage.objects import LocalObjectStore, S3ObjectStore
from storage.reconcile import reconcile
from storage.record import EventAuthor, KeyRingPayloadSealer, RecordLog, record_transaction


class MaintenanceError(CommandError):
    """Printed as one line by the CLI."""


@dataclass
class Resources:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    objects: LocalObjectStore | S3ObjectStore


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = db.create_engine(settings.database_url)
    objects = open_object_store(settings)
    try:
        await db.check_ready(engine)
        master, _ = load_master_key(
            settings.master_key_b64, settings.master_key_file, may_create=False
        )
        await objects.start()
        yield Resources(settings, db.create_sessionmaker(engine), KeyRing(master), objects)
    finally:
        await objects.close()
        await engine.dispose()


# --- reconcile ----------------------------------------------------------------------------


async def run_reconcile(settings: Settings, *, dry_run: bool) -> int:
    async with resources(settings) as res:
        report = await reconcile(
            res.sessionmaker,
            res.objects,
            orphan_age=timedelta(seconds=settings.orphan_age_seconds),
            dry_run=dry_run,
        )
    print(report.summary())
    for name in report.missing_objects:
        print(f"MISSING object for row: {name}")
    for name in report.deleted_orphans:
        print(f"{'would delete' if dry_run else 'deleted'} orphan: {name}")
    return 0 if report.healthy else 1


# --- crypto-shredding -------------------------------------------------------------------


def confirm_shred(case_reference: str, confirmation: str | None) -> None:
    if confirmation is None:
        print(
            f"This permanently erases every letter, photo and note of {case_reference}. "
            "The family record stays and still verifies, but its content can never be read."
        )
        confirmation = input("Type the case reference again to confirm: ").strip()
    if confirmation != case_reference:
        raise MaintenanceError("the confirmation did not match; nothing was shredded")


async def run_shred(settings: Settings, case_reference: str, by: str = "the centre") -> int:
    async with resources(settings) as res:
        log = RecordLog(sealer=KeyRingPayloadSealer(res.keyring))
        async with record_transaction(res.sessionmaker, log, EventAuthor.system()) as work:
            family = await work.session.scalar(
                select(Family).where(Family.case_reference == case_reference)
            )
            if family is None:
                raise MaintenanceError(f"no family with case reference {case_reference}")
            # The event is written before the key goes: its payload holds nothing sealed.
            # "by" names who ordered it: pages say "Content destroyed on DATE by NAME".
            await work.record(
                family.id, "family_shredded", {"case_reference": case_reference, "by": by}
            )
            await res.keyring.shred(work.session, family.id)
    # The database may still hold the old wrapped key in its log or freed pages.
    clean = await asyncio.to_thread(db.scrub_sqlite, settings.database_url)
    print(f"{case_reference}: family key destroyed; its content is now unreadable.")
    if not clean:
        print(
            "WARNING: the database's write-ahead log could not be emptied (a reader was busy); "
            "stop the service and run `letterbox scrub-database` so no copy of the old key "
            "remains in the database files."
        )
        return 1
    return 0


async def run_scrub(settings: Settings) -> int:
    clean = await asyncio.to_thread(db.scrub_sqlite, settings.database_url)
    print("Database files scrubbed." if clean else "The write-ahead log is busy; try again.")
    return 0 if clean else 1


# --- master-key rotation ----------------------------------------------------------------


def load_new_master(new_key_file: Path) -> MasterKey:
    if new_key_file.exists():
        return MasterKey.from_file(new_key_file)
    return create_key_file(new_key_file)


async def run_rotate(settings: Settings, new_master: MasterKey, new_key_file: Path) -> int:
    async with resources(settings) as res:
        if new_master.key_id == res.keyring.master.key_id:
            raise MaintenanceError("the new master key is the current one; nothing to do")
        new_ring = KeyRing(new_master)
        async with res.sessionmaker.begin() as session:
            families = await res.keyring.rotate_master(session, new_master)
            resealed = 0
            for user in (await session.scalars(select(User).with_for_update())).all():
                if user.totp_secret_sealed is not None:
                    user.totp_secret_sealed = res.keyring.reseal_for_centre(
                        user.totp_secret_sealed, new_ring
                    )
                    resealed += 1
            # A waiting referral's details are under the centre key; an accepted one's are
            # under its family's key, which the new master key wraps already.
            waiting = select(Referral).where(Referral.family_id.is_(None)).with_for_update()
            for referral in (await session.scalars(waiting)).all():
                referral.details_sealed = res.keyring.reseal_for_centre(
                    referral.details_sealed, new_ring
                )
                resealed += 1
            for key in (await session.scalars(select(CentreKey).with_for_update())).all():
                key.private_key_sealed = res.keyring.reseal_for_centre(
                    key.private_key_sealed, new_ring
                )
                key.master_key_id = new_master.key_id
                resealed += 1
    print(
        f"Re-wrapped {families} family keys and re-sealed {resealed} centre secrets under "
        f"master key {new_master.key_id} ({new_key_file}). Objects were not touched."
    )
    print(
        f"Now point LETTERBOX_MASTER_KEY_FILE at {new_key_file} (or set LETTERBOX_MASTER_KEY "
        "to its content) and restart. Keep the old key in escrow until backups taken after "
        "this moment exist."
    )
    return 0


# --- registration -----------------------------------------------------------------------


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    handlers: dict[str, Command],
) -> None:
    rec = commands.add_parser("reconcile", help="compare the database with the object store")
    rec.add_argument("--dry-run", action="store_true", help="report orphans, delete nothing")
    handlers["reconcile"] = lambda args, settings: asyncio.run(
        run_reconcile(settings, dry_run=args.dry_run)
    )

    shred = commands.add_parser("shred", help="crypto-shred a family (destroys its key)")
    shred.add_argument("case_reference")
    shred.add_argument(
        "--confirm", metavar="CASE_REFERENCE", help="the case reference again (for scripts)"
    )
    shred.add_argument(
        "--by",
        metavar="NAME",
        default="the centre",
        help='who ordered the shred (pages say "Content destroyed on DATE by NAME")',
    )

    def shred_command(args: argparse.Namespace, settings: Settings) -> int:
        confirm_shred(args.case_reference, args.confirm)
        return asyncio.run(run_shred(settings, args.case_reference, args.by))

    handlers["shred"] = shred_command

    scrub = commands.add_parser(
        "scrub-database",
        help="SQLite: empty the write-ahead log and rebuild the file (after a shred)",
    )
    del scrub
    handlers["scrub-database"] = lambda args, settings: asyncio.run(run_scrub(settings))

    rotate = commands.add_parser(
        "rotate-master-key", help="re-wrap every key under a new master key"
    )
    rotate.add_argument(
        "--new-key-file", type=Path, required=True, help="new key file (created, mode 0600)"
    )
    handlers["rotate-master-key"] = lambda args, settings: asyncio.run(
        run_rotate(settings, load_new_master(args.new_key_file), args.new_key_file)
    )
