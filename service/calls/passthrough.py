"""Encoded-media passthrough for aiortc: the only module that touches aiortc/aioice internals.

aiortc has no public API to forward media without decoding it. This module bends four private
places, all checked by :func:`assert_supported_aiortc` (and by ``tests/calls/test_aiortc_internals.py``)
so that an aiortc upgrade fails loudly instead of silently decoding again:

1. Receive side. ``RTCRtpReceiver`` normally hands each re-assembled encoded frame to a decoder
   thread. We swap the receiver's private decoder queue for :class:`_PassthroughQueue`, which runs on
   the event loop inside ``_handle_rtp_packet``: it wraps the encoded frame as an ``av.Packet`` and
   hands it to a *frame sink* (see :func:`set_frame_sink`) or, without a sink, to the receiver's
   track, so ``track.recv()`` returns ``av.Packet``. No thread hop and no decoding per frame; the
   decoder thread aiortc still starts exits at once.
2. Send side needs no patch: ``RTCRtpSender`` packetizes an ``av.Packet`` as-is.
3. Keyframe requests. A PLI/FIR from a receiver only sets an encoder flag that packets ignore; we
   wrap ``RTCRtpSender._send_keyframe`` to call :meth:`EncodedTrack.on_keyframe_request` so the
   relay can forward it upstream (:func:`request_keyframe`).
4. Host candidates (:func:`restrict_host_candidates`). ``aioice.ice.get_host_addresses`` returns only the configured
   address(es) (one IPv4, one IPv6), so the server advertises exactly those (and 127.0.0.1, which
   aioice skips by default, works for tests and loopback benchmarks).
5. Receiver reports. An RTCP receiver report about one of our senders is routed to
   ``RTCRtpSender._handle_rtcp_packet``; we wrap it to tell a *report listener* (see
   :func:`set_report_listener`): the relay's proof that a participant's machine is still alive,
   whatever its own camera does, and the loss it sees.
6. Per-packet work the relay does not need (``install(lean=True)``, the default), measured with
   ``bench/calls.py``:

   - The receiver's remote bitrate estimator (abs-send-time inter-arrival filter, run for every
     received video packet, about 7 % of the relay's CPU) is switched off, so the relay sends
     no REMB upstream. It only ever estimated the source-to-relay hop; the relay ignores the
     REMB its receivers send, so it never carried the receivers' bandwidth to the source.
     Browsers keep adapting to loss through the RTCP receiver reports, which are unchanged.
   - ``RTCRtpSender`` reads the wall clock as NTP twice per RTP packet, and ``RTCDtlsTransport``
     in milliseconds once per received packet (for the estimator), through ``datetime``
     arithmetic; they get the same values from ``time.time_ns()`` (:func:`_fast_clock`).

7. Packet forwarding (the relay's default; points 1-2 remain for ``CallMedia(forwarding="frames")``
   and for every other connection in the process). For a receiver given a *packet sink*
   (:func:`set_packet_sink`), each RTP packet of its SSRCs (media and RTX) skips
   ``RtpPacket.parse``, ``RTCRtpReceiver._handle_rtp_packet``, the jitter buffer, depayloading,
   ``av.Packet`` and every queue. The first packet of an SSRC still goes aiortc's way (its router
   learns the SSRC); our wrapped ``_handle_rtp_packet`` then registers the SSRC with a
   :class:`_PacketIntake` and installs :class:`_FastReceive` on the leg's aioice ``Connection``;
   aioice's wrapped ``StunProtocol.datagram_received`` hands it the next SRTP packets before
   trying them as STUN: no queue, no task switch, no coroutine per packet. A packet that fails
   to unprotect is dropped, as aiortc drops it. The intake reads the fixed
   header, unwraps RTX, feeds aiortc's own ``StreamStatistics`` (the receiver reports upstream)
   and ``NackGenerator`` (NACKs upstream), and hands the sink a :class:`RelayPacket`.
   A :class:`RelayOutput` (one per relay ``RTCRtpSender``; the parameters it needs are kept by a
   wrapped ``RTCRtpSender.send``) writes the packet out under the sender's SSRC and payload
   type, with the header extensions that leg negotiated (mid, abs-send-time) and a continuous
   sequence number, SRTP-protects it with the DTLS transport's session and hands it to the
   socket of the nominated ICE pair, synchronously. It keeps the sender's packet/octet counts
   and RTP/NTP timestamp pair (its RTCP sender reports) current, keeps the last 128 packets,
   and answers a NACK from them (as RTX when negotiated) through a wrapped
   ``RTCRtpSender._retransmit``. The sender's own RTP task waits on a track that never yields.

These patches are process-wide by nature (they replace module and class attributes), so every
``RTCPeerConnection`` in the process – including test clients – receives ``av.Packet`` instead of
decoded frames once :func:`install` has run. Nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import inspect
import logging
import re
import struct
import threading
import time
import types
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import aioice.ice
import av
import pylibsrtp
from aiortc import RTCRtpCodecCapability, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as _clock
from aiortc import rtcdtlstransport as _rtcdtlstransport
from aiortc import rtcicetransport as _rtcicetransport
from aiortc import rtcrtpreceiver as _rtcrtpreceiver
from aiortc import rtcrtpsender as _rtcrtpsender
from aiortc import rtp as _rtp
from aiortc import sdp as _sdp
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as _DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RtcpRrPacket, RtcpSrPacket, RtpPacket

logger = logging.getLogger(__name__)

SUPPORTED_AIORTC_VERSION: Final = "1.16.0"

#: Codecs the relay forwards. Every leg must negotiate exactly these: the relay never transcodes,
#: so a source and all of its receivers have to agree on the codec.
VIDEO_MIME: Final = "video/VP8"
AUDIO_MIME: Final = "audio/opus"
RTX_MIME: Final = "video/rtx"

# Attribute names of aiortc privates (name-mangled) we read or replace; listed once so the
# check and the code cannot drift apart.
_RECEIVER_QUEUE_ATTR: Final = "_RTCRtpReceiver__decoder_queue"
_RECEIVER_STARTED_ATTR: Final = "_RTCRtpReceiver__started"
_RECEIVER_RTX_ATTR: Final = "_RTCRtpReceiver__rtx_ssrc"
_RECEIVER_ESTIMATOR_ATTR: Final = "_RTCRtpReceiver__remote_bitrate_estimator"
# The aiortc.clock module as these aiortc modules imported it (``from . import clock``).
_CLOCK_ATTR: Final = "clock"
_CLOCK_READERS: Final = (_rtcrtpsender, _rtcdtlstransport)
# Our own attributes on aiortc objects (a frame sink chosen before the receiver starts).
_SINK_ATTR: Final = "_letterbox_frame_sink"
_REPORT_LISTENER_ATTR: Final = "_letterbox_report_listener"
_PACKET_SINK_ATTR: Final = "_letterbox_packet_sink"

if TYPE_CHECKING:
    EncodedPacket: TypeAlias = av.Packet[Any]
else:
    EncodedPacket = av.Packet

FrameSink: TypeAlias = Callable[[EncodedPacket, bool], None]
"""Called on the event loop with each received encoded frame and whether it is a VP8 keyframe."""

ReportListener: TypeAlias = Callable[[float], None]
"""Called on the event loop with the fraction lost (0.0-1.0) of each RTCP report block about a
sender's stream (from a receiver report, or a sender report's report blocks)."""


class PassthroughError(RuntimeError):
    """The installed aiortc/aioice does not have the internals this module relies on."""


class EncodedTrack(MediaStreamTrack):
    """A track whose ``recv()`` returns encoded ``av.Packet`` objects for an ``RTCRtpSender``.

    When the remote receiver of this track asks for a keyframe (RTCP PLI/FIR), the patched sender
    calls :meth:`on_keyframe_request`; override it to forward the request to the media source.
    """

    def on_keyframe_request(self) -> None:
        """Called on the event loop when a receiver of this track asks for a keyframe."""


class _InstallState:
    """The process-wide patch flag: whether install() ran and with which host address."""

    installed: bool = False
    lean: bool = True
    fast_clock: types.ModuleType | None = None
    host_address: str | None = None


def is_vp8_keyframe(data: bytes | memoryview) -> bool:
    """True if ``data`` (a re-assembled VP8 frame, no payload descriptor) is a keyframe.

    RFC 6386 section 9.1: bit 0 of the first byte is the inverse key-frame flag.
    """
    return len(data) > 0 and (data[0] & 0x01) == 0


class _PassthroughQueue:
    """Stands in for a receiver's ``queue.Queue`` of (codec, encoded frame) for the decoder thread.

    ``put`` is called on the event loop by ``RTCRtpReceiver._handle_rtp_packet`` with each
    re-assembled frame, and with ``None`` when the receiver stops. ``get`` is only called by the
    (patched, idle) decoder thread, which returns at once.
    """

    __slots__ = ("_kind", "_loop", "_time_bases", "_track_queue", "sink")

    def __init__(
        self,
        kind: str,
        track_queue: asyncio.Queue[Any],
        loop: asyncio.AbstractEventLoop,
        sink: FrameSink | None,
    ) -> None:
        self._kind = kind
        self._track_queue = track_queue
        self._loop = loop
        # One Fraction per clock rate, not one per packet.
        self._time_bases: dict[int, fractions.Fraction] = {}
        self.sink = sink

    def put(self, item: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        if item is None:
            # The receiver stopped: end its track like aiortc's decoder thread would.
            with contextlib.suppress(RuntimeError):  # loop already closed at interpreter exit
                self._loop.call_soon_threadsafe(self._track_queue.put_nowait, None)
            return
        codec, encoded_frame = item
        data: bytes = encoded_frame.data
        packet = av.Packet(data)
        packet.pts = encoded_frame.timestamp
        time_base = self._time_bases.get(codec.clockRate)
        if time_base is None:
            time_base = self._time_bases[codec.clockRate] = fractions.Fraction(1, codec.clockRate)
        packet.time_base = time_base
        keyframe = self._kind == "video" and is_vp8_keyframe(data)
        sink = self.sink
        if sink is None:
            self._track_queue.put_nowait(packet)
            return
        try:
            sink(packet, keyframe)
        except Exception:
            # A failing sink must not break aiortc's RTP handling for this connection.
            logger.exception("frame sink failed")

    def get(self) -> None:
        return None


def _idle_decoder_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: object,
    output_q: object,
    decode_error: threading.Event,
) -> None:
    """Replaces aiortc's decoder thread body: with the passthrough there is nothing to decode."""
    return None


