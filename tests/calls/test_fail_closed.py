"""Supervision cannot lapse: real aiortc peers through the app.

The parent reaches the child only while the supervisor is connected and alive; admission belongs
to a connection; renegotiation is bounded; refused attempts reach the security log and the
console; the console sees each leg's health and an alarm when a leg dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.appkeys import SESSIONMAKER, SETTINGS
from service.calls.media import ROLES
from service.security_log import Kind, recent_events
from tests.support.calls import CallHarness, CallWorld, Party, book_call, make_world
from tests.support.synthetic_calls import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def world(client: TestClient) -> CallWorld:
    return await make_world(client.server.app)


@pytest.fixture
async def harness(client: TestClient, world: CallWorld) -> AsyncIterator[CallHarness]:
    call_id = await book_call(client.server.app, world)
    made = CallHarness(client, world, call_id)
    try:
        yield made
    finally:
        await made.close()


async def in_the_call(harness: CallHarness) -> dict[str, Party]:
    parties = {role: await harness.join(role) for role in ROLES}
    await parties["supervisor"].signal.send({"type": "admit"})
    child = parties["child"].client
    await wait_until(lambda: child.frames_from("parent") >= 10, what="parent -> child media")
    return parties


async def assert_child_gets_no_parent_media(parties: dict[str, Party], at_pause: int) -> None:
    """Time passes (the parent keeps receiving the child: pause is one-way) and not one more
    parent frame reaches the child, beyond what was already in flight."""
    parent = parties["parent"].client
    seen = parent.frames_from("child")
    await wait_until(lambda: parent.frames_from("child") >= seen + 20, what="child -> parent")
    assert parties["child"].client.frames_from("parent") <= at_pause + 2


async def test_child_gets_no_parent_media_after_the_supervisors_socket_closes(
    harness: CallHarness,
) -> None:
    parties = await in_the_call(harness)
    await parties["supervisor"].signal.close()  # the console's tab closed; its peer lingers

    for role in ("parent", "child"):
        paused = await parties[role].signal.wait_for("paused", within=10)
        assert paused["reason"] == "supervisor_left"
        assert "supervisor has left" in paused["text"]
    at_pause = parties["child"].client.frames_from("parent")
    events = await harness.until_recorded("call_paused")
    assert any(k == "call_paused" and "supervisor_left" in p for k, p in events)
    await assert_child_gets_no_parent_media(parties, at_pause)

    # Only a supervisor's resume reopens: a returning supervisor first sees the paused call.
    back = await harness.join("supervisor")
    state = back.signal.of_type("state")[-1]
    assert state["paused"] and state["pause_reason"] == "supervisor_left"
    seen = back.client.frames_from("parent")
    await wait_until(lambda: back.client.frames_from("parent") >= seen + 15, what="camera check")
    assert parties["child"].client.frames_from("parent") <= at_pause + 2
    await back.signal.send({"type": "resume"})
    await wait_until(
        lambda: parties["child"].client.frames_from("parent") >= at_pause + 15,
        what="parent -> child after the supervisor's resume",
    )
    assert "call_resumed" in [k for k, _ in await harness.events()]


async def test_resume_is_refused_while_the_supervisors_own_video_is_not_up(
    harness: CallHarness,
) -> None:
    parties = await in_the_call(harness)
    await parties["supervisor"].signal.close()
    await parties["child"].signal.wait_for("paused")
    back = await harness.connect("supervisor")  # a socket, no peer connection yet
    await back.send({"type": "resume"})
    error = await back.wait_for("error")
    assert "own video connection" in error["message"]
    assert back.of_type("state")[-1]["paused"]
    assert "call_resumed" not in [k for k, _ in await harness.events()]


async def read_line(stream: asyncio.StreamReader, word: str, within: float = 60.0) -> None:
    async def find() -> None:
        while True:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"the supervisor process ended before {word}")
            if line.decode().strip() == word:
                return

    await asyncio.wait_for(find(), within)


async def test_child_gets_no_parent_media_once_a_frozen_supervisor_falls_silent(
    harness: CallHarness,
) -> None:
    parties = {role: await harness.join(role) for role in ("parent", "child")}
    settings = harness.app[SETTINGS]
    server = harness.client.server
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.supervisor_process",
        "--url",
        f"http://{server.host}:{server.port}",
        "--call",
        str(harness.call_id),
        "--cookie",
        f"{settings.session_cookie_name}={harness.world.cookies['supervisor']}",
        "--origin",
        settings.public_origin,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        await read_line(process.stdout, "ADMITTED")
        child = parties["child"].client
        await wait_until(lambda: child.frames_from("parent") >= 10, what="parent -> child")
        # Its socket and peer connection stay open; nothing arrives from it any more.
        process.send_signal(signal.SIGSTOP)

        for role in ("parent", "child"):
            paused = await parties[role].signal.wait_for("paused", within=20)
            assert paused["reason"] == "supervisor_silent"
        at_pause = child.frames_from("parent")
        events = await harness.until_recorded("call_paused")
        assert any(k == "call_paused" and "supervisor_silent" in p for k, p in events)
        await assert_child_gets_no_parent_media(parties, at_pause)

        # The frozen machine is gone for good; a supervisor comes back and resumes.
        process.kill()
        back = await harness.join("supervisor")
        assert back.signal.of_type("state")[-1]["paused"]
        seen = back.client.frames_from("parent")
        await wait_until(lambda: back.client.frames_from("parent") >= seen + 15, what="media up")
        await back.signal.send({"type": "resume"})
        await wait_until(
            lambda: child.frames_from("parent") >= at_pause + 15,
            what="parent -> child after the returning supervisor's resume",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
            process.kill()
        await process.wait()


async def test_a_rejoining_parent_waits_and_the_supervisor_sees_them_first(
    harness: CallHarness,
) -> None:
    parties = await in_the_call(harness)
    await parties["parent"].signal.close()
    await parties["parent"].client.close()
    supervisor = parties["supervisor"]
    await wait_until(
        lambda: "parent" not in supervisor.signal.of_type("state")[-1]["participants"],
        what="the parent to leave",
    )
    assert supervisor.signal.of_type("state")[-1]["admitted"] is False
    # The lapse is in the record, after the parent's leaving, by the system.
    events = await harness.until_recorded("call_admission_lapsed")
    kinds = [k for k, _ in events]
    assert kinds.index("call_admission_lapsed") > max(
        i for i, (k, p) in enumerate(events) if k == "call_left" and '"as":"parent"' in p
    )
    (lapsed,) = [p for k, p in events if k == "call_admission_lapsed"]
    assert '"why":"parent_left"' in lapsed

    again = await harness.join("parent")
    assert again.signal.of_type("waiting")
    at_rejoin = parties["child"].client.frames_from("parent")
    seen = supervisor.client.frames_from("parent")
    await wait_until(
        lambda: supervisor.client.frames_from("parent") >= seen + 15,
        what="the supervisor's camera check of the returning parent",
    )
    assert parties["child"].client.frames_from("parent") == at_rejoin
    assert again.client.frames_from("child") == 0

    await supervisor.signal.send({"type": "admit"})
    await wait_until(
        lambda: parties["child"].client.frames_from("parent") >= at_rejoin + 10,
        what="parent -> child once admitted again",
    )
    kinds = [k for k, _ in await harness.events()]
    assert kinds.count("call_admitted") == 2
    assert kinds.count("call_admission_lapsed") == 1


async def security_events(harness: CallHarness) -> list[dict[str, str]]:
    async with harness.app[SESSIONMAKER]() as session:
        events = await recent_events(
            session, Kind.CALL_REFUSED, about={"call_id": str(harness.call_id)}
        )
    return [e.detail for e in events]


async def test_an_offer_flood_is_cut_off_and_logged(harness: CallHarness) -> None:
    supervisor = await harness.join("supervisor")
    parent = await harness.join("parent")
    offer = await parent.client.offer()
    for _ in range(12):
        if parent.signal.closed_at is not None:
            break
        await parent.signal.send({"type": "offer", "sdp": offer})
    await parent.signal.wait_closed()
    assert parent.signal.close_code == 4429
    assert "too many offers" in (parent.signal.close_reason or "")
    # The first offer plus six renegotiations were answered; the seventh closed the socket.
    assert len(parent.signal.of_type("answer")) <= 7
    await wait_until(
        lambda: supervisor.signal.of_type("refused")[-1]["count"] == 1, what="console count"
    )
    [event] = await security_events(harness)
    assert event["reason"] == "rate_limited"
    assert "too many offers" in event["what"]

    # The budget is the participant's, not the socket's: reconnecting does not refill it, and
    # the flooder is turned away at the door (no join recorded, nothing more to log).
    joins = [k for k, _ in await harness.events()].count("call_joined")
    again = await harness.connect("parent")
    await again.wait_closed()
    assert again.close_code == 4429
    assert "please wait" in (again.close_reason or "")
    assert not again.of_type("state")
    assert [k for k, _ in await harness.events()].count("call_joined") == joins


async def test_each_refused_attempt_is_logged_and_counted_on_the_console(
    harness: CallHarness, client: TestClient
) -> None:
    supervisor = await harness.join("supervisor")

    parent = await harness.connect("parent")
    await parent.send({"type": "pause"})  # a supervisor's command
    await parent.wait_closed()
    assert parent.close_code == 4403

    with pytest.raises(aiohttp.WSServerHandshakeError) as other_family:
        await harness.connect("other_parent")
    assert other_family.value.status == 404

    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await harness.connect("parent", origin="https://evil.example")
    assert foreign.value.status == 403

    child = await harness.connect("staff", heartbeat=None)  # the child's centre device
    for _ in range(60):
        if child.closed_at is not None:
            break
        with contextlib.suppress(ConnectionError, RuntimeError):
            await child.send({"type": "heartbeat"})
    await child.wait_closed()
    assert child.close_code == 4429

    reasons = {"forbidden_command", "another_family", "bad_origin", "rate_limited"}
    await wait_until(
        lambda: (supervisor.signal.of_type("refused") or [{"count": 0}])[-1]["count"] == 4,
        what="four refusals on the console",
    )
    shown = {item["reason"] for m in supervisor.signal.of_type("refused") for item in m["latest"]}
    assert shown == reasons
    events = await security_events(harness)
    assert {e["reason"] for e in events} == reasons
    assert all(e["family_id"] == str(harness.world.family_id) for e in events)

    # The family's staff page shows the count and what happened.
    page = await client.get(
        f"/admin/families/{harness.world.family_id}",
        headers={
            "Cookie": f"{harness.app[SETTINGS].session_cookie_name}="
            f"{harness.world.cookies['admin']}"
        },
    )
    assert page.status == 200
    body = await page.text()
    assert "4 refused attempts on this family" in body
    assert "only the supervisor may pause" in body


async def test_console_sees_each_legs_health_and_an_alarm_when_a_leg_dies(
    harness: CallHarness,
) -> None:
    parties = await in_the_call(harness)
    supervisor = parties["supervisor"].signal

    def parent_leg() -> dict[str, object]:
        for message in reversed(supervisor.of_type("health")):
            for leg in message["legs"]:
                if leg["role"] == "parent":
                    return dict(leg)
        return {}

    await wait_until(
        lambda: (
            parent_leg().get("state") == "connected"
            and float(parent_leg().get("video_fps") or 0) > 0
        ),
        what="the parent's leg in the console's health",
    )
    assert 0.0 <= float(parent_leg()["loss"]) <= 1.0  # type: ignore[arg-type]

    await parties["child"].client.close()  # the child's media dies; its socket stays
    alarm = await supervisor.wait_for("alarm")
    assert alarm["role"] == "child"
    hint = await parties["child"].signal.wait_for("reconnect")
    assert "reconnect" in hint["text"]
