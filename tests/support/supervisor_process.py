"""A supervisor's call client in its own process, so a test can freeze it with SIGSTOP.

    python -m tests.support.supervisor_process --url http://127.0.0.1:PORT --call ID \
        --cookie NAME=TOKEN --origin ORIGIN

Joins the call's signalling socket, sends a heartbeat every half second like the console page,
offers a real aiortc peer connection (pre-encoded VP8 + Opus), admits the parent (or resumes a
paused call), and prints CONNECTED once its peer connection is up and ADMITTED once the server
says the parent is in and the call is not paused.
It then runs until stopped; stdin closing ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from service.calls import passthrough
from service.calls.media import ConnectResult
from tests.support.synthetic_calls import SyntheticParticipant, wait_until


async def main(args: argparse.Namespace) -> None:
    passthrough.install(host_address="127.0.0.1")
    headers = {"Cookie": args.cookie, "Origin": args.origin}
    peer = SyntheticParticipant("supervisor")
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{args.url}/calls/{args.call}/signal", headers=headers) as ws,
    ):
        loop = asyncio.get_running_loop()
        print("supervisor process: socket open", file=sys.stderr, flush=True)

        async def beat() -> None:
            while not ws.closed:
                await ws.send_json({"type": "heartbeat"})
                await asyncio.sleep(0.5)

        beater = loop.create_task(beat())
        await ws.send_json({"type": "offer", "sdp": await peer.offer()})
        admitted = False
        state: dict[str, object] = {}
        stdin_closed = loop.run_in_executor(None, sys.stdin.read)
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            message = msg.json()
            if message["type"] == "answer":
                await peer.accept(ConnectResult(message["sdp"], message["sources"]))
                # Media up (the server refuses a resume before that).
                await wait_until(lambda: peer.frames_from("child") >= 5, within=30)
                print("CONNECTED", flush=True)
                if not state.get("admitted"):
                    await ws.send_json({"type": "admit"})
                if state.get("paused"):
                    await ws.send_json({"type": "resume"})
            elif message["type"] == "state":
                print(f"state: {message}", file=sys.stderr, flush=True)
                state = message
                if message["admitted"] and not message["paused"] and not admitted:
                    admitted = True
                    print("ADMITTED", flush=True)
            if stdin_closed.done():
                break
        beater.cancel()
    await peer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--call", required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--origin", required=True)
    asyncio.run(main(parser.parse_args()))
