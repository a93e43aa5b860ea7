"""Where the parent's letterbox request spends its server CPU: the app in this process under
cProfile, the load generator of bench/api_load.py (wrk) in another, on a fresh PostgreSQL database
seeded like bench/api_load.py's.

Run as ``python bench/api_profile.py [--cpu] [--out FILE] [SECONDS]``. Prints the functions with the most own
time and the most cumulative time, per request. A profile, not a benchmark:
cProfile slows Python code several times, so read the shares, not the totals.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import api_load  # noqa: E402 - after the path

# --cpu: no profiler, only the CPU time a request (this process: app and event loop).
PROFILE = True
# --out FILE: also save the profile for pstats or snakeviz.
OUT = ""


async def _serve_profiled(
    env: dict[str, str], family_path: str, headers: dict[str, str], log_file: TextIO
) -> None:
    from aiohttp import web

    from service import logs
    from service.app import create_app
    from service.settings import Settings
    from tests.support.reliability import free_port

    port = free_port()
    # Log as `letterbox serve` does: one JSON line a request (to a file here, not stderr).
    logs.configure()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(log_file)
    runner = web.AppRunner(create_app(Settings.from_env(env)), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        await api_load.send_letters(base, family_path, headers)
        script = Path(log_file.name).with_suffix(".lua")
        script.write_text(api_load.WRK_REPORT)
        profile = cProfile.Profile() if PROFILE else None
        started = time.process_time()
        if profile is not None:
            profile.enable()
        figures = await asyncio.to_thread(
            api_load._wrk, base + family_path, headers, api_load.SECONDS, script
        )
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - started
        requests = max(int(figures["requests"]), 1)  # type: ignore[call-overload]
        figures["rps"] = requests / api_load.SECONDS
        print(
            f"{requests} requests, {figures['rps']:.0f} req/s under the profiler, "
            f"{1000 * cpu / requests:.2f} ms CPU a request"
            + (" (profiled)" if profile is not None else "")
        )
        if profile is not None:
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(60)
            if OUT:
                stats.dump_stats(OUT)
    finally:
        await runner.cleanup()


def main() -> None:
    from storage import db
    from tests.support.postgres import postgres_server, unique_name
    from tests.support.reliability import letterbox_env, new_master_key

    global PROFILE, OUT
    args = sys.argv[1:]
    if "--out" in args:
        OUT = args.pop(args.index("--out") + 1)
        args.remove("--out")
    if "--cpu" in args:
        PROFILE = False
        args.remove("--cpu")
    if args:
        api_load.SECONDS = float(args[0])
    with postgres_server() as pg, tempfile.TemporaryDirectory(prefix="lbx-profile-") as tmp:
        name = unique_name("letterbox_profile")
        pg.psql(f"CREATE DATABASE {name}")
        try:
            asyncio.run(api_load._migrate(db.create_engine(pg.url(name))))
            env = letterbox_env(pg.url(name), Path(tmp) / "data", new_master_key())
            env["LETTERBOX_ENV"] = "development"
            family_path, headers = asyncio.run(api_load.seed(env))
            with (Path(tmp) / "app.log").open("w") as log_file:
                asyncio.run(_serve_profiled(env, family_path, headers, log_file))
        finally:
            pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
