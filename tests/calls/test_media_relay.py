"""The call media relay with real aiortc peers in one process, exchanging SDP directly with CallMedia."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from service.calls import passthrough
from service.calls.media import (
    ROLES,
    CallEnded,
    CallMedia,
    InvalidOffer,
    InvalidRole,
    Role,
)
from tests.support.synthetic_calls import TEST_HOST, SyntheticParticipant, wait_until

CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)", re.MULTILINE)


@pytest.fixture(autouse=True)
def _passthrough() -> None:
    passthrough.install(host_address=TEST_HOST)


async def join_all(
    call: CallMedia, clients: list[SyntheticParticipant], roles: tuple[Role, ...] = ROLES, **kw: Any
) -> dict[Role, SyntheticParticipant]:
    joined = {}
    for role in roles:
        client = SyntheticParticipant(role, **kw)
        clients.append(client)
        await client.join(call.connect)
        joined[role] = client
    return joined


def candidates(sdp: str) -> list[tuple[str, str, int, str]]:
    """(transport, ip, port, type) of every a=candidate line."""
    return [(t.lower(), ip, int(port), typ) for t, ip, port, typ in CANDIDATE.findall(sdp)]


async def test_frames_flow_in_every_allowed_direction(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    p = await join_all(call, clients)
    call.set_admitted(True)

    def everything_flows() -> bool:
        return all(
            r.frames >= (10 if kind == "video" else 30)
            for c in p.values()
            for (_, kind), r in c.received.items()
        )

    await wait_until(everything_flows, what="audio and video on all six routes")
    for c in p.values():
        for (source, kind), r in c.received.items():
            if kind == "video":
                assert r.first_is_keyframe, f"{source} -> {c.role} video began with a delta frame"
    stats = call.stats()
    assert all(r.open for r in stats.routes)
    assert all(r.frames_dropped_overflow == 0 for r in stats.routes)


async def test_child_receives_nothing_from_parent_in_waiting_room_while_supervisor_does(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    p = await join_all(call, clients)

    await wait_until(
        lambda: (
            p["supervisor"].frames_from("parent", "video") >= 30
            and p["supervisor"].frames_from("parent", "audio") >= 100
            and p["child"].frames_from("supervisor", "video") >= 30
            and p["parent"].frames_from("supervisor", "video") >= 30
        ),
        what="camera check: supervisor receives the waiting parent",
    )
    assert p["child"].frames_from("parent", "video") == 0
    assert p["child"].frames_from("parent", "audio") == 0
    assert p["parent"].frames_from("child", "video") == 0
    assert p["parent"].frames_from("child", "audio") == 0
    stats = call.stats()
    for kind in ("audio", "video"):
        assert stats.route("parent", "child", kind).frames_forwarded == 0
        assert not stats.route("parent", "child", kind).open


async def test_pause_stops_parent_to_child_but_not_parent_to_supervisor(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    p = await join_all(call, clients)
    child, supervisor = p["child"], p["supervisor"]
    call.set_admitted(True)
    await wait_until(lambda: child.frames_from("parent", "video") >= 10, what="parent -> child")

    call.set_paused(True)
    forwarded = {
        k: call.stats().route("parent", "child", k).frames_forwarded for k in ("audio", "video")
    }
    # Let frames already on the wire land, then the child's count must stand still.
    base = supervisor.frames_from("parent", "video")
    await wait_until(lambda: supervisor.frames_from("parent", "video") >= base + 8, what="settle")
    settled = {k: child.frames_from("parent", k) for k in ("audio", "video")}
    base = supervisor.frames_from("parent", "video")
    base_audio = supervisor.frames_from("parent", "audio")
    await wait_until(
        lambda: (
            supervisor.frames_from("parent", "video") >= base + 20
            and supervisor.frames_from("parent", "audio") >= base_audio + 60
        ),
        what="supervisor keeps receiving the parent while paused",
    )
    assert {k: child.frames_from("parent", k) for k in ("audio", "video")} == settled
    assert {
        k: call.stats().route("parent", "child", k).frames_forwarded for k in ("audio", "video")
    } == forwarded
    assert child.frames_from("supervisor", "video") > 0  # the child still sees the supervisor

    keyframes_before = child.received[("parent", "video")].keyframes
    call.set_paused(False)
    await wait_until(
        lambda: (
            child.frames_from("parent", "video") >= settled["video"] + 10
            and child.frames_from("parent", "audio") >= settled["audio"] + 30
        ),
        what="resume restores parent -> child",
    )
    # Resumed video starts at a fresh keyframe.
    assert child.received[("parent", "video")].keyframes > keyframes_before


async def test_close_ends_every_peer_connection_within_one_second(
    clients: list[SyntheticParticipant],
) -> None:
    events: list[tuple[Role, str]] = []
    call = CallMedia(on_state_change=lambda role, state: events.append((role, state)))
    try:
        p = await join_all(call, clients)
        call.set_admitted(True)
        await wait_until(
            lambda: (
                all(c.pc.connectionState == "connected" for c in p.values())
                and p["child"].frames_from("parent") > 5
            ),
            what="a running call",
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        await call.close()
        server_closed_after = loop.time() - started
        assert server_closed_after < 1.0
        assert {role for role, state in events if state == "closed"} == set(ROLES)
        assert call.stats().connection_states == {}
        # The clients see their connection end too (DTLS close), well within a second.
        await wait_until(
            lambda: all(c.pc.connectionState in ("closed", "failed") for c in p.values()),
            within=1.0 - (loop.time() - started),
            what="every client connection to close",
        )
    finally:
        await call.close()


async def test_connect_after_close_is_refused(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    await join_all(call, clients, roles=("supervisor",))
    await call.close()
    late = SyntheticParticipant("parent")
    clients.append(late)
    with pytest.raises(CallEnded):
        await call.connect("parent", await late.offer())
    with pytest.raises(CallEnded):
        await call.connect("supervisor", await late.offer())
    with pytest.raises(CallEnded):
        call.set_admitted(True)
    assert call.connected_roles() == frozenset()


async def test_rejoining_role_replaces_previous_connection(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    p = await join_all(call, clients, roles=("parent", "supervisor"))
    await wait_until(lambda: p["supervisor"].frames_from("parent") >= 5, what="first parent")
    again = SyntheticParticipant("parent")
    clients.append(again)
    await again.join(call.connect)
    await wait_until(
        lambda: p["parent"].pc.connectionState in ("closed", "failed"),
        what="the replaced connection to end",
    )
    before = p["supervisor"].frames_from("parent")
    await wait_until(
        lambda: (
            p["supervisor"].frames_from("parent") >= before + 10
            and again.frames_from("supervisor") >= 5
        ),
        what="media on the new connection",
    )


async def test_answer_sdp_contains_only_server_candidates(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    offers: dict[Role, str] = {}
    answers: dict[Role, str] = {}
    for role in ROLES:
        client = SyntheticParticipant(role)
        clients.append(client)
        offers[role] = await client.offer()
        result = await call.connect(role, offers[role])
        answers[role] = result.sdp
        await client.accept(result)

    client_addresses = {(ip, port) for sdp in offers.values() for _, ip, port, _ in candidates(sdp)}
    client_ufrags = {u for sdp in offers.values() for u in re.findall(r"a=ice-ufrag:(\S+)", sdp)}
    assert client_addresses, "the clients' offers carry candidates"
    for role, answer in answers.items():
        found = candidates(answer)
        assert found, f"the answer to {role} has the server's candidates"
        for transport, ip, port, typ in found:
            assert (transport, ip, typ) == ("udp", TEST_HOST, "host")
            assert (ip, port) not in client_addresses, f"{role} was sent a participant's address"
        assert not set(re.findall(r"a=ice-ufrag:(\S+)", answer)) & client_ufrags
        for other, offer in offers.items():
            # Nothing of another participant's offer (candidates, fingerprints) leaks.
            fingerprints = set(re.findall(r"a=fingerprint:\S+ (\S+)", offer))
            assert not fingerprints & set(re.findall(r"a=fingerprint:\S+ (\S+)", answer)), other
        c_lines = set(re.findall(r"^c=IN IP4 (\S+)", answer, re.MULTILINE))
        assert c_lines <= {TEST_HOST, "0.0.0.0"}  # noqa: S104 - SDP placeholder address, not a bind


class _DatagramRecorder:
    """Wraps the event loop's UDP endpoints to record every datagram's destination."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.destinations: list[tuple[str, int]] = []
        self._original = loop.create_datagram_endpoint

    async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await self._original(*args, **kwargs)
        send = transport.sendto
        destinations = self.destinations

        def sendto(data: bytes, addr: Any = None) -> None:
            destinations.append((addr[0], addr[1]) if addr else ("connected", 0))
            send(data, addr)

        transport.sendto = sendto
        return transport, protocol


