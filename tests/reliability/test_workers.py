"""``letterbox serve --workers 2`` as a real process tree on one PostgreSQL database.

Both workers answer on the one public port; a periodic job runs on one of them; a call whose
participants reach different workers (each through a worker's private port) meets on one relay,
the other worker forwarding the signalling; and killing the worker that owns a call ends that
call with a recorded reason while a call on the other worker carries on. Every process is
stopped in ``finally``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from service.app import create_app
from service.appkeys import SESSIONMAKER
from service.calls.media import ConnectResult
from service.settings import Settings
from storage.models import Call, CallStatus, JobLease, MediaNode, RecordEvent
from tests.support.calls import (
    CallWorld,
    Signal,
    book_call,
    child_headers,
    cookie_header,
    make_world,
)
from tests.support.reliability import Node, letterbox_env, new_master_key, wait_until
from tests.support.synthetic_calls import SyntheticParticipant
from tests.support.synthetic_calls import wait_until as wait_async

pytestmark = pytest.mark.slow

#: Generous deadlines: the machine running these tests is small and busy.
LONG = 90.0
WORKER_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")


@dataclass
class Workers:
    node: Node
    seeder: Any  # the in-process TestClient used to seed and to read the database
    world: CallWorld

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.node.log().splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
        return entries

    def worker_pids(self) -> dict[int, int]:
        """Worker index -> pid of its latest start."""
        pids: dict[int, int] = {}
        for entry in self.log_entries():
            found = WORKER_STARTED.search(str(entry.get("message", "")))
            if found:
                pids[int(found.group(1))] = int(found.group(2))
        return pids

    async def media_nodes(self) -> dict[str, MediaNode]:
        async with self.seeder.server.app[SESSIONMAKER]() as session:
            return {n.node: n for n in (await session.scalars(select(MediaNode))).all()}


@pytest.fixture
async def workers(
    pg_database: str, aiohttp_client: AiohttpClient, tmp_path: Path
) -> AsyncIterator[Workers]:
    env = letterbox_env(
        pg_database,
        tmp_path / "data",
        new_master_key(),
        reconcile_interval_seconds="2",
        checkpoint_interval_seconds="2",
        media_node="test-node",
    )
    # The in-process seeder is a node too: its jobs wait an hour, so only the workers run them.
    quiet = {
        "LETTERBOX_RECONCILE_INTERVAL_SECONDS": "3600",
        "LETTERBOX_CHECKPOINT_INTERVAL_SECONDS": "3600",
    }
    seeder = await aiohttp_client(create_app(Settings.from_env(env | quiet)))
    world = await make_world(seeder.server.app)
    node = Node("W", env, tmp_path / "workers.log", workers=2)
    try:
        await asyncio.to_thread(node.start)
        # Both workers registered as media nodes (each on its own internal port).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while len(await Workers(node, seeder, world).media_nodes()) < 2:
            assert loop.time() < deadline, node.log()[-3000:]
            await asyncio.sleep(0.2)
        yield Workers(node, seeder, world)
    finally:
        await asyncio.to_thread(node.stop)


def _processes_of_group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    found.append(int(entry))
            except ProcessLookupError:
                continue
    return found


async def test_both_workers_answer_on_one_port_and_sigterm_leaves_no_process(
    workers: Workers,
) -> None:
    node = workers.node
    pids = set(workers.worker_pids().values())
    assert len(pids) == 2

    def answered_by() -> set[int]:
        return {
            int(e["pid"])
            for e in workers.log_entries()
            if e.get("route") == "/healthz" and "pid" in e
        }

    # A new connection each time: the kernel spreads connections, not requests. A worker that
    # bound the port a moment later gets its share once it is there, so keep knocking (bounded).
    deadline = asyncio.get_running_loop().time() + 90
    async with aiohttp.ClientSession() as http:
        while answered_by() != pids:
            assert asyncio.get_running_loop().time() < deadline, (answered_by(), pids)
            for _ in range(20):
                async with http.get(node.url + "/healthz", headers={"Connection": "close"}) as r:
                    assert r.status == 200
            await asyncio.to_thread(
                wait_until, lambda: len(answered_by()) >= 1, 30, "a worker to have answered"
            )

    assert node.process is not None
    group = node.process.pid
    node.process.send_signal(signal.SIGTERM)  # the parent only: it stops its workers
    assert await asyncio.to_thread(node.process.wait, 30) == 0
    await asyncio.to_thread(
        wait_until, lambda: not _processes_of_group(group), 30, "every worker to have exited"
    )


async def test_a_periodic_job_runs_on_one_worker_only(workers: Workers) -> None:
    def reconcile_runs() -> list[int]:
        return [
            int(e["pid"])
            for e in workers.log_entries()
            if str(e.get("message", "")).startswith("reconcile:")
        ]

    # Every two seconds each worker offers to run it; three runs take at least six seconds.
    try:
        await asyncio.to_thread(wait_until, lambda: len(reconcile_runs()) >= 3, 90, "three runs")
    except TimeoutError:
        raise AssertionError(workers.node.log()[-4000:]) from None
    assert len(set(reconcile_runs())) == 1, reconcile_runs()
    async with workers.seeder.server.app[SESSIONMAKER]() as session:
        leases = {lease.job for lease in (await session.scalars(select(JobLease))).all()}
    assert {"reconcile", "record-checkpoints"} <= leases


async def _connect(
    workers: Workers, url: str, call_id: uuid.UUID, person: str, http: aiohttp.ClientSession
) -> Signal:
    app = workers.seeder.server.app
    # Staff are the child, from a centre device locked to the call with their password.
    headers = (
        await child_headers(url, app, workers.world, call_id)
        if person == "staff"
        else cookie_header(app, workers.world.cookies[person])
    )
    ws = await http.ws_connect(f"{url}/calls/{call_id}/signal", headers=headers)
    signal_ = Signal(ws)
    await wait_async(
        lambda: bool(signal_.of_type("state")) or signal_.closed_at is not None,
        within=LONG,
        what=f"{person} to join",
    )
    assert signal_.closed_at is None, (signal_.close_code, signal_.messages)
    return signal_


async def _call_state(workers: Workers, call_id: uuid.UUID) -> Call:
    async with workers.seeder.server.app[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call


async def test_a_call_met_through_both_workers_shares_one_relay_and_ends_when_its_worker_dies(
    workers: Workers,
) -> None:
    app = workers.seeder.server.app
    nodes = await workers.media_nodes()
    first, second = nodes["test-node#0"].url, nodes["test-node#1"].url
    call_a = await book_call(app, workers.world)
    call_b = await book_call(app, workers.world)
    signals: list[Signal] = []
    peers: list[SyntheticParticipant] = []

    async def join(url: str, call_id: uuid.UUID, person: str, role: Any) -> SyntheticParticipant:
        signal_ = await _connect(workers, url, call_id, person, http)
        signals.append(signal_)
        peer = SyntheticParticipant(role)
        peers.append(peer)
        # Signal.join, with a deadline for a machine running six peers and two workers.
        await signal_.send({"type": "offer", "sdp": await peer.offer()})
        answer = await signal_.wait_for("answer", within=LONG)
        await peer.accept(ConnectResult(sdp=answer["sdp"], sources_by_mid=answer["sources"]))
        return peer

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        try:
            # Call A: pinned to worker 0 by the parent; the child and the supervisor come in
            # through worker 1, which forwards them.
            parent_a = await join(first, call_a, "parent", "parent")
            child_a = await join(second, call_a, "staff", "child")
            await join(second, call_a, "supervisor", "supervisor")
            assert (await _call_state(workers, call_a)).media_node == "test-node#0"
            # Call B lives on worker 1, everyone connected to it directly (a socket through
            # worker 0 would go down with it).
            parent_b = await join(second, call_b, "parent", "parent")
            child_b = await join(second, call_b, "staff", "child")
            await join(second, call_b, "supervisor", "supervisor")
            assert (await _call_state(workers, call_b)).media_node == "test-node#1"
            supervisor_a, supervisor_b = signals[2], signals[5]
            await supervisor_a.send({"type": "admit"})
            await supervisor_b.send({"type": "admit"})
            await wait_async(
                lambda: all(
                    p.frames_from(s, "video") >= 10
                    for p, s in (
                        (child_a, "parent"),
                        (parent_a, "child"),
                        (child_b, "parent"),
                        (parent_b, "child"),
                    )
                ),
                within=2 * LONG,
                what="parent and child seeing each other in both calls",
            )

            # Worker 0, the owner of call A, dies without a word.
            os.kill(workers.worker_pids()[0], signal.SIGKILL)
            child_signal_a = signals[1]  # through worker 1: its relay to worker 0 broke
            await child_signal_a.wait_closed(within=LONG)

            async def ended() -> bool:
                return (await _call_state(workers, call_a)).status is CallStatus.ENDED

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2 * LONG  # the parent restarts worker 0, which ends its calls
            while not await ended():
                assert loop.time() < deadline, workers.node.log()[-3000:]
                await asyncio.sleep(0.2)
            assert (await _call_state(workers, call_a)).end_reason == "media_node_lost"
            async with app[SESSIONMAKER]() as session:
                kinds = (
                    await session.scalars(
                        select(RecordEvent.kind)
                        .where(RecordEvent.payload.contains(str(call_a)))
                        .order_by(RecordEvent.seq)
                    )
                ).all()
            assert kinds[-1] == "call_ended"

            # Call B, on worker 1, carries on.
            assert (await _call_state(workers, call_b)).status is CallStatus.LIVE
            seen = child_b.frames_from("parent", "video")
            await wait_async(
                lambda: child_b.frames_from("parent", "video") >= seen + 15,
                within=LONG,
                what="call B still flowing",
            )
        finally:
            await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
            await asyncio.gather(*(s.close() for s in signals), return_exceptions=True)
