"""The aiortc/aioice internals the media passthrough patches: a loud failure on upgrade."""

from __future__ import annotations

import aioice.ice
import aiortc
import pytest
from aiortc import (
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    rtcdtlstransport,
    rtcrtpreceiver,
    rtcrtpsender,
)
from aiortc import clock as aiortc_clock
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters

from service.calls import passthrough
from tests.support.synthetic_calls import TEST_HOST


def test_aiortc_internals_we_patch_are_present() -> None:
    assert aiortc.__version__ == passthrough.SUPPORTED_AIORTC_VERSION
    passthrough.assert_supported_aiortc()

    passthrough.install(host_address=TEST_HOST)
    passthrough.install(host_address=TEST_HOST)  # idempotent
    assert passthrough.is_installed()
    # Still true once our wrappers are in place (they keep the original signatures).
    passthrough.assert_supported_aiortc()
    assert rtcrtpreceiver.decoder_worker.__name__ == "_idle_decoder_worker"
    assert RTCRtpReceiver.receive.__wrapped__ is not None  # type: ignore[attr-defined]
    assert RTCRtpSender._send_keyframe.__wrapped__ is not None  # type: ignore[attr-defined]
    # The packet relay's hooks (point 7).
    for hooked in (
        RTCRtpReceiver._handle_rtp_packet,
        rtcdtlstransport.RTCDtlsTransport._handle_rtp_data,
        RTCRtpSender.send,
        RTCRtpSender._retransmit,
        aioice.ice.StunProtocol.datagram_received,
    ):
        assert getattr(hooked, "__wrapped__", None) is not None
    assert aioice.ice.get_host_addresses(True, True) == [TEST_HOST]
    assert aioice.ice.get_host_addresses(False, True) == []


def test_install_refuses_a_second_host_address() -> None:
    passthrough.install(host_address=TEST_HOST)
    with pytest.raises(passthrough.PassthroughError, match="already restricted"):
        passthrough.install(host_address="192.0.2.1")


@pytest.mark.parametrize(
    ("owner", "name", "named_in_error"),
    [
        (rtcrtpreceiver, "decoder_worker", "decoder_worker"),
        (RTCRtpSender, "_send_keyframe", "_send_keyframe"),
        (RTCRtpReceiver, "_send_rtcp_pli", "_send_rtcp_pli"),
        (aioice.ice, "get_host_addresses", "get_host_addresses"),
        (RTCRtpSender, "_retransmit", "_retransmit"),
        (RTCRtpReceiver, "_send_rtcp_nack", "_send_rtcp_nack"),
        (rtcrtpsender, "random_sequence_number", "random_sequence_number"),
        (aioice.ice.StunProtocol, "send_data", "send_data"),
    ],
)
def test_missing_internal_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, named_in_error: str
) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(passthrough.PassthroughError, match=named_in_error):
        passthrough.assert_supported_aiortc()


def test_changed_signature_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_host_addresses(use_ipv4: bool) -> list[str]:
        return []

    monkeypatch.setattr(aioice.ice, "get_host_addresses", get_host_addresses)
    with pytest.raises(passthrough.PassthroughError, match="get_host_addresses"):
        passthrough.assert_supported_aiortc()


def test_vp8_keyframe_detection() -> None:
    assert passthrough.is_vp8_keyframe(b"\x10\x02\x00")  # P bit 0: keyframe
    assert not passthrough.is_vp8_keyframe(b"\x11\x02\x00")
    assert not passthrough.is_vp8_keyframe(b"")


def _first_packet(payload: bytes) -> passthrough.RelayPacket:
    return passthrough.RelayPacket(1, 0, 0, payload, False, len(payload))


def test_vp8_keyframe_start_reads_the_payload_descriptor() -> None:
    # RFC 7741: S=1, PID=0, then the VP8 payload header's bit 0 (0 = keyframe).
    assert _first_packet(b"\x10\x10\x02").is_vp8_keyframe_start()
    assert not _first_packet(b"\x10\x11\x02").is_vp8_keyframe_start()  # a delta frame
    assert not _first_packet(b"\x00\x10\x02").is_vp8_keyframe_start()  # not a frame's start
    assert not _first_packet(b"\x11\x10\x02").is_vp8_keyframe_start()  # partition 1
    # X=1, I=1 with a 15-bit picture ID, L=1, T=1: five descriptor bytes before the header.
    assert _first_packet(b"\x90\xe0\x81\x23\x05\x40\x10").is_vp8_keyframe_start()
    assert not _first_packet(b"\x90\xe0\x81\x23\x05\x40\x11").is_vp8_keyframe_start()
    # X=1, I=1 with a 7-bit picture ID: the header is the fourth byte.
    assert _first_packet(b"\x90\x80\x23\x10").is_vp8_keyframe_start()
    assert not _first_packet(b"\x90\x80\x23").is_vp8_keyframe_start()  # truncated
    assert not _first_packet(b"").is_vp8_keyframe_start()


async def test_a_started_video_receiver_runs_no_bitrate_estimator() -> None:
    passthrough.install(host_address=TEST_HOST)
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video", direction="recvonly")
        receiver = transceiver.receiver
        receiver._track = rtcrtpreceiver.RemoteStreamTrack(kind="video")
        estimator = "_RTCRtpReceiver__remote_bitrate_estimator"
        assert getattr(receiver, estimator) is not None  # aiortc makes one per video receiver
        await receiver.receive(RTCRtpReceiveParameters(codecs=[], encodings=[]))
        assert getattr(receiver, estimator) is None
    finally:
        await pc.close()


def test_the_per_packet_clock_reads_the_same_times_as_aiortcs() -> None:
    passthrough.install(host_address=TEST_HOST)
    for module in (rtcrtpsender, rtcdtlstransport):
        assert module.clock is not aiortc_clock  # type: ignore[attr-defined]
        assert module.clock.current_datetime is aiortc_clock.current_datetime  # type: ignore[attr-defined]
    for _ in range(100):
        before = aiortc_clock.current_ntp_time()
        ours = rtcrtpsender.clock.current_ntp_time()  # type: ignore[attr-defined]
        after = aiortc_clock.current_ntp_time()
        assert before <= ours <= after
        before = aiortc_clock.current_ms()
        ours = rtcdtlstransport.clock.current_ms()  # type: ignore[attr-defined]
        after = aiortc_clock.current_ms()
        assert before <= ours <= after


def test_a_receiver_that_no_longer_keeps_its_estimator_where_we_look_is_detected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = RTCRtpReceiver.__init__

    def __init__(self: RTCRtpReceiver, kind: str, transport: object) -> None:
        original(self, kind, transport)  # type: ignore[arg-type]

    monkeypatch.setattr(RTCRtpReceiver, "__init__", __init__)
    with pytest.raises(passthrough.PassthroughError, match="remote_bitrate_estimator"):
        passthrough.assert_supported_aiortc()


@pytest.mark.parametrize("name", ["current_ntp_time", "current_ms"])
def test_a_changed_aiortc_clock_is_detected(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(aiortc_clock, name, lambda: 0)
    with pytest.raises(passthrough.PassthroughError, match=name):
        passthrough.assert_supported_aiortc()
