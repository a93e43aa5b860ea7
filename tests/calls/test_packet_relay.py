"""The relay's packet forwarding, seen from real aiortc receivers: what arrives on the wire."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiortc import RTCRtpReceiver
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from av import VideoFrame

from service.calls import passthrough
from service.calls.media import CallMedia, ConnectResult, Role
from service.calls.passthrough import EncodedPacket
from tests.support.synthetic_calls import TEST_HOST, SyntheticParticipant, wait_until


@pytest.fixture(autouse=True)
def _passthrough() -> None:
    passthrough.install(host_address=TEST_HOST)


@dataclass
class Wire:
    """The RTP packets the relay sent one client for one of its m-lines, as they arrived."""

    media: list[int] = field(default_factory=list)  # sequence numbers of media packets
    retransmitted: list[int] = field(default_factory=list)  # original seq of each RTX packet
    media_ssrcs: set[int] = field(default_factory=set)

    @property
    def packets(self) -> int:
        return len(self.media) + len(self.retransmitted)


def _receiver_of(
    client: SyntheticParticipant, result: ConnectResult, source: Role, kind: str
) -> RTCRtpReceiver:
    for transceiver in client.pc.getTransceivers():
        if result.sources_by_mid.get(str(transceiver.mid)) == source and transceiver.kind == kind:
            return transceiver.receiver
    raise AssertionError(f"{client.role} has no m-line for {source} {kind}")


def _tap(receiver: RTCRtpReceiver) -> Wire:
    """Record every RTP packet for ``receiver`` (media, and RTX by the SSRC its answer gave)
    that reaches its DTLS transport, before aiortc handles it."""
    wire = Wire()
    transport = receiver.transport
    rtx_ssrcs: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
    router = transport._rtp_router
    handle = transport._handle_rtp_data

    async def tapped(data: bytes, arrival_time_ms: int) -> None:
        packet = RtpPacket.parse(data)
        if packet.ssrc in rtx_ssrcs:
            if len(packet.payload) >= 2:  # not RTX padding
                wire.retransmitted.append(int.from_bytes(packet.payload[:2], "big"))
        elif router.ssrc_table.get(packet.ssrc) is receiver:
            wire.media.append(packet.sequence_number)
            wire.media_ssrcs.add(packet.ssrc)
        await handle(data, arrival_time_ms=arrival_time_ms)

    transport._handle_rtp_data = tapped  # type: ignore[method-assign]
    return wire


async def _join(
    call: CallMedia, clients: list[SyntheticParticipant], role: Role, **kw: Any
) -> tuple[SyntheticParticipant, ConnectResult]:
    client = SyntheticParticipant(role, **kw)
    clients.append(client)
    result = await client.join(call.connect)
    return client, result


def _continuous(seqs: list[int]) -> bool:
    """The distinct sequence numbers (16-bit, wrapping) form one run without a gap."""
    first = seqs[0]
    offsets = {(s - first + 0x8000) & 0xFFFF for s in seqs}
    return max(offsets) - min(offsets) + 1 == len(offsets)


async def test_receiver_joining_mid_stream_decodes_from_its_first_frame(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    # The parent's camera sends a keyframe only when asked (PLI): whatever reaches the late
    # child must start at one, or libvpx cannot decode it.
    parent, _ = await _join(call, clients, "parent", keyframes_on_request_only=True)
    supervisor, _ = await _join(call, clients, "supervisor")
    await wait_until(
        lambda: supervisor.frames_from("parent") >= 30, what="parent's stream under way"
    )
    child, result = await _join(call, clients, "child")
    frames: list[tuple[bytes, int]] = []

    def keep(packet: EncodedPacket, keyframe: bool) -> None:
        frames.append((bytes(packet), int(packet.pts or 0)))

    passthrough.set_frame_sink(_receiver_of(child, result, "parent", "video"), keep)
    call.set_admitted(True)
    await wait_until(lambda: len(frames) >= 20, what="20 parent frames at the child")

    decoder = Vp8Decoder()
    for index, (data, timestamp) in enumerate(frames[:20]):
        decoded = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        assert decoded, f"frame {index} did not decode"
        picture = decoded[0]
        assert isinstance(picture, VideoFrame)
        assert (picture.width, picture.height) == parent.video_size
    assert passthrough.is_vp8_keyframe(frames[0][0])


async def test_sequence_numbers_stay_continuous_across_pause_and_resume(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    await _join(call, clients, "parent")
    supervisor, _ = await _join(call, clients, "supervisor")
    child, result = await _join(call, clients, "child")
    wires = {kind: _tap(_receiver_of(child, result, "parent", kind)) for kind in ("audio", "video")}
    call.set_admitted(True)
    await wait_until(lambda: child.frames_from("parent") >= 15, what="parent -> child")

    call.set_paused(True)
    base = supervisor.frames_from("parent")
    await wait_until(lambda: supervisor.frames_from("parent") >= base + 8, what="settle")
    during = {kind: wire.packets for kind, wire in wires.items()}
    base = supervisor.frames_from("parent")
    await wait_until(lambda: supervisor.frames_from("parent") >= base + 20, what="paused a while")
    # A paused route forwards nothing: not one packet, not even a retransmission.
    assert {kind: wire.packets for kind, wire in wires.items()} == during

    resumed_at = {kind: len(wire.media) for kind, wire in wires.items()}
    call.set_paused(False)
    settled = child.frames_from("parent")
    await wait_until(lambda: child.frames_from("parent") >= settled + 15, what="resumed")
    for kind, wire in wires.items():
        assert len(wire.media) > resumed_at[kind] + 10, kind
        assert len(wire.media_ssrcs) == 1, f"{kind}: one SSRC across the pause"
        assert _continuous(wire.media + wire.retransmitted), (
            f"{kind}: a gap in the sequence numbers across the pause"
        )
    assert call.stats().route("parent", "child", "video").frames_forwarded > 0


async def _parent_video_at_the_supervisor(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> tuple[RTCRtpReceiver, Wire]:
    """The supervisor's receiver of the parent's video, tapped, once 40 packets have come."""
    await _join(call, clients, "parent")
    supervisor, result = await _join(call, clients, "supervisor")
    receiver = _receiver_of(supervisor, result, "parent", "video")
    wire = _tap(receiver)
    await wait_until(lambda: len(wire.media) >= 40, what="parent video at the supervisor")
    return receiver, wire


async def test_a_nacked_packet_is_retransmitted(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    receiver, wire = await _parent_video_at_the_supervisor(call, clients)

    (ssrc,) = wire.media_ssrcs
    wanted = wire.media[-5]  # recent: still in the relay's history of 128 packets
    await receiver._send_rtcp_nack(ssrc, [wanted])
    await wait_until(lambda: wanted in wire.retransmitted, what=f"RTX of packet {wanted}")


class _FakeSender:
    """What RelayOutput.send touches on an RTCRtpSender (its sender-report counters)."""

    def __init__(self) -> None:
        self._RTCRtpSender__ntp_timestamp = 0
        self._RTCRtpSender__rtp_timestamp = 0
        self._RTCRtpSender__octet_count = 0
        self._RTCRtpSender__packet_count = 0


def test_a_rebase_after_an_unrecovered_upstream_loss_continues_from_the_newest_packet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[bytes] = []

    def transmit(self: passthrough.RelayOutput, data: bytes) -> bool:
        sent.append(data)
        return True

    monkeypatch.setattr(passthrough.RelayOutput, "_transmit", transmit)
    sender = _FakeSender()
    output = passthrough.RelayOutput(sender)  # type: ignore[arg-type]
    output.ready = True
    output._payload_type = 96
    output._clock_rate = 90_000
    output._ssrc = 1234
    output._ext_prefix = b""
    output._ext_abs_send_time = None

    def forward(seq: int, marker: int = 0) -> int:
        packet = passthrough.RelayPacket(seq, seq * 100, marker, b"\x10\x00\x00", False, 3)
        output.send(packet)
        return int.from_bytes(sent[-1][2:4], "big")

    first = forward(1000)
    assert forward(1001) == (first + 1) & 0xFFFF
    assert forward(1003) == (first + 3) & 0xFFFF  # 1002 never arrived: the receiver NACKs it
    newest = forward(1004, marker=1)
    assert forward(1002) == (first + 2) & 0xFFFF  # a late retransmission keeps its place
    output.rebase()  # e.g. a pause, or a keyframe wait
    assert forward(5000) == (newest + 1) & 0xFFFF
    assert sender._RTCRtpSender__packet_count == 6
    assert sender._RTCRtpSender__octet_count == 18
    assert all(data[8:12] == (1234).to_bytes(4, "big") and data[1] & 0x7F == 96 for data in sent)


async def test_sender_reports_count_the_packets_the_receiver_got(
    call: CallMedia, clients: list[SyntheticParticipant]
) -> None:
    receiver, wire = await _parent_video_at_the_supervisor(call, clients)

    reported: list[tuple[int, int, int]] = []  # the relay's SR: packets, octets; and received

    async def sender_report_arrived() -> bool:
        stats = await receiver.getStats()
        for s in stats.values():
            if s.type == "remote-outbound-rtp" and s.packetsSent >= 40:
                reported.append((s.packetsSent, s.bytesSent, len(wire.media)))
                return True
        return False

    deadline = asyncio.get_running_loop().time() + 60
    while not await sender_report_arrived():
        assert asyncio.get_running_loop().time() < deadline, "no sender report counting packets"
        await asyncio.sleep(0.1)
    packets_sent, octets_sent, received = reported[-1]
    # The relay's sender report counts the packets it forwarded on this leg: not more than
    # arrived by the time it was read here (a few lost on a busy machine aside).
    assert packets_sent <= received + 10
    assert octets_sent > 40 * 3  # payload bytes, a VP8 packet has at least a few
