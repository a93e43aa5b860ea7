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
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import aioice.ice
import av
from aiortc import RTCRtpCodecCapability, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as _clock
from aiortc import rtcdtlstransport as _rtcdtlstransport
from aiortc import rtcrtpreceiver as _rtcrtpreceiver
from aiortc import rtcrtpsender as _rtcrtpsender
from aiortc import sdp as _sdp
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtcpRrPacket, RtcpSrPacket

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
