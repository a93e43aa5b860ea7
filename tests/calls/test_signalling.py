"""Signalling through the real app: three real aiortc clients speaking the WebSocket."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import CALLS, SESSIONMAKER
from service.calls.media import ROLES, ConnectResult, Role
from storage.models import Call, CallStatus, RecordEvent
from tests.support.calls import (
    ROLE_OF,
    CallWorld,
    Signal,
    book_call,
    cookie_header,
    make_world,
    person_headers,
)
from tests.support.synthetic_calls import SyntheticParticipant, wait_until

CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ (\S+)", re.MULTILINE)


def candidates(sdp: str) -> set[tuple[str, int, str]]:
    return {(ip, int(port), typ) for ip, port, typ in CANDIDATE.findall(sdp)}


@dataclass
class Party:
    signal: Signal
    client: SyntheticParticipant
    offer_candidates: set[tuple[str, int, str]]
    answer_sdp: str


class Harness:
    def __init__(self, client: TestClient, world: CallWorld, call_id: uuid.UUID) -> None:
        self.client = client
        self.world = world
        self.call_id = call_id
        self.signals: list[Signal] = []
        self.peers: list[SyntheticParticipant] = []

    async def connect(self, person: str) -> Signal:
        ws = await self.client.ws_connect(
            f"/calls/{self.call_id}/signal",
            headers=await person_headers(self.client, self.world, self.call_id, person),
        )
        signal = Signal(ws)
        self.signals.append(signal)
        # Joined once the server says who is here (or refused: the socket closes).
        await wait_until(
            lambda: bool(signal.of_type("state")) or signal.closed_at is not None,
            what=f"{person} to join",
        )
        return signal

    async def join(self, role: Role) -> Party:
        signal = await self.connect(ROLE_OF[role])
        peer = SyntheticParticipant(role)
        self.peers.append(peer)
        offer = await peer.offer()
        count = len(signal.of_type("answer"))
        await signal.send({"type": "offer", "sdp": offer})
        answer = await signal.wait_for("answer", count=count + 1)
        await peer.accept(ConnectResult(answer["sdp"], answer["sources"]))
        return Party(signal, peer, candidates(offer), answer["sdp"])

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.peers), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.signals), return_exceptions=True)


@pytest.fixture
async def world(client: TestClient) -> CallWorld:
    return await make_world(client.server.app)


@pytest.fixture
async def harness(client: TestClient, world: CallWorld) -> AsyncIterator[Harness]:
    call_id = await book_call(client.server.app, world)
    made = Harness(client, world, call_id)
    try:
        yield made
    finally:
        await made.close()


async def events_of(client: TestClient, call_id: uuid.UUID) -> list[str]:
    async with client.server.app[SESSIONMAKER]() as session:
        rows = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.payload.contains(str(call_id)))
                .order_by(RecordEvent.seq)
            )
        ).all()
        return [r.kind for r in rows]


async def until_recorded(harness: Harness, kind: str, within: float = 20.0) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        kinds = await events_of(harness.client, harness.call_id)
        if kind in kinds:
            return kinds
        if loop.time() > deadline:
            raise AssertionError(f"no {kind} event after {within} s: {kinds}")
        await asyncio.sleep(0.05)


async def test_three_party_call_forwards_only_what_the_rules_allow(harness: Harness) -> None:
    parties = {role: await harness.join(role) for role in ROLES}
    parent, child, supervisor = (parties[r].client for r in ("parent", "child", "supervisor"))

    # Waiting room: the supervisor sees and hears the parent (camera check); the child nothing.
    await wait_until(
        lambda: (
            supervisor.frames_from("parent") >= 10
            and supervisor.frames_from("parent", "audio") >= 20
            and child.frames_from("supervisor") >= 10
            and parent.frames_from("supervisor") >= 10
        ),
        what="waiting-room media",
    )
    assert child.frames_from("parent") == 0
    assert child.frames_from("parent", "audio") == 0
    assert parent.frames_from("child") == 0

    await parties["supervisor"].signal.send({"type": "admit"})
    await wait_until(
        lambda: all(
            c.received[(source, kind)].frames >= (10 if kind == "video" else 30)
            for c in (parent, child, supervisor)
            for (source, kind) in c.received
        ),
        what="frames in every allowed direction",
    )

    # Pause: parent -> child stops, parent -> supervisor keeps flowing; the parent is told.
    await parties["supervisor"].signal.send({"type": "pause"})
    await parties["parent"].signal.wait_for("paused")
    await asyncio.sleep(0)  # let frames already on the event loop land before the snapshot
    at_pause = child.frames_from("parent")
    from_parent_to_supervisor = supervisor.frames_from("parent")
    await wait_until(
        lambda: supervisor.frames_from("parent") >= from_parent_to_supervisor + 15,
        what="parent -> supervisor frames while paused",
    )
    assert child.frames_from("parent") <= at_pause + 2  # at most frames already in flight

    await parties["supervisor"].signal.send({"type": "resume"})
    await parties["parent"].signal.wait_for("resumed")
    resumed_at = child.frames_from("parent")
    await wait_until(lambda: child.frames_from("parent") >= resumed_at + 10, what="resume")

    kinds = await events_of(harness.client, harness.call_id)
    assert kinds.count("call_joined") == 3
    for kind in ("call_admitted", "call_paused", "call_resumed"):
        assert kind in kinds


async def test_each_client_receives_only_the_servers_candidates(harness: Harness) -> None:
    parties = {role: await harness.join(role) for role in ROLES}
    client_addresses = set().union(*(p.offer_candidates for p in parties.values()))
    assert client_addresses
    for party in parties.values():
        server = candidates(party.answer_sdp)
        assert server, "the answer carries the server's candidates (no trickle)"
        assert not server & client_addresses, "another participant's address leaked"
        assert {typ for _, _, typ in server} == {"host"}
        assert {ip for ip, _, _ in server} == {"127.0.0.1"}  # LETTERBOX_ICE_HOST_ADDRESS
        # Nothing but the answer carries SDP: no message holds another client's description.
        for message in party.signal.messages:
            if message["type"] != "answer":
                assert "sdp" not in message


async def test_no_stun_or_turn_when_none_is_configured(harness: Harness) -> None:
    await harness.join("parent")
    registry = harness.client.server.app[CALLS]
    assert list(registry.media_ice_servers()) == []
    live = registry.get(harness.call_id)
    assert live is not None
    for participant in live.media._participants.values():  # the server's side of each leg
        for transceiver in participant.pc.getTransceivers():
            gatherer = transceiver.receiver.transport.transport.iceGatherer
            assert gatherer._connection.stun_server is None
            assert gatherer._connection.turn_server is None
            assert {c.type for c in gatherer._connection.local_candidates} == {"host"}


async def test_end_closes_everything_within_one_second_and_rejoin_is_refused(
    harness: Harness,
) -> None:
    parties = {role: await harness.join(role) for role in ROLES}
    await parties["supervisor"].signal.send({"type": "admit"})
    await wait_until(
        lambda: all(p.client.pc.connectionState == "connected" for p in parties.values()),
        what="three connected peers",
    )
    live = harness.client.server.app[CALLS].get(harness.call_id)
    assert live is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    await parties["supervisor"].signal.send({"type": "end", "reason": "child_upset"})
    for party in parties.values():
        await party.signal.wait_closed(within=5)
    took = max(p.signal.closed_at or 0.0 for p in parties.values()) - started
    assert took < 1.0, f"ending took {took:.2f} s"
    # The clients' own peer connections see the end too (DTLS close from the server).
    await wait_until(
        lambda: all(p.client.pc.connectionState in ("closed", "failed") for p in parties.values()),
        within=max(0.05, 1.0 - (loop.time() - started)),
        what="every client connection to close",
    )
    for party in parties.values():
        assert party.signal.of_type("ended") == [{"type": "ended", "reason": "child_upset"}]
        assert party.signal.close_code == 4410
    assert live.media.closed
    assert live.media.connected_roles() == frozenset()

    async with harness.client.server.app[SESSIONMAKER]() as session:
        call = await session.get(Call, harness.call_id)
        assert call is not None
        assert call.status is CallStatus.ENDED
        assert call.end_reason == "child_upset"
    assert (await events_of(harness.client, harness.call_id))[-1] == "call_ended"

    again = await harness.connect("parent")
    await again.wait_closed()
    assert again.close_code == 4410
    assert again.of_type("ended")
    assert not again.of_type("answer")


async def test_participant_who_drops_may_rejoin_within_the_window(harness: Harness) -> None:
    first = await harness.join("parent")
    await first.signal.close()
    await first.client.close()
    await until_recorded(harness, "call_left")
    second = await harness.join("parent")
    assert second.signal.of_type("waiting")
    kinds = await events_of(harness.client, harness.call_id)
    assert kinds.count("call_joined") == 2


async def test_silent_drop_is_marked_left_within_the_heartbeat_and_may_rejoin(
    harness: Harness,
) -> None:
    registry = harness.client.server.app[CALLS]
    registry.heartbeat = 0.4  # production: 20 s, so a silent drop is noticed within 30 s
    app = harness.client.server.app
    # A client that stops answering pings: a laptop closed, a network gone without a FIN.
    silent = await harness.client.ws_connect(
        f"/calls/{harness.call_id}/signal",
        headers=cookie_header(app, harness.world.cookies["parent"]),
        autoping=False,
    )
    try:
        while (await silent.receive_json())["type"] != "state":
            pass
        live = registry.get(harness.call_id)
        assert live is not None and "parent" in live.connections
        loop = asyncio.get_running_loop()
        went_quiet = loop.time()
        await until_recorded(harness, "call_left", within=10)
        took = loop.time() - went_quiet
        assert took < 1.5 * 0.4 + 2.0, f"marked left after {took:.1f} s"
        assert "parent" not in live.connections
    finally:
        await silent.close()

    rejoined = await harness.join("parent")
    assert rejoined.signal.of_type("waiting")
    kinds = await events_of(harness.client, harness.call_id)
    assert kinds.count("call_joined") == 2 and kinds.count("call_left") == 1


async def test_parent_of_another_family_cannot_reach_the_call(harness: Harness) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.connect("other_parent")
    assert refused.value.status == 404


async def test_foreign_origin_is_refused(harness: Harness) -> None:
    app = harness.client.server.app
    headers = cookie_header(app, harness.world.cookies["parent"])
    headers["Origin"] = "https://evil.example"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.client.ws_connect(f"/calls/{harness.call_id}/signal", headers=headers)
    assert refused.value.status == 403


async def test_signed_out_visitor_cannot_open_the_socket(harness: Harness) -> None:
    app = harness.client.server.app
    headers = cookie_header(app, "not-a-session")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.client.ws_connect(f"/calls/{harness.call_id}/signal", headers=headers)
    # A signed-out browser is sent to the sign-in page instead of being upgraded.
    assert refused.value.request_info.url.path == "/sign-in"


@pytest.mark.parametrize("control", ["admit", "pause", "resume", "end"])
async def test_parent_cannot_use_supervisor_controls(harness: Harness, control: str) -> None:
    signal = await harness.connect("parent")
    message: dict[str, str] = {"type": control}
    if control == "end":
        message["reason"] = "completed"
    await signal.send(message)
    await signal.wait_closed()
    assert signal.close_code == 4403
    assert signal.close_reason and "supervisor" in signal.close_reason
    live = harness.client.server.app[CALLS].get(harness.call_id)
    assert live is not None and not live.media.admitted and not live.ended


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "not JSON"),
        ('["offer"]', "JSON object"),
        ('{"type": "shout"}', "unknown message type"),
        ('{"type": "offer"}', "offer takes exactly: sdp"),
        ('{"type": "offer", "sdp": 5}', "must be text"),
        ('{"type": "offer", "sdp": "v=0", "extra": 1}', "offer takes exactly"),
        ('{"type": "offer", "sdp": "hello"}', "not SDP"),
    ],
)
async def test_bad_message_closes_the_socket_with_a_reason(
    harness: Harness, message: str, reason: str
) -> None:
    signal = await harness.connect("parent")
    await signal.ws.send_str(message)
    await signal.wait_closed()
    assert signal.close_code == 4400
    assert signal.close_reason is not None and reason in signal.close_reason


async def test_supervisor_bad_end_reason_and_long_warning_are_refused(harness: Harness) -> None:
    signal = await harness.connect("supervisor")
    await signal.send({"type": "warn", "text": "x" * 201})
    await signal.wait_closed()
    assert signal.close_code == 4400
    signal = await harness.connect("supervisor")
    await signal.send({"type": "end", "reason": "because"})
    await signal.wait_closed()
    assert signal.close_code == 4400
    assert signal.close_reason == "unknown end reason"


async def test_oversized_message_closes_the_socket_with_a_reason(harness: Harness) -> None:
    signal = await harness.connect("parent")
    await signal.send({"type": "offer", "sdp": "v=0" + "x" * 70_000})
    await signal.wait_closed()
    assert signal.close_code == 4400
    assert signal.close_reason == "message larger than 65536 bytes"


async def test_flooding_the_socket_closes_it(harness: Harness) -> None:
    signal = await harness.connect("staff")
    for _ in range(200):
        if signal.ws.closed:
            break
        await signal.ws.send_str('{"type": "stop-request"}')
    await signal.wait_closed()
    assert signal.close_code == 4429


async def test_child_stop_request_alerts_the_supervisor_and_is_recorded_once_per_request(
    harness: Harness,
) -> None:
    supervisor = await harness.connect("supervisor")
    child = await harness.connect("staff")
    before = datetime.now(UTC)
    await child.send({"type": "stop-request"})
    await supervisor.wait_for("stop-requested")
    await child.send({"type": "stop-request"})  # pressed again at once: the same request
    await supervisor.wait_for("stop-requested", count=2)

    async with harness.client.server.app[SESSIONMAKER]() as session:
        requests = (
            await session.scalars(
                select(RecordEvent).where(
                    RecordEvent.kind == "call_stop_requested",
                    RecordEvent.payload.contains(str(harness.call_id)),
                )
            )
        ).all()
    (event,) = requests
    assert event.actor_role == "staff"  # the centre device's account
    assert event.actor_id == harness.world.users["staff"]
    assert event.at >= before - timedelta(seconds=1)
    assert '"as":"child"' in event.payload

    parent = await harness.connect("parent")
    await parent.send({"type": "stop-request"})
    await parent.wait_closed()
    assert parent.close_code == 4403


async def test_warning_reaches_the_parent_and_is_recorded(harness: Harness) -> None:
    supervisor = await harness.connect("supervisor")
    parent = await harness.connect("parent")
    await supervisor.send({"type": "warn", "text": "Please keep it kind."})
    warning = await parent.wait_for("warning")
    assert warning == {"type": "warning", "text": "Please keep it kind."}
    assert "call_warned" in await events_of(harness.client, harness.call_id)
