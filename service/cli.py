"""The ``letterbox`` command.

Every sub-command reads the same ``Settings``; a bad setting or an unreachable database
prints one line naming what to fix and exits non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence

from service import logs
from service.commands import Command, CommandError, prepare_data_dir
from service.settings import Settings, SettingsError
from storage import db
from storage.errors import KeyHierarchyError
from storage.keyring import load_master_key

EXIT_BAD_SETTING = 2


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from service import serving

    workers = args.workers if args.workers is not None else serving.default_workers()
    if workers < 1:
        raise CommandError("--workers must be at least 1 (one process per core is the default)")
    if workers > 1 and settings.port == 0:
        raise CommandError("--workers needs a fixed LETTERBOX_PORT (0 would give each its own)")
    prepare_data_dir(settings)
    engine = db.create_engine(settings.database_url)

    async def check() -> None:
        try:
            await db.check_ready(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())
    # Fail here, with one line, rather than inside the app's start-up.
    load_master_key(
        settings.master_key_b64, settings.master_key_file, may_create=not settings.production
    )
    if workers == 1:
        if not args.reuse_port:
            print(settings.banner(), flush=True)
            print(f"Serving on http://{settings.host}:{settings.port} (Ctrl-C to stop)", flush=True)
        from service.app import create_app

        serving.run_worker(settings, create_app, reuse_port=args.reuse_port)
        return 0
    print(settings.banner(), flush=True)
    print(
        f"Serving on http://{settings.host}:{settings.port} with {workers} workers "
        "(Ctrl-C to stop)",
        flush=True,
    )
    return serving.Supervisor(settings, workers).run()


def _db(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url.startswith("sqlite"):
        prepare_data_dir(settings)
    engine = db.create_engine(settings.database_url)
    # Migrations that seal existing rows with a family key need the master key; an empty
    # database does not, so a missing key is no error here (the migration says if it is).
    master = (
        load_master_key(settings.master_key_b64, settings.master_key_file, may_create=False)[0]
        if settings.master_key_b64 is not None or settings.master_key_file.exists()
        else None
    )

    async def run() -> int:
        try:
            if args.action == "upgrade":
                await db.upgrade(engine, master=master)
                print(f"Database is at revision {await db.current_revision(engine)}.")
            else:
                current = await db.current_revision(engine)
                print(f"current: {current or 'empty'}; latest: {db.head_revision()}")
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="letterbox",
        description="Letterbox: the secure letterbox and supervised video contact service.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Command] = {}

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes sharing the port (default: the number of cores)",
    )
    # A worker started by the parent of --workers N: bind the shared port with SO_REUSEPORT.
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    handlers["serve"] = _serve

    database = commands.add_parser("db", help="database migrations")
    database.add_argument("action", choices=["upgrade", "current"])
    handlers["db"] = _db

    for register in _plugins():
        register(commands, handlers)
    return parser, handlers


def _plugins() -> list[
    Callable[[argparse._SubParsersAction[argparse.ArgumentParser], dict[str, Command]], None]
]:
    """Capabilities add their own sub-commands here."""
    from service import maintenance
    from service.centre import demo
    from service.record import cli as record_cli
    from service.record import export_cli

    return [maintenance.register, record_cli.register, export_cli.register, demo.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    logs.configure(logging.DEBUG if os.environ.get("LETTERBOX_DEBUG") else logging.INFO)
    try:
        settings = Settings.from_env()
        return handlers[args.command](args, settings)
    except (SettingsError, db.DatabaseError, CommandError, KeyHierarchyError) as exc:
        print(f"letterbox: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTING
    except KeyboardInterrupt:
        return 130


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
