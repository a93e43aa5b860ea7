"""Benchmark clients through the real app's signalling (``bench/calls.py --supervision``).

Scenarios, each on one booked call of the app server started by the driver:

- ``normal``: parent, child and supervisor join (640x480 @ 15 fps VP8 + Opus), the supervisor
  admits; prints READY when every route carries media and stays until stdin closes.
- ``flood``: the same, then the parent's client sends 10 offers a second, and reconnects at once
  whenever its socket is closed (a hostile client): its cost to the relay is what is measured.
- ``latency``: how fast the call pauses for the child when supervision lapses. ``--trials`` times
  each: the supervisor's socket closes (``closed``); the supervisor's process (a separate
  process, ``tests.support.supervisor_process``) is stopped with SIGSTOP (``sigstop``). A returning
  supervisor resumes between trials. Writes the latencies (seconds from the event to the child's
  "paused" message, and to the child's last parent frame) to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from service.calls import passthrough
from service.calls.media import ROLES, Role
from tests.support.calls import Signal
from tests.support.synthetic_calls import (
    SyntheticParticipant,
    encoded_audio,
    encoded_video,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, FPS, LOOP_FRAMES = 640, 480, 15, 150
# The child's cookies are the staff session plus the device locked to the call (bench/calls.py).
PERSON = {"parent": "parent", "child": "child", "supervisor": "supervisor"}


class App:
    def __init__(self, http: aiohttp.ClientSession, args: argparse.Namespace) -> None:
        self.http = http
        self.url = args.url
        self.world = json.loads(args.world)

    async def connect(self, role: Role) -> Signal:
        headers = {
            "Cookie": self.world["cookies"][PERSON[role]],
            "Origin": self.world["origin"],
        }
        ws = await self.http.ws_connect(
            f"{self.url}/calls/{self.world['call']}/signal", headers=headers
        )
        signal_ = Signal(ws)
        await signal_.wait_for("state", within=30)
        return signal_

    async def join(self, role: Role, *, big: bool = True) -> tuple[Signal, SyntheticParticipant]:
        signal_ = await self.connect(role)
        size = (WIDTH, HEIGHT) if big else (160, 120)
        peer = SyntheticParticipant(
            role, video_size=size, video_frames=LOOP_FRAMES if big else 30, fps=FPS
        )
        await signal_.join(peer)
        return signal_, peer


async def media_call(app: App, args: argparse.Namespace) -> None:
    parties = {role: await app.join(role) for role in ROLES}
    await parties["supervisor"][0].send({"type": "admit"})
    await wait_until(
        lambda: all(r.frames > 0 for _, p in parties.values() for r in p.received.values()),
        within=90,
        what="media on every route",
    )
    flooding: asyncio.Task[None] | None = None
    if args.scenario == "flood":
        flooding = asyncio.get_running_loop().create_task(flood(app, parties["parent"]))
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    if flooding is not None:
        flooding.cancel()
    for s, p in parties.values():
        await s.close()
        await p.close()


async def flood(app: App, party: tuple[Signal, SyntheticParticipant]) -> None:
    """10 offers a second, reconnecting at once whenever the socket is closed."""
    signal_, peer = party
    offer = str(peer.pc.localDescription.sdp)
    sent = closes = 0
    while True:
        if signal_.closed_at is not None:
            closes += 1
            with contextlib.suppress(Exception):
                signal_ = await app.connect("parent")
        with contextlib.suppress(ConnectionError, RuntimeError):
            await signal_.send({"type": "offer", "sdp": offer})
            sent += 1
        if sent % 50 == 0:
            print(f"flood: {sent} offers sent, {closes} sockets closed", file=sys.stderr)
        await asyncio.sleep(0.1)


async def supervise_in_process(app: App) -> tuple[Signal, SyntheticParticipant]:
    signal_, peer = await app.join("supervisor", big=False)
    # The server refuses a resume until the supervisor's own media is up: wait for it.
    await wait_until(lambda: peer.frames_from("child") >= 5, within=30)
    state = signal_.of_type("state")[-1]
    await signal_.send({"type": "resume" if state["admitted"] else "admit"})
    return signal_, peer


async def paused_after(
    child: tuple[Signal, SyntheticParticipant], count: int, event_at: float
) -> dict[str, float]:
    signal_, peer = child
    await signal_.wait_for("paused", count=count, within=30)
    paused_at = time.monotonic()
    # Frames still in flight land within a few milliseconds; wait a little past the pause.
    await wait_until(lambda: time.monotonic() > paused_at + 1.0, within=5)
    last_parent = peer.received[("parent", "video")].last_at or 0.0
    return {
        "to_paused_message_s": round(paused_at - event_at, 3),
        "to_last_parent_frame_s": round(last_parent - event_at, 3),
    }


async def latency(app: App, args: argparse.Namespace) -> None:
    parent = await app.join("parent", big=False)
    child = await app.join("child", big=False)
    results: dict[str, list[dict[str, float]]] = {"closed": [], "sigstop": []}
    pauses = 0

    async def flowing() -> None:
        seen = child[1].frames_from("parent")
        await wait_until(lambda: child[1].frames_from("parent") >= seen + 15, within=30)

    for _ in range(args.trials):
        supervisor = await supervise_in_process(app)
        await flowing()
        event_at = time.monotonic()
        await supervisor[0].close()  # the console's socket closes
        pauses += 1
        results["closed"].append(await paused_after(child, pauses, event_at))
        await supervisor[1].close()

    for _ in range(args.trials):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.supervisor_process",
            "--url",
            app.url,
            "--call",
            app.world["call"],
            "--cookie",
            app.world["cookies"]["supervisor"],
            "--origin",
            app.world["origin"],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        try:
            assert process.stdout is not None
            while (await asyncio.wait_for(process.stdout.readline(), 60)).strip() != b"ADMITTED":
                pass
            await flowing()
            event_at = time.monotonic()
            process.send_signal(signal.SIGSTOP)  # frozen: its socket and connection stay open
            pauses += 1
            results["sigstop"].append(await paused_after(child, pauses, event_at))
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.kill()
            await process.wait()
    await parent[1].close()
    await asyncio.to_thread(Path(args.out).write_text, json.dumps(results))
    print("DONE", flush=True)


async def main(args: argparse.Namespace) -> None:
    passthrough.install(host_address="127.0.0.1")
    encoded_video(WIDTH, HEIGHT, LOOP_FRAMES, FPS)
    encoded_audio()
    async with aiohttp.ClientSession() as http:
        app = App(http, args)
        if args.scenario == "latency":
            await latency(app, args)
        else:
            await media_call(app, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--world", required=True, help="JSON: call, origin, cookies")
    parser.add_argument("--scenario", choices=["normal", "flood", "latency"], required=True)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--out")
    asyncio.run(main(parser.parse_args()))