async def test_no_stun_or_turn_traffic_when_none_configured(
    clients: list[SyntheticParticipant], monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    recorder = _DatagramRecorder(loop)
    monkeypatch.setattr(loop, "create_datagram_endpoint", recorder.create_datagram_endpoint)
    lookups: list[str] = []

    def no_dns(name: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(name))
        raise OSError("DNS lookups are forbidden in this test")

    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    events: list[tuple[Role, str]] = []
    call = CallMedia(on_state_change=lambda role, state: events.append((role, state)))
    sdps: list[str] = []
    try:
        for role in ROLES:
            client = SyntheticParticipant(role)
            clients.append(client)
            offer = await client.offer()
            result = await call.connect(role, offer)
            sdps += [offer, result.sdp]
            await client.accept(result)
        call.set_admitted(True)
        await wait_until(
            lambda: all(c.frames_from(s) >= 10 for c in clients for s, _ in c.received),
            what="media on every route",
        )
        for participant in call._participants.values():  # the server's side of each leg
            for transceiver in participant.pc.getTransceivers():
                connection = transceiver.receiver.transport.transport.iceGatherer._connection
                assert connection.stun_server is None
                assert connection.turn_server is None
                assert {c.type for c in connection.local_candidates} == {"host"}
    finally:
        await call.close()

    ice_addresses = {(ip, port) for sdp in sdps for _, ip, port, _ in candidates(sdp)}
    assert recorder.destinations, "the recorder saw the call's UDP traffic"
    strays = {d for d in recorder.destinations if d not in ice_addresses}
    assert not strays, f"UDP sent outside the call's ICE candidates (STUN/TURN?): {strays}"
    assert lookups == []
    # The check above is meaningful: left unset, aiortc would have used a public STUN server.
    unset = RTCPeerConnection()
    try:
        unset.addTransceiver("audio")
        gatherer = unset.getTransceivers()[0].receiver.transport.transport.iceGatherer
        assert gatherer._connection.stun_server is not None
    finally:
        await unset.close()


async def test_only_vp8_and_opus_are_negotiated(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    client = SyntheticParticipant("parent")
    clients.append(client)
    # A client that prefers H264 and PCMU still gets VP8 and Opus.
    for transceiver in client.pc.getTransceivers():
        codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
        preferred = sorted(
            codecs, key=lambda c: c.mimeType.lower() not in ("video/h264", "audio/pcmu")
        )
        transceiver.setCodecPreferences(preferred)
    offer = await client.offer()
    offered = {m for line in passthrough.describe_sdp(offer).media for m in line.mime_types}
    assert {"video/h264", "audio/pcmu", "video/vp8", "audio/opus"} <= offered
    result = await call.connect("parent", offer)
    await client.accept(result)
    for line in passthrough.describe_sdp(result.sdp).media:
        main = [m for m in line.mime_types if m != "video/rtx"]
        assert main == (["video/vp8"] if line.kind == "video" else ["audio/opus"])

    h264_only = SyntheticParticipant("child")
    clients.append(h264_only)
    for transceiver in h264_only.pc.getTransceivers():
        codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
        transceiver.setCodecPreferences(
            [c for c in codecs if c.mimeType.lower() in ("video/h264", "audio/pcmu")]
        )
    with pytest.raises(InvalidOffer, match="VP8 video and Opus audio"):
        await call.connect("child", await h264_only.offer())


async def test_new_receiver_video_starts_at_a_keyframe(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    # The parent's camera never sends a keyframe unless asked to (PLI).
    p = await join_all(
        call, clients, roles=("parent", "supervisor"), keyframes_on_request_only=True
    )
    parent_camera = p["parent"].video_track
    assert parent_camera is not None
    await wait_until(
        lambda: p["supervisor"].frames_from("parent") >= 40, what="parent's stream well under way"
    )
    requests_before = parent_camera.keyframe_requests
    child = (await join_all(call, clients, roles=("child",)))["child"]
    call.set_admitted(True)
    await wait_until(lambda: child.frames_from("parent") >= 5, what="parent -> new child")
    reception = child.received[("parent", "video")]
    assert reception.first_is_keyframe is True
    assert parent_camera.keyframe_requests > requests_before, "the PLI reached the parent"
    assert call.stats().route("parent", "child", "video").frames_dropped_waiting_for_keyframe >= 0
    sources = {(s.role, s.kind): s for s in call.stats().sources}
    assert sources[("parent", "video")].keyframe_requests_sent >= 1


def _offer_without(sdp: str, predicate: Callable[[str], bool]) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not predicate(line))


@pytest.fixture
def real_offer_sdp(clients: list[SyntheticParticipant]) -> Iterator[Callable[[], Any]]:
    async def make() -> str:
        client = SyntheticParticipant("parent")
        clients.append(client)
        return await client.offer()

    yield make


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ("", "not SDP"),
        ("hello", "not SDP"),
        ("v=0\r\n", "no audio or video"),
        ("v=0\r\n" + "a=x:" + "y" * 70_000 + "\r\n", "larger than"),
        (b"v=0\r\n", "must be SDP text"),
        (
            "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n",
            "only audio and video",
        ),
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video x\r\n", "not valid SDP"),
    ],
)
async def test_garbage_sdp_is_refused_with_clear_error(
    call: CallMedia, offer: Any, message: str
) -> None:
    with pytest.raises(InvalidOffer, match=message):
        await call.connect("parent", offer)
    assert call.connected_roles() == frozenset()


async def test_broken_real_offers_and_roles_are_refused(
    call: CallMedia, real_offer_sdp: Callable[[], Any]
) -> None:
    offer = await real_offer_sdp()
    with pytest.raises(InvalidOffer, match="BUNDLE"):
        await call.connect("parent", _offer_without(offer, lambda line: "a=group:BUNDLE" in line))
    with pytest.raises(InvalidOffer):
        await call.connect("parent", _offer_without(offer, lambda line: "a=fingerprint" in line))
    with pytest.raises(InvalidRole):
        await call.connect("grandparent", offer)  # type: ignore[arg-type]
    assert call.connected_roles() == frozenset()
