"""``letterbox record verify``, ``letterbox key show`` and ``letterbox verify BUNDLE``."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.commands import CommandError
from service.record import timestamp, verifier
from service.settings import Settings
from storage import db
from storage import recordformat as rf
from storage.errors import StorageError
from storage.keyring import KeyRing, load_master_key
from storage.models import CentreCheckpoint
from storage.record import (
    Problem,
    SigningKeyError,
    VerifyReport,
    load_public_key,
    verify_database,
)

Command = Callable[[argparse.Namespace, Settings], int]

EXIT_BROKEN = 1


def _keyring(settings: Settings) -> KeyRing:
    # The CLI never creates a master key: a new one could not open anything already stored.
    master, _ = load_master_key(settings.master_key_b64, settings.master_key_file, may_create=False)
    return KeyRing(master)


def _fail(message: str) -> int:
    raise CommandError(message)


def _record(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keyring = _keyring(settings)
    except StorageError as exc:
        return _fail(str(exc))
    engine = db.create_engine(settings.database_url)

    async def run() -> int:
        try:
            await db.check_ready(engine)
            maker = db.create_sessionmaker(engine)
            async with maker() as session:
                try:
                    public_key: bytes | None = await load_public_key(session, keyring)
                except SigningKeyError as exc:
                    # No key at all is fine for an empty record; verify_database says if not.
                    if "no record-signing key" not in str(exc):
                        print(f"RECORD BROKEN: {exc}")
                        return EXIT_BROKEN
                    public_key = None
                if args.fingerprint and (
                    public_key is None
                    or rf.key_fingerprint(public_key)
                    != verifier.normalise_fingerprint(args.fingerprint)
                ):
                    print("RECORD BROKEN: the centre key does not have the fingerprint given")
                    return EXIT_BROKEN
                report = await verify_database(
                    session,
                    public_key=public_key,
                    now=datetime.now(UTC),
                    checkpoint_interval=timedelta(seconds=settings.checkpoint_interval_seconds),
                )
                stamped = await _check_timestamps(session, report)
        finally:
            await engine.dispose()
        if report.ok:
            print(
                f"Record verified: {report.events} events in {report.families} families, "
                f"{report.checkpoints} signed family checkpoints, "
                f"{report.centre_checkpoints} centre checkpoints ({stamped} time-stamped)"
                + (f", centre key {report.key_fingerprint}." if report.key_fingerprint else ".")
            )
            return 0
        first = report.first_problem
        print(f"RECORD BROKEN: {first}")
        for problem in report.problems:
            if problem is not first:
                print(f"  also: {problem}")
        return EXIT_BROKEN

    try:
        return asyncio.run(run())
    except verifier.BundleInvalid as exc:
        return _fail(str(exc))


async def _check_timestamps(session: AsyncSession, report: VerifyReport) -> int:
    """Every stored time-stamp token must be a valid token for its centre checkpoint's body
    (a token swapped from another checkpoint, or damaged, is reported). Returns how many."""
    rows = await session.execute(
        select(CentreCheckpoint.seq, CentreCheckpoint.body, CentreCheckpoint.timestamp_token)
        .where(CentreCheckpoint.timestamp_token.is_not(None))
        .order_by(CentreCheckpoint.seq)
    )
    count = 0
    for seq, body, token in rows:
        if token is None:
            continue
        count += 1
        try:
            timestamp.check_token(bytes(token), hashlib.sha256(bytes(body)).digest())
        except timestamp.TimestampInvalid as exc:
            report.problems.append(Problem(None, None, f"centre checkpoint {seq}: {exc}"))
    return count


def _key(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keyring = _keyring(settings)
    except StorageError as exc:
        return _fail(str(exc))
    engine = db.create_engine(settings.database_url)

    async def run() -> bytes:
        try:
            await db.check_ready(engine)
            async with db.create_sessionmaker(engine)() as session:
                return await load_public_key(session, keyring)
        finally:
            await engine.dispose()

    try:
        public_key = asyncio.run(run())
    except SigningKeyError as exc:
        return _fail(str(exc))
    pem = verifier_pem(public_key)
    if args.pem:
        print(pem, end="")
        return 0
    print("Centre record-signing key (Ed25519)")
    print(f"fingerprint (SHA-256): {rf.key_fingerprint(public_key)}")
    print(f"public key (base64):   {base64.b64encode(public_key).decode('ascii')}")
    print(pem, end="")
    return 0


def verifier_pem(public_key: bytes) -> str:
    from service.record.bundle import public_key_pem

    return public_key_pem(public_key).decode("ascii")


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    return verifier.run(args)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handlers: dict[str, Command]
) -> None:
    record = commands.add_parser("record", help="the family record")
    record.add_argument("action", choices=["verify"], help="verify: check the whole live record")
    record.add_argument(
        "--fingerprint", metavar="FP", help="also require the centre key to have this fingerprint"
    )
    handlers["record"] = _record

    key = commands.add_parser("key", help="the centre's record-signing key")
    key.add_argument("action", choices=["show"], help="show: print the public key and fingerprint")
    key.add_argument("--pem", action="store_true", help="print only the PEM public key")
    handlers["key"] = _key

    verify = commands.add_parser(
        "verify", help="check a court bundle offline (no database, no network)"
    )
    verifier.add_arguments(verify)
    handlers["verify"] = _verify