def _wrap_receive(original: Callable[..., Any]) -> Callable[..., Any]:
    async def receive(self: RTCRtpReceiver, parameters: Any) -> None:
        track = self._track
        if not getattr(self, _RECEIVER_STARTED_ATTR) and _InstallState.lean:
            # No REMB: the estimator runs per received packet for a figure the relay never uses.
            setattr(self, _RECEIVER_ESTIMATOR_ATTR, None)
        if not getattr(self, _RECEIVER_STARTED_ATTR) and track is not None:
            setattr(
                self,
                _RECEIVER_QUEUE_ATTR,
                _PassthroughQueue(
                    kind=track.kind,
                    track_queue=track._queue,
                    loop=asyncio.get_running_loop(),
                    sink=getattr(self, _SINK_ATTR, None),
                ),
            )
        await original(self, parameters)
        sink: PacketSink | None = getattr(self, _PACKET_SINK_ATTR, None)
        if sink is not None and getattr(self, _INTAKE_ATTR, None) is None:
            setattr(self, _INTAKE_ATTR, _PacketIntake(self, sink))

    receive.__wrapped__ = original  # type: ignore[attr-defined]
    return receive


def _wrap_send_keyframe(original: Callable[[RTCRtpSender], None]) -> Callable[[RTCRtpSender], None]:
    def _send_keyframe(self: RTCRtpSender) -> None:
        original(self)
        track = self.track
        if isinstance(track, EncodedTrack):
            try:
                track.on_keyframe_request()
            except Exception:
                logger.exception("keyframe request handler failed")

    _send_keyframe.__wrapped__ = original  # type: ignore[attr-defined]
    return _send_keyframe


