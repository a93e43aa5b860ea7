"""``letterbox export CASE_REFERENCE --from DATE --to DATE --out DIR [--language cy]``: the
court export from the command line. The same export as the admin pages make: it is written in
the family's record, signs a fresh checkpoint, and is kept (encrypted) so referrers can
download it. The PDF is in English unless ``--language`` names another of ``LANGUAGES``; the
command's own output stays in English (it is read by the centre's operators)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from service.commands import CommandError
from service.errors import Invalid
from service.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, gettext, use_language
from service.record import export
from service.settings import Settings
from service.stores import open_object_store
from storage import db
from storage.errors import StorageError
from storage.keyring import KeyRing, load_master_key
from storage.models import Family
from storage.record import EventAuthor
from storage.vault import EncryptedStore

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]

# Printed in the PDF as its maker, in the PDF's language.
MADE_BY = N_("the centre's letterbox export command")


async def run_export(
    settings: Settings,
    case_reference: str,
    period: export.Period,
    out: Path,
    certifier: export.Certifier | None = None,
    language: str = SOURCE_LANGUAGE,
) -> int:
    # The command never creates a master key: a new one could not open anything stored.
    master, _ = load_master_key(settings.master_key_b64, settings.master_key_file, may_create=False)
    keyring = KeyRing(master)
    engine = db.create_engine(settings.database_url)
    objects = open_object_store(settings)
    try:
        await db.check_ready(engine)
        await objects.start()
        sessionmaker = db.create_sessionmaker(engine)
        async with sessionmaker() as session:
            family_id = await session.scalar(
                select(Family.id).where(Family.case_reference == case_reference)
            )
        if family_id is None:
            raise CommandError(f"no family with case reference {case_reference!r}")
        with use_language(language):
            made_by = gettext(MADE_BY)
        made = await export.make_export(
            sessionmaker,
            keyring,
            EncryptedStore(objects, keyring),
            family_id,
            period,
            export.Maker(EventAuthor.system(), made_by),
            certifier=certifier,
            tsa_url=settings.tsa_url,
            lock_days=settings.checkpoint_lock_days,
            language=language,
        )
    finally:
        await objects.close()
        await engine.dispose()
    pdf_path = out / made.file_name("pdf")
    bundle_path = out / made.file_name("bundle")
    await asyncio.to_thread(pdf_path.write_bytes, made.pdf)
    await asyncio.to_thread(bundle_path.write_bytes, made.bundle)
    print(f"Exported {made.events} events of case {case_reference} ({period.words()}).")
    print(f"  PDF:         {pdf_path}  (SHA-256 {made.pdf_sha256}, in {LANGUAGES[language]})")
    print(f"  Bundle:      {bundle_path}")
    print(f"  Bundle hash: {made.record_digest}  (on every page of the PDF)")
    print(f"  Checkpoint:  {made.checkpoint_size} events, signed now")
    if not made.stored:
        print("  Note: the files were not kept for download (the family's key is destroyed).")
    print(f"Check it with: letterbox verify {bundle_path} --pdf {pdf_path} --fingerprint FP")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = export.Period.parse(args.first_day, args.last_day)
    except Invalid as exc:
        raise CommandError(f"--{exc.field or 'from'}: {exc.message}") from None
    certifier = None
    if args.officer_name is not None or args.officer_role is not None:
        try:
            certifier = export.parse_certifier(args.officer_name or "", args.officer_role or "")
        except Invalid as exc:
            raise CommandError(
                f"--{(exc.field or 'officer_name').replace('_', '-')}: {exc.message}"
            ) from None
    try:
        language = export.parse_language(args.language)
    except Invalid:
        raise CommandError(
            f"--language: choose one of {', '.join(LANGUAGES)} (got {args.language[:20]!r})"
        ) from None
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create {out}: {exc.strerror or exc}") from None
    try:
        return asyncio.run(
            run_export(settings, args.case_reference, period, out, certifier, language)
        )
    except StorageError as exc:
        raise CommandError(str(exc)) from None


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handlers: dict[str, Command]
) -> None:
    parser = commands.add_parser(
        "export", help="export a family's record for court (PDF and verification bundle)"
    )
    parser.add_argument("case_reference", metavar="CASE_REFERENCE")
    parser.add_argument(
        "--from", dest="first_day", required=True, metavar="DATE", help="first day, YYYY-MM-DD"
    )
    parser.add_argument(
        "--to", dest="last_day", required=True, metavar="DATE", help="last day (included)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the two files")
    parser.add_argument(
        "--officer-name", metavar="NAME", help="the officer who certifies the records (PDF)"
    )
    parser.add_argument("--officer-role", metavar="ROLE", help="that officer's role")
    parser.add_argument(
        "--language",
        default=SOURCE_LANGUAGE,
        metavar="CODE",
        help=f"the PDF's language: {', '.join(LANGUAGES)} (default {SOURCE_LANGUAGE})",
    )
    handlers["export"] = _export
