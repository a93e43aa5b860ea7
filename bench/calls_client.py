"""Benchmark clients: N 3-party calls of synthetic aiortc participants, in one process.

Each participant sends pre-encoded 640x480 @ 15 fps VP8 + Opus (cheap on CPU) to the relay server
started by ``bench/calls.py`` and counts the encoded frames it receives from each source, without
decoding them. Prints READY when every route carries media, then measures delivered fps over a
window and writes JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import aiohttp

from service.calls import passthrough
from service.calls.media import ROLES, ConnectResult, Role
from tests.support.synthetic_calls import (
    SyntheticParticipant,
    encoded_audio,
    encoded_video,
    wait_until,
)

WIDTH, HEIGHT, FPS, LOOP_FRAMES = 640, 480, 15, 150


async def main(args: argparse.Namespace) -> None:
    # Clients restrict their host candidates to loopback as well, and count encoded frames.
    passthrough.install(host_address="127.0.0.1")
    video = encoded_video(WIDTH, HEIGHT, LOOP_FRAMES, FPS)
    encoded_audio()
    kbps = sum(len(f) for f in video) * 8 * FPS / len(video) / 1000
    participants: list[SyntheticParticipant] = []
    async with aiohttp.ClientSession() as http:
        for call in range(args.first_call, args.first_call + args.calls):

            async def connect(role: Role, sdp: str, call: int = call) -> ConnectResult:
                async with http.post(
                    f"{args.url}/connect", json={"call": str(call), "role": role, "sdp": sdp}
                ) as response:
                    response.raise_for_status()
                    body = await response.json()
                return ConnectResult(sdp=body["sdp"], sources_by_mid=body["sources_by_mid"])

            for role in ROLES:
                participant = SyntheticParticipant(
                    role, video_size=(WIDTH, HEIGHT), video_frames=LOOP_FRAMES, fps=FPS
                )
                participants.append(participant)
                await participant.join(connect)
            async with http.post(f"{args.url}/admit", json={"call": str(call)}) as response:
                response.raise_for_status()

        await wait_until(
            lambda: all(r.frames > 0 for p in participants for r in p.received.values()),
            within=90,
            what="media on every route of every call",
        )
        print("READY", flush=True)
        await asyncio.sleep(args.warmup)
        loop = asyncio.get_running_loop()
        start = loop.time()
        before = [{k: r.frames for k, r in p.received.items()} for p in participants]
        await asyncio.sleep(args.window)
        elapsed = loop.time() - start
        streams = []
        for p, counts in zip(participants, before, strict=True):
            for (source, kind), r in p.received.items():
                streams.append(
                    {
                        "receiver": p.role,
                        "source": source,
                        "kind": kind,
                        "fps": (r.frames - counts[(source, kind)]) / elapsed,
                    }
                )
        report = json.dumps({"streams": streams, "video_kbit_s": kbps, "window_s": elapsed})
        await asyncio.to_thread(Path(args.out).write_text, report)
        print("DONE", flush=True)
        # Stay connected until the driver has read the server's figures and stops us.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await asyncio.gather(*(p.close() for p in participants))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--first-call", type=int, default=0, help="the id of the first call")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--out", required=True)
    asyncio.run(main(parser.parse_args()))