def _wrap_sender_rtcp(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _handle_rtcp_packet(self: RTCRtpSender, packet: Any) -> None:
        listener: ReportListener | None = getattr(self, _REPORT_LISTENER_ATTR, None)
        if listener is not None and isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == self._ssrc:
                    try:
                        listener(report.fraction_lost / 256.0)
                    except Exception:
                        logger.exception("report listener failed")
        await original(self, packet)

    _handle_rtcp_packet.__wrapped__ = original  # type: ignore[attr-defined]
    return _handle_rtcp_packet


# Seconds from the NTP epoch (1900) to the Unix epoch (1970).
_NTP_UNIX_OFFSET: Final = 2_208_988_800


def _ntp_now() -> int:
    """``aiortc.clock.current_ntp_time()`` (64-bit NTP, microsecond resolution) without datetime."""
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    return ((seconds + _NTP_UNIX_OFFSET) << 32) | (((nanoseconds // 1000) << 32) // 1_000_000)


def _ms_now() -> int:
    """``aiortc.clock.current_ms()`` (milliseconds since the NTP epoch) without datetime."""
    return time.time_ns() // 1_000_000 + _NTP_UNIX_OFFSET * 1000


def _fast_clock() -> types.ModuleType:
    """A stand-in for the ``clock`` module the sender and the DTLS transport read: the same
    functions, with :func:`_ntp_now` and :func:`_ms_now` for the two read per packet."""
    shim = types.ModuleType("letterbox_fast_clock")
    for name in dir(_clock):
        if not name.startswith("__"):
            setattr(shim, name, getattr(_clock, name))
    shim.current_ntp_time = _ntp_now  # type: ignore[attr-defined]
    shim.current_ms = _ms_now  # type: ignore[attr-defined]
    return shim


# ----------------------------------------------------------------------------- packet relay (point 7)
_INTAKE_ATTR: Final = "_letterbox_packet_intake"
_INTAKES_BY_SSRC_ATTR: Final = "_letterbox_intakes_by_ssrc"
_SEND_PARAMETERS_ATTR: Final = "_letterbox_send_parameters"
_OUTPUT_ATTR: Final = "_letterbox_relay_output"
_FAST_RECEIVE_ATTR: Final = "_letterbox_fast_receive"
_RECEIVER_CODECS_ATTR: Final = "_RTCRtpReceiver__codecs"
_RECEIVER_STREAMS_ATTR: Final = "_RTCRtpReceiver__remote_streams"
_RECEIVER_NACK_ATTR: Final = "_RTCRtpReceiver__nack_generator"
_MID_URI: Final = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME_URI: Final = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_HISTORY_SIZE: Final = _rtp.RTP_HISTORY_SIZE
_unpack_seq_ts_ssrc = struct.Struct("!HII").unpack_from
_pack_header = struct.Struct("!BBHII").pack


class RelayPacket:
    """One received media packet (RTX already unwrapped), as a packet sink gets it."""

    __slots__ = ("body", "marker", "padded", "payload_size", "sequence_number", "timestamp")

    def __init__(
        self,
        sequence_number: int,
        timestamp: int,
        marker: int,
        body: bytes,
        padded: bool,
        payload_size: int,
    ) -> None:
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.marker = marker
        self.body = body  # the RTP payload, followed by its padding if ``padded``
        self.padded = padded
        self.payload_size = payload_size  # without padding

    def is_vp8_keyframe_start(self) -> bool:
        """True if this packet starts a VP8 keyframe (RFC 7741 section 4.2/4.3): S=1, PID=0,
        and the VP8 payload header's inverse key-frame bit (bit 0) is 0."""
        body = self.body
        n = self.payload_size
        if n < 1:
            return False
        b0 = body[0]
        if not b0 & 0x10 or b0 & 0x07:
            return False
        i = 1
        if b0 & 0x80:  # X: extended control bits
            if n < 2:
                return False
            x = body[1]
            i = 2
            if x & 0x80:  # I: picture ID, 7 or 15 bits
                if n <= i:
                    return False
                i += 2 if body[i] & 0x80 else 1
            if x & 0x40:  # L: TL0PICIDX
                i += 1
            if x & 0x30:  # T or K: TID/Y/KEYIDX
                i += 1
        return n > i and not body[i] & 0x01


PacketSink: TypeAlias = Callable[[RelayPacket], None]
"""Called on the event loop with each media packet received on a relay leg."""


class _SeqTs:
    """The two fields aiortc's StreamStatistics and NackGenerator read from an RtpPacket."""

    __slots__ = ("sequence_number", "timestamp")

    def __init__(self) -> None:
        self.sequence_number = 0
        self.timestamp = 0


class _PacketIntake:
    """The receive half of one relay receiver (see point 7)."""

    __slots__ = (
        "_clock_rates",
        "_media_pts",
        "_nack",
        "_receiver",
        "_rtx_apt",
        "_rtx_ssrc",
        "_scratch",
        "_streams",
        "media_ssrc",
        "sink",
    )

    def __init__(self, receiver: RTCRtpReceiver, sink: PacketSink) -> None:
        codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER_CODECS_ATTR)
        self._receiver = receiver
        self.sink = sink
        self._clock_rates = {pt: c.clockRate for pt, c in codecs.items()}
        self._rtx_apt: dict[int, int] = {}
        for pt, codec in codecs.items():
            apt = codec.parameters.get("apt")
            if is_rtx(codec) and isinstance(apt, int) and apt in codecs:
                self._rtx_apt[pt] = apt
        self._media_pts = frozenset(pt for pt in codecs if pt not in self._rtx_apt)
        self._rtx_ssrc: dict[int, int] = getattr(receiver, _RECEIVER_RTX_ATTR)
        self._streams: dict[int, Any] = getattr(receiver, _RECEIVER_STREAMS_ATTR)
        self._nack: Any = getattr(receiver, _RECEIVER_NACK_ATTR)
        self._scratch = _SeqTs()
        self.media_ssrc: int | None = None

    def handle(self, data: bytes) -> Coroutine[Any, Any, None] | None:
        """One decrypted RTP packet; returns a NACK to await, if one is due."""
        n = len(data)
        b0 = data[0]
        start = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:  # header extension: skipped, the output writes its own
            if n < start + 4:
                return None
            start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
        end = n - data[-1] if b0 & 0x20 else n
        if end < start:
            return None
        seq, timestamp, ssrc = _unpack_seq_ts_ssrc(data, 2)
        b1 = data[1]
        return self._process(ssrc, b1 & 0x7F, seq, timestamp, b1 >> 7, data, start, end)

    def handle_parsed(self, packet: RtpPacket) -> Coroutine[Any, Any, None] | None:
        """The first packet of an SSRC, which aiortc parsed to route it."""
        payload = packet.payload
        return self._process(
            packet.ssrc,
            packet.payload_type,
            packet.sequence_number,
            packet.timestamp,
            packet.marker,
            payload,
            0,
            len(payload),
        )

    def _process(
        self,
        ssrc: int,
        payload_type: int,
        seq: int,
        timestamp: int,
        marker: int,
        data: bytes,
        start: int,
        end: int,
    ) -> Coroutine[Any, Any, None] | None:
        scratch = self._scratch
        scratch.sequence_number = seq
        scratch.timestamp = timestamp
        stream = self._streams.get(ssrc)
        if stream is None:
            clock_rate = self._clock_rates.get(payload_type)
            if clock_rate is None:
                return None
            stream = self._streams[ssrc] = _rtcrtpreceiver.StreamStatistics(clock_rate)
        stream.add(scratch)  # type: ignore[arg-type]
        apt = self._rtx_apt.get(payload_type)
        if apt is not None:
            media_ssrc = self._rtx_ssrc.get(ssrc)
            if media_ssrc is None or end - start < 2:
                return None
            seq = int.from_bytes(data[start : start + 2], "big")
            ssrc = media_ssrc
            scratch.sequence_number = seq
            body = data[start + 2 : end]
            padded = False
        elif payload_type in self._media_pts:
            body = data[start:] if start else data
            padded = end != len(data)
        else:
            return None
        self.media_ssrc = ssrc
        nack = None
        generator = self._nack
        if generator is not None and generator.add(scratch):
            nack = self._receiver._send_rtcp_nack(ssrc, sorted(generator.missing))
        packet = RelayPacket(
            seq, timestamp, marker, body, padded, end - start - (apt is not None) * 2
        )
        try:
            self.sink(packet)
        except Exception:
            logger.exception("packet sink failed")
        return nack


class _FastReceive:
    """Takes a relay leg's SRTP media packets straight from the ICE connection's datagram
    callback (no queue, no task switch, no coroutine per packet): unprotects them with the
    DTLS transport's SRTP session and hands them to the intake of their SSRC. Anything else
    (DTLS, RTCP, unknown SSRCs, a transport not yet or no longer connected) goes the usual way."""

    __slots__ = ("_dtls", "_intakes", "_tasks")

    def __init__(self, dtls: RTCDtlsTransport, intakes: dict[int, _PacketIntake]) -> None:
        self._dtls = dtls
        self._intakes = intakes
        self._tasks: set[asyncio.Task[None]] = set()

    def take(self, data: bytes) -> bool:
        """True if ``data`` was handled here."""
        if not 127 < data[0] < 192 or len(data) < 12 or _rtp.is_rtcp(data):
            return False
        intake = self._intakes.get(int.from_bytes(data[8:12], "big"))
        dtls = self._dtls
        if intake is None or dtls._state is not _DtlsState.CONNECTED or dtls._rx_srtp is None:
            return False
        dtls._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
        try:
            plain = dtls._rx_srtp.unprotect(data)
        except pylibsrtp.Error:
            return True  # dropped, as aiortc drops a packet that fails to unprotect
        nack = intake.handle(plain)
        if nack is not None:
            task = asyncio.ensure_future(nack)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True


def _wrap_datagram_received(original: Callable[..., None]) -> Callable[..., None]:
    def datagram_received(self: aioice.ice.StunProtocol, data: bytes, addr: Any) -> None:
        # Before aioice tries (and fails) to parse a relay leg's media packet as STUN.
        fast: _FastReceive | None = self.receiver.__dict__.get(_FAST_RECEIVE_ATTR)
        if fast is not None and fast.take(data):
            return
        original(self, data, addr)

    datagram_received.__wrapped__ = original  # type: ignore[attr-defined]
    return datagram_received


def _wrap_handle_rtp_data(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _handle_rtp_data(self: Any, data: bytes, arrival_time_ms: int) -> None:
        intakes: dict[int, _PacketIntake] | None = self.__dict__.get(_INTAKES_BY_SSRC_ATTR)
        if intakes and len(data) >= 12:
            intake = intakes.get(int.from_bytes(data[8:12], "big"))
            if intake is not None:
                nack = intake.handle(data)
                if nack is not None:
                    await nack
                return
        await original(self, data, arrival_time_ms)

    _handle_rtp_data.__wrapped__ = original  # type: ignore[attr-defined]
    return _handle_rtp_data


def _wrap_handle_rtp_packet(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _handle_rtp_packet(
        self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int
    ) -> None:
        intake: _PacketIntake | None = getattr(self, _INTAKE_ATTR, None)
        if intake is None:
            await original(self, packet, arrival_time_ms)
            return
        # aiortc routed a new SSRC here: from now on its packets skip parsing and routing.
        transport = self.transport
        intakes = transport.__dict__.setdefault(_INTAKES_BY_SSRC_ATTR, {})
        intakes[packet.ssrc] = intake
        connection = transport.transport._connection
        if _FAST_RECEIVE_ATTR not in connection.__dict__:
            setattr(connection, _FAST_RECEIVE_ATTR, _FastReceive(transport, intakes))
        nack = intake.handle_parsed(packet)
        if nack is not None:
            await nack

    _handle_rtp_packet.__wrapped__ = original  # type: ignore[attr-defined]
    return _handle_rtp_packet


def _wrap_sender_send(original: Callable[..., Any]) -> Callable[..., Any]:
    async def send(self: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
        if not hasattr(self, _SEND_PARAMETERS_ATTR):
            setattr(self, _SEND_PARAMETERS_ATTR, parameters)
        await original(self, parameters)

    send.__wrapped__ = original  # type: ignore[attr-defined]
    return send


def _wrap_retransmit(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _retransmit(self: RTCRtpSender, sequence_number: int) -> None:
        output: RelayOutput | None = getattr(self, _OUTPUT_ATTR, None)
        if output is None:
            await original(self, sequence_number)
        else:
            output.retransmit(sequence_number)

    _retransmit.__wrapped__ = original  # type: ignore[attr-defined]
    return _retransmit


class RelayOutput:
    """Writes relayed packets out through one ``RTCRtpSender``'s transport (see point 7).

    Sequence numbers and timestamps are shifted per output so that the receiver sees one
    continuous stream: :meth:`rebase` (after packets were skipped, or a new source stream) makes
    the next packet follow the last one sent.
    """

    __slots__ = (
        "_addr",
        "_clock_rate",
        "_dtls",
        "_ext_abs_send_time",
        "_ext_prefix",
        "_history",
        "_ice",
        "_last_sent_at",
        "_last_seq",
        "_last_ts",
        "_pair",
        "_payload_type",
        "_rebase",
        "_rtx_payload_type",
        "_rtx_seq",
        "_rtx_ssrc",
        "_sender",
        "_seq_offset",
        "_ssrc",
        "_ts_offset",
        "_udp",
        "packets_sent",
        "ready",
    )

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self.ready = False
        self._rebase = True
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = _rtcrtpsender.random_sequence_number()
        self._last_ts: int | None = None
        self._last_sent_at = 0.0
        self._history: list[tuple[bytes, int] | None] = [None] * _HISTORY_SIZE
        self._rtx_seq = _rtcrtpsender.random_sequence_number()
        self._pair: Any = None
        self._udp: Any = None
        self._addr: Any = None
        self.packets_sent = 0
        setattr(sender, _OUTPUT_ATTR, self)

    def _configure(self) -> bool:
        parameters: RTCRtpSendParameters | None = getattr(self._sender, _SEND_PARAMETERS_ATTR, None)
        if parameters is None or not parameters.codecs:
            return False
        sender = self._sender
        codec = parameters.codecs[0]
        if codec.payloadType is None:
            return False
        self._payload_type: int = codec.payloadType
        self._clock_rate = codec.clockRate
        self._rtx_payload_type = next(
            (
                c.payloadType
                for c in parameters.codecs
                if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        self._ssrc = sender._ssrc
        self._rtx_ssrc = sender._rtx_ssrc
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        prefix = b""
        mid = parameters.muxId
        if _MID_URI in ids and mid:
            raw = mid.encode("utf8")
            prefix = bytes([(ids[_MID_URI] << 4) | (len(raw) - 1)]) + raw
        self._ext_abs_send_time = (
            bytes([(ids[_ABS_SEND_TIME_URI] << 4) | 2]) if _ABS_SEND_TIME_URI in ids else None
        )
        self._ext_prefix = prefix
        self._dtls = sender.transport
        self._ice = self._dtls.transport._connection
        self.ready = True
        return True

    def rebase(self) -> None:
        """The next packet follows the last one sent (sequence number and timestamp)."""
        self._rebase = True

    def _extensions(self, ntp: int) -> bytes:
        ext = self._ext_prefix
        if self._ext_abs_send_time is not None:
            ext += self._ext_abs_send_time + ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")
        if not ext:
            return b""
        ext += b"\x00" * (-len(ext) % 4)
        return b"\xbe\xde" + (len(ext) // 4).to_bytes(2, "big") + ext

    def send(self, packet: RelayPacket) -> None:
        if not self.ready and not self._configure():
            return
        if self._rebase:
            self._rebase = False
            self._seq_offset = (self._last_seq + 1 - packet.sequence_number) & 0xFFFF
            if self._last_ts is None:
                self._ts_offset = 0
            else:
                elapsed = int((time.monotonic() - self._last_sent_at) * self._clock_rate)
                self._ts_offset = (self._last_ts + max(1, elapsed) - packet.timestamp) & 0xFFFFFFFF
        seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        ntp = _ntp_now()
        ext = self._extensions(ntp)
        header = _pack_header(
            0x80 | (0x20 if packet.padded else 0) | (0x10 if ext else 0),
            (packet.marker << 7) | self._payload_type,
            seq,
            timestamp,
            self._ssrc,
        )
        data = header + ext + packet.body
        if not self._transmit(data):
            return
        self._history[seq % _HISTORY_SIZE] = (data, seq)
        # The newest packet so far (a gap the source never filled still counts; a late
        # retransmission does not): the next rebase continues from it.
        if self._last_ts is None or 0 < (seq - self._last_seq) & 0xFFFF < 0x8000:
            self._last_seq = seq
            self._last_ts = timestamp
            self._last_sent_at = time.monotonic()
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]
        sender._RTCRtpSender__rtp_timestamp = timestamp  # type: ignore[attr-defined]
        sender._RTCRtpSender__octet_count += packet.payload_size  # type: ignore[attr-defined]
        sender._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]
        self.packets_sent += 1

    def retransmit(self, sequence_number: int) -> None:
        """Answer a NACK from the history: as RTX if negotiated, else the packet itself."""
        if not self.ready:
            return
        kept = self._history[sequence_number % _HISTORY_SIZE]
        if kept is None or kept[1] != sequence_number:
            return
        data = kept[0]
        if self._rtx_payload_type is not None:
            b0 = data[0]
            start = 12 + 4 * (b0 & 0x0F)
            if b0 & 0x10:
                start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
            end = len(data) - data[-1] if b0 & 0x20 else len(data)
            ts = int.from_bytes(data[4:8], "big")
            ext = self._extensions(_ntp_now())
            rtx_payload_type: int = self._rtx_payload_type
            data = (
                _pack_header(
                    0x90 if ext else 0x80,
                    (data[1] & 0x80) | rtx_payload_type,
                    self._rtx_seq,
                    ts,
                    self._rtx_ssrc,
                )
                + ext
                + sequence_number.to_bytes(2, "big")
                + data[start:end]
            )
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        self._transmit(data)

    def _transmit(self, data: bytes) -> bool:
        dtls = self._dtls
        if dtls._state is not _DtlsState.CONNECTED:
            return False
        pair = self._ice._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            self._pair = pair
            self._udp = pair.protocol.transport
            self._addr = pair.remote_addr
        protected = dtls._tx_srtp.protect(data)
        self._udp.sendto(protected, self._addr)
        dtls._RTCDtlsTransport__tx_bytes += len(protected)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__tx_packets += 1  # type: ignore[attr-defined]
        return True


def set_packet_sink(receiver: RTCRtpReceiver, sink: PacketSink) -> None:
    """Hand this receiver's media packets to ``sink`` (point 7) once it starts receiving.

    Call before the receiver starts (right after ``setRemoteDescription``). Its track then
    receives nothing.
    """
    setattr(receiver, _PACKET_SINK_ATTR, sink)


def relay_output(sender: RTCRtpSender) -> RelayOutput:
    """The packet writer of ``sender`` (point 7); it works once the sender has started."""
    output: RelayOutput | None = getattr(sender, _OUTPUT_ATTR, None)
    return output if output is not None else RelayOutput(sender)


def _restricted_host_addresses(addresses: tuple[str, ...]) -> Callable[[bool, bool], list[str]]:
    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]

    return get_host_addresses


def _params(func: object) -> list[str]:
    target = inspect.unwrap(func)  # type: ignore[arg-type]
    return list(inspect.signature(target).parameters)


def _source(obj: object) -> str:
    return inspect.getsource(inspect.unwrap(obj))  # type: ignore[arg-type]


def _internals_checks() -> list[tuple[str, Callable[[], bool]]]:
    """(what we rely on, check) pairs; a check may also fail by raising."""
    import aiortc

    receiver = RTCRtpReceiver
    sender = RTCRtpSender
    dtls = RTCDtlsTransport
    return [
        (
            f"aiortc version {SUPPORTED_AIORTC_VERSION}",
            lambda: bool(aiortc.__version__ == SUPPORTED_AIORTC_VERSION),
        ),
        # 1. receive side
        (
            "aiortc.rtcrtpreceiver.decoder_worker(loop, input_q, output_q, decode_error)",
            lambda: (
                _params(_rtcrtpreceiver.decoder_worker)
                == ["loop", "input_q", "output_q", "decode_error"]
            ),
        ),
        (
            "RTCRtpReceiver.receive(self, parameters) starting decoder_worker with "
            "self.__decoder_queue and self._track._queue once (self.__started)",
            lambda: (
                _params(receiver.receive) == ["self", "parameters"]
                and all(
                    text in _source(receiver.receive)
                    for text in (
                        "target=decoder_worker",
                        "self.__decoder_queue",
                        "self._track._queue",
                        "if not self.__started",
                    )
                )
            ),
        ),
        (
            "RTCRtpReceiver._handle_rtp_packet putting (codec, encoded_frame) on "
            "self.__decoder_queue",
            lambda: (
                "self.__decoder_queue.put((codec, encoded_frame))"
                in _source(receiver._handle_rtp_packet)
            ),
        ),
        (
            "RTCRtpReceiver stopping its decoder with self.__decoder_queue.put(None)",
            lambda: "self.__decoder_queue.put(None)" in inspect.getsource(receiver),
        ),
        (
            "aiortc.jitterbuffer.JitterFrame.data / .timestamp",
            lambda: all(
                text in inspect.getsource(JitterFrame)
                for text in ("self.data = data", "self.timestamp = timestamp")
            ),
        ),
        (
            "RemoteStreamTrack._queue",
            lambda: "self._queue" in _source(_rtcrtpreceiver.RemoteStreamTrack.__init__),
        ),
        # 2. send side: av.Packet input is packetized, not encoded
        (
            "RTCRtpSender._next_encoded_frame packing av.Packet input (self.__encoder.pack)",
            lambda: "self.__encoder.pack(data)" in _source(sender._next_encoded_frame),
        ),
        # 3. keyframe requests
        (
            "RTCRtpSender._send_keyframe(self)",
            lambda: _params(sender._send_keyframe) == ["self"],
        ),
        (
            "RTCRtpSender._handle_rtcp_packet calling self._send_keyframe() on PLI/FIR",
            lambda: "self._send_keyframe()" in _source(sender._handle_rtcp_packet),
        ),
        # 5. receiver reports
        (
            "async RTCRtpSender._handle_rtcp_packet(self, packet) reading RR/SR report blocks "
            "by self._ssrc",
            lambda: (
                _params(sender._handle_rtcp_packet) == ["self", "packet"]
                and inspect.iscoroutinefunction(inspect.unwrap(sender._handle_rtcp_packet))
                and "x.ssrc == self._ssrc" in _source(sender._handle_rtcp_packet)
            ),
        ),
        (
            "async RTCRtpReceiver._send_rtcp_pli(self, media_ssrc)",
            lambda: (
                _params(receiver._send_rtcp_pli) == ["self", "media_ssrc"]
                and inspect.iscoroutinefunction(receiver._send_rtcp_pli)
            ),
        ),
        # 6. per-packet work skipped
        (
            "RTCRtpReceiver.__remote_bitrate_estimator, set in __init__ and skipped by "
            "_handle_rtp_packet when None",
            lambda: (
                "self.__remote_bitrate_estimator = RemoteBitrateEstimator()"
                in _source(receiver.__init__)
                and "if self.__remote_bitrate_estimator is not None:"
                in _source(receiver._handle_rtp_packet)
            ),
        ),
        (
            "aiortc.rtcrtpsender and aiortc.rtcdtlstransport reading the wall clock through "
            "aiortc.clock (clock.current_ntp_time() per packet sent, clock.current_ms() per "
            "packet received)",
            lambda: (
                all(
                    getattr(module, _CLOCK_ATTR) in (_clock, _InstallState.fast_clock)
                    for module in _CLOCK_READERS
                )
                and "clock.current_ntp_time()" in _source(sender._run_rtp)
                and "clock.current_ms()" in _source(_rtcdtlstransport.RTCDtlsTransport._recv_next)
                and _source(_clock.current_ms)
                .strip()
                .endswith("return int(delta.total_seconds() * 1000)")
                and abs(_ms_now() - _clock.current_ms()) < 100
                and _source(_clock.current_ntp_time)
                .strip()
                .endswith("return datetime_to_ntp(current_datetime())")
                and abs(_ntp_now() - _clock.current_ntp_time()) < (1 << 32) // 10
            ),
        ),
        (
            "RTCRtpReceiver.__rtx_ssrc",
            lambda: "self.__rtx_ssrc: dict[int, int]" in _source(receiver.__init__),
        ),
        # 7. packet relay: receive side
        (
            "async RTCDtlsTransport._handle_rtp_data(self, data, arrival_time_ms) routing an "
            "RtpPacket.parse'd packet with self._rtp_router.route_rtp to "
            "receiver._handle_rtp_packet(packet, arrival_time_ms=...)",
            lambda: (
                _params(dtls._handle_rtp_data) == ["self", "data", "arrival_time_ms"]
                and inspect.iscoroutinefunction(inspect.unwrap(dtls._handle_rtp_data))
                and all(
                    text in _source(dtls._handle_rtp_data)
                    for text in (
                        "RtpPacket.parse(data, self._rtp_header_extensions_map)",
                        "self._rtp_router.route_rtp(packet)",
                        "receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)",
                    )
                )
            ),
        ),
        (
            "async RTCRtpReceiver._handle_rtp_packet(self, packet, arrival_time_ms)",
            lambda: (
                _params(receiver._handle_rtp_packet) == ["self", "packet", "arrival_time_ms"]
                and inspect.iscoroutinefunction(inspect.unwrap(receiver._handle_rtp_packet))
            ),
        ),
        (
            "RTCRtpReceiver.__codecs, __remote_streams (StreamStatistics by SSRC, read by "
            "_run_rtcp for receiver reports) and __nack_generator (NackGenerator for video)",
            lambda: (
                all(
                    text in _source(receiver.__init__)
                    for text in (
                        "self.__codecs: dict[int, RTCRtpCodecParameters] = {}",
                        "self.__remote_streams: dict[int, StreamStatistics] = {}",
                        "self.__nack_generator = NackGenerator()",
                    )
                )
                and "self.__remote_streams.items()" in _source(receiver._run_rtcp)
                and _params(_rtcrtpreceiver.StreamStatistics.__init__) == ["self", "clockrate"]
            ),
        ),
        (
            "StreamStatistics.add and NackGenerator.add reading only packet.sequence_number "
            "and packet.timestamp",
            lambda: (
                all(
                    set(re.findall(r"packet\.(\w+)", _source(method)))
                    <= {"sequence_number", "timestamp"}
                    for method in (
                        _rtcrtpreceiver.StreamStatistics.add,
                        _rtcrtpreceiver.NackGenerator.add,
                    )
                )
                and "self.missing" in _source(_rtcrtpreceiver.NackGenerator.__init__)
            ),
        ),
        (
            "async RTCRtpReceiver._send_rtcp_nack(self, media_ssrc, lost)",
            lambda: (
                _params(receiver._send_rtcp_nack) == ["self", "media_ssrc", "lost"]
                and inspect.iscoroutinefunction(receiver._send_rtcp_nack)
            ),
        ),
        (
            "RTCDtlsTransport._rx_srtp / _tx_srtp (pylibsrtp Session), _state (State.CONNECTED) "
            "and its __rx/__tx byte and packet counters",
            lambda: (
                all(
                    text in _source(dtls.__init__)
                    for text in (
                        "self._rx_srtp: Session = None",
                        "self._tx_srtp: Session = None",
                        "self.__rx_bytes = 0",
                        "self.__rx_packets = 0",
                        "self.__tx_bytes = 0",
                        "self.__tx_packets = 0",
                    )
                )
                and "data = self._rx_srtp.unprotect(data)" in _source(dtls._recv_next)
                and "if self._state != State.CONNECTED:" in _source(dtls._send_rtp)
                and "data = self._tx_srtp.protect(data)" in _source(dtls._send_rtp)
                and "await self.transport._send(data)" in _source(dtls._send_rtp)
                and hasattr(pylibsrtp.Session, "protect")
                and hasattr(pylibsrtp.Session, "unprotect")
            ),
        ),
        (
            "aiortc RTCIceTransport._connection (aioice Connection) sending and receiving",
            lambda: (
                "self._connection = gatherer._connection"
                in _source(_rtcicetransport.RTCIceTransport.__init__)
                and "self._send = self._connection.send"
                in _source(_rtcicetransport.RTCIceTransport.__init__)
                and "self._recv = self._connection.recv"
                in _source(_rtcicetransport.RTCIceTransport.__init__)
            ),
        ),
        (
            "aioice StunProtocol.datagram_received(self, data, addr) handing what is not STUN "
            "to self.receiver.data_received (Connection), which queues it",
            lambda: (
                _params(aioice.ice.StunProtocol.datagram_received) == ["self", "data", "addr"]
                and all(
                    text in _source(aioice.ice.StunProtocol.datagram_received)
                    for text in (
                        "message = stun.parse_message(data)",
                        "self.receiver.data_received(data, self.local_candidate.component)",
                    )
                )
                and "self.receiver = receiver" in _source(aioice.ice.StunProtocol.__init__)
                and "self._queue.put_nowait((data, component))"
                in _source(aioice.ice.Connection.data_received)
            ),
        ),
        (
            "aioice Connection.sendto sending on self._nominated[component] through "
            "pair.protocol.send_data(data, pair.remote_addr), which is transport.sendto",
            lambda: (
                "active_pair = self._nominated.get(component)"
                in _source(aioice.ice.Connection.sendto)
                and "active_pair.protocol.send_data(data, active_pair.remote_addr)"
                in _source(aioice.ice.Connection.sendto)
                and _source(aioice.ice.StunProtocol.send_data)
                .strip()
                .endswith("self.transport.sendto(data, addr)")
            ),
        ),
        # 7. packet relay: send side
        (
            "async RTCRtpSender.send(self, parameters) and _retransmit(self, sequence_number) "
            "answering NACKs",
            lambda: (
                _params(sender.send) == ["self", "parameters"]
                and _params(sender._retransmit) == ["self", "sequence_number"]
                and inspect.iscoroutinefunction(inspect.unwrap(sender._retransmit))
                and "await self._retransmit(seq)" in _source(sender._handle_rtcp_packet)
            ),
        ),
        (
            "RTCRtpSender._ssrc, _rtx_ssrc and the sender report's __ntp_timestamp, "
            "__rtp_timestamp, __packet_count, __octet_count",
            lambda: (
                all(
                    text in _source(sender.__init__)
                    for text in (
                        "self._ssrc = random32()",
                        "self._rtx_ssrc = random32()",
                        "self.__ntp_timestamp = 0",
                        "self.__rtp_timestamp = 0",
                        "self.__octet_count = 0",
                        "self.__packet_count = 0",
                    )
                )
                and all(
                    text in _source(sender._run_rtcp)
                    for text in (
                        "ntp_timestamp=self.__ntp_timestamp",
                        "rtp_timestamp=self.__rtp_timestamp",
                        "packet_count=self.__packet_count & 0xFFFFFFFF",
                        "octet_count=self.__octet_count & 0xFFFFFFFF",
                    )
                )
                and "packetsSent=self.__packet_count" in _source(sender.getStats)
            ),
        ),
        (
            "aiortc.rtcrtpsender.random_sequence_number(), aiortc.rtp.is_rtcp(msg), "
            "aiortc.rtp.RTP_HISTORY_SIZE",
            lambda: (
                _params(_rtcrtpsender.random_sequence_number) == []
                and _params(_rtp.is_rtcp) == ["msg"]
                and _rtp.RTP_HISTORY_SIZE == _HISTORY_SIZE
            ),
        ),
        # 4. host candidates
        (
            "aioice.ice.get_host_addresses(use_ipv4, use_ipv6)",
            lambda: _params(aioice.ice.get_host_addresses) == ["use_ipv4", "use_ipv6"],
        ),
        (
            "aioice.ice.Connection.gather_candidates calling get_host_addresses()",
            lambda: "get_host_addresses(" in _source(aioice.ice.Connection.gather_candidates),
        ),
    ]


def assert_supported_aiortc() -> None:
    """Check every private aiortc/aioice attribute this module relies on.

    Raises PassthroughError naming the first one that is missing or changed. Safe to call before
    or after :func:`install`.
    """
    for what, check in _internals_checks():
        try:
            ok = check()
        except (AttributeError, TypeError, ValueError, OSError) as exc:
            ok = False
            what = f"{what} ({type(exc).__name__}: {exc})"
        if not ok:
            raise PassthroughError(
                f"aiortc internals changed: {what} is missing or different. The media relay "
                f"(service/calls/passthrough.py) was written for aiortc "
                f"{SUPPORTED_AIORTC_VERSION}; review it before upgrading."
            )


def install(*, host_address: str | None = None, lean: bool = True) -> None:
    """Install the passthrough patches process-wide. Idempotent; call once at start-up.

    ``host_address``: see :func:`restrict_host_candidates`; ``None`` keeps aioice's default
    (every interface except loopback). ``lean``: skip the per-packet work the relay does not
    need (point 6 above); ``False`` only to measure what it saves.
    """
    if host_address is not None:
        restrict_host_candidates(host_address)
    if _InstallState.installed:
        if lean != _InstallState.lean:
            raise PassthroughError(f"passthrough already installed with lean={_InstallState.lean}")
        return
    assert_supported_aiortc()
    _rtcrtpreceiver.decoder_worker = _idle_decoder_worker
    RTCRtpReceiver.receive = _wrap_receive(RTCRtpReceiver.receive)  # type: ignore[method-assign]
    RTCRtpSender._send_keyframe = _wrap_send_keyframe(  # type: ignore[method-assign,assignment]
        RTCRtpSender._send_keyframe
    )
    RTCRtpSender._handle_rtcp_packet = _wrap_sender_rtcp(  # type: ignore[method-assign]
        RTCRtpSender._handle_rtcp_packet
    )
    RTCRtpReceiver._handle_rtp_packet = _wrap_handle_rtp_packet(  # type: ignore[method-assign]
        RTCRtpReceiver._handle_rtp_packet
    )
    RTCDtlsTransport._handle_rtp_data = _wrap_handle_rtp_data(  # type: ignore[method-assign]
        RTCDtlsTransport._handle_rtp_data
    )
    aioice.ice.StunProtocol.datagram_received = _wrap_datagram_received(  # type: ignore[method-assign]
        aioice.ice.StunProtocol.datagram_received
    )
    RTCRtpSender.send = _wrap_sender_send(RTCRtpSender.send)  # type: ignore[method-assign]
    RTCRtpSender._retransmit = _wrap_retransmit(  # type: ignore[method-assign]
        RTCRtpSender._retransmit
    )
    _InstallState.lean = lean
    if lean:
        _InstallState.fast_clock = _fast_clock()
        for module in _CLOCK_READERS:
            setattr(module, _CLOCK_ATTR, _InstallState.fast_clock)
    _InstallState.installed = True


def restrict_host_candidates(address: str) -> None:
    """Advertise ``address`` as the only ICE host candidate(s) of every connection in the process.

    ``address`` is one IP address, or a comma-separated IPv4 and IPv6 address. For production,
    the media node's public interface(s); ``127.0.0.1`` for tests and loopback benchmarks (aioice
    skips loopback by default). Idempotent for the same address; a different address raises
    PassthroughError, because the setting is process-wide.
    """
    if _InstallState.host_address is not None:
        if address != _InstallState.host_address:
            raise PassthroughError(
                f"host candidates already restricted to {_InstallState.host_address!r}"
            )
        return
    assert_supported_aiortc()
    aioice.ice.get_host_addresses = _restricted_host_addresses(  # type: ignore[assignment]
        tuple(a.strip() for a in address.split(",") if a.strip())
    )
    _InstallState.host_address = address


def is_installed() -> bool:
    return _InstallState.installed


def set_frame_sink(receiver: RTCRtpReceiver, sink: FrameSink | None) -> None:
    """Deliver this receiver's encoded frames to ``sink`` (on the event loop) instead of its track.

    May be called before the receiver starts (typical: right after ``setRemoteDescription``) or
    while it runs. ``None`` sends frames to the receiver's track again.
    """
    setattr(receiver, _SINK_ATTR, sink)
    queue = getattr(receiver, _RECEIVER_QUEUE_ATTR, None)
    if isinstance(queue, _PassthroughQueue):
        queue.sink = sink


def set_report_listener(sender: RTCRtpSender, listener: ReportListener | None) -> None:
    """Call ``listener`` with each RTCP report block the remote receiver sends about ``sender``."""
    setattr(sender, _REPORT_LISTENER_ATTR, listener)


async def request_keyframe(receiver: RTCRtpReceiver) -> int:
    """Send an RTCP PLI for every media SSRC (not RTX) this receiver heard in the last 10 s.

    Returns the number of PLIs sent. Rate-limiting is the caller's job.
    """
    intake: _PacketIntake | None = getattr(receiver, _INTAKE_ATTR, None)
    if intake is not None:
        # A relay receiver does not keep aiortc's list of recent sources (a datetime per
        # packet); its intake knows the media SSRC.
        if intake.media_ssrc is None:
            return 0
        await receiver._send_rtcp_pli(intake.media_ssrc)
        return 1
    rtx_ssrcs: dict[int, int] = getattr(receiver, _RECEIVER_RTX_ATTR)
    sent = 0
    for source in receiver.getSynchronizationSources():
        if source.source not in rtx_ssrcs:
            await receiver._send_rtcp_pli(source.source)
            sent += 1
    return sent


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """The codec list to give ``RTCRtpTransceiver.setCodecPreferences`` for ``kind``.

    VP8 (+ RTX, so lost packets can be retransmitted) for video, Opus for audio.
    """
    wanted = {VIDEO_MIME.lower(), RTX_MIME.lower()} if kind == "video" else {AUDIO_MIME.lower()}
    capabilities = RTCRtpSender.getCapabilities(kind)
    prefs = [c for c in capabilities.codecs if c.mimeType.lower() in wanted]
    if not any(c.mimeType.lower() != RTX_MIME.lower() for c in prefs):
        raise PassthroughError(f"aiortc offers no {sorted(wanted)} codec for {kind}")
    return prefs


@dataclass(frozen=True, slots=True)
class MediaLine:
    """One m-line of an SDP, as the relay needs to see it."""

    kind: str
    mid: str | None
    direction: str
    mime_types: tuple[str, ...]
    # ICE credentials and a DTLS fingerprint: without them aiortc fails later, inside a task.
    has_transport_security: bool


@dataclass(frozen=True, slots=True)
class SdpSummary:
    media: tuple[MediaLine, ...]
    bundle_mids: tuple[str, ...]  # the first BUNDLE group, empty if none


def describe_sdp(sdp_text: str) -> SdpSummary:
    """Parse an SDP and list its m-lines. Raises ValueError if it does not parse."""
    try:
        description = _sdp.SessionDescription.parse(sdp_text)
    # aiortc's parser signals malformed lines with assert, IndexError or ValueError.
    except (AssertionError, ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unparsable SDP: {exc}") from exc
    bundle = next((g for g in description.group if g.semantic == "BUNDLE"), None)
    return SdpSummary(
        media=tuple(
            MediaLine(
                kind=media.kind,
                mid=media.rtp.muxId or None,
                direction=media.direction or "sendrecv",
                mime_types=tuple(codec.mimeType.lower() for codec in media.rtp.codecs),
                has_transport_security=bool(
                    media.dtls is not None
                    and media.dtls.fingerprints
                    and media.ice is not None
                    and media.ice.usernameFragment
                    and media.ice.password
                ),
            )
            for media in description.media
        ),
        bundle_mids=tuple(str(mid) for mid in bundle.items) if bundle is not None else (),
    )


def allowed_mime_types() -> frozenset[str]:
    """Lower-case MIME types that may appear in a relay leg's SDP."""
    return frozenset(m.lower() for m in (VIDEO_MIME, AUDIO_MIME, RTX_MIME))
