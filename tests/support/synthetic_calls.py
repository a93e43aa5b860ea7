"""Synthetic call participants: real aiortc peers sending pre-encoded VP8 + Opus, counting what arrives.

Video and audio are encoded once per process (aiortc's own VP8 and Opus encoders) and replayed at
15 fps / 50 packets per second, so a client costs little CPU. A client answers keyframe requests
(PLI) like a browser does: its next video frame is a keyframe. Received media is counted per source
without decoding (the passthrough is installed process-wide, see ``service/calls/passthrough.py``).
"""

from __future__ import annotations

import array
import asyncio
import fractions
import functools
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.mediastreams import MediaStreamError

from service.calls import passthrough
from service.calls.media import ConnectResult, MediaKind, Role, receive_layout
from service.calls.passthrough import EncodedPacket

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
AUDIO_PTIME = 0.02
TEST_HOST = "127.0.0.1"

Connector = Callable[[Role, str], Awaitable[ConnectResult]]


@functools.cache
def encoded_video(
    width: int = 160, height: int = 120, count: int = 30, fps: int = 15
) -> list[bytes]:
    """``count`` VP8 frames of a moving noisy gradient with a bouncing box; frame 0 is a keyframe."""
    rng = random.Random(width * height + count)
    size = width * height
    # Sensor-like noise that changes every frame keeps the bitrate realistic for the encoder.
    gradient = [((k % width) // 2 + (k // width) // 3) & 0xFF for k in range(size + 3 * count)]
    noisy = [bytes((g + rng.randrange(-3, 4)) & 0xFF for g in gradient) for _ in range(4)]
    box = max(8, width // 5)
    encoder = Vp8Encoder()
    out: list[bytes] = []
    for i in range(count):
        luma = bytearray(noisy[i % len(noisy)][3 * i : 3 * i + size])
        bx = int((width - box) * (0.5 + 0.5 * math.sin(i / 12.0)))
        by = int((height - box) * (0.5 + 0.5 * math.cos(i / 17.0)))
        for row in range(by, by + box):
            luma[row * width + bx : row * width + bx + box] = b"\xeb" * box
        u = bytes([128 + int(40 * math.sin(i / 20.0))]) * (size // 4)
        v = bytes([128 + int(40 * math.cos(i / 25.0))]) * (size // 4)
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, data, plane_width in zip(
            frame.planes, (bytes(luma), u, v), (width, width // 2, width // 2), strict=True
        ):
            _fill_plane(plane, data, plane_width)
        frame.pts = i * VIDEO_CLOCK // fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        payloads, _ = encoder.encode(frame, force_keyframe=(i == 0))
        out.append(b"".join(vp8_depayload(p) for p in payloads))
    if not passthrough.is_vp8_keyframe(out[0]):
        raise RuntimeError("the first synthetic frame must be a keyframe")
    return out


def _fill_plane(plane: av.video.plane.VideoPlane, data: bytes, width: int) -> None:
    """Copy tightly packed rows into a plane whose rows may be padded (line_size > width)."""
    stride = plane.line_size
    if stride == width:
        plane.update(data)
        return
    rows = len(data) // width
    padding = bytes(stride - width)
    plane.update(b"".join(data[r * width : (r + 1) * width] + padding for r in range(rows)))


@functools.cache
def encoded_audio(count: int = 50) -> list[bytes]:
    """``count`` Opus packets of 20 ms of a 440 Hz tone."""
    samples = int(AUDIO_CLOCK * AUDIO_PTIME)
    encoder = OpusEncoder()
    out: list[bytes] = []
    for i in range(count):
        wave = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * (i * samples + n) / AUDIO_CLOCK))
                for n in range(samples)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        data = wave.tobytes()
        plane = frame.planes[0]
        plane.update(data + bytes(plane.buffer_size - len(data)))
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = i * samples
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        payloads, _ = encoder.encode(frame)
        out.extend(payloads)
    return out


class PreEncodedTrack(passthrough.EncodedTrack):
    """Replays pre-encoded frames in real time. Video restarts at its keyframe on a PLI.

    With ``keyframes_on_request_only`` the video never loops back to its keyframe by itself, so a
    keyframe seen downstream after the first one proves that a PLI was forwarded.
    """

    def __init__(
        self,
        kind: MediaKind,
        frames: list[bytes],
        *,
        fps: float,
        clock: int,
        keyframes_on_request_only: bool = False,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._frames = frames
        self._interval = 1.0 / fps
        self._pts_step = int(clock / fps)
        self._time_base = fractions.Fraction(1, clock)
        self._request_only = keyframes_on_request_only
        self._index = 0
        self._count = 0
        self._start: float | None = None
        self.keyframe_requests = 0

    def on_keyframe_request(self) -> None:
        self.keyframe_requests += 1
        self._index = 0

    async def recv(self) -> EncodedPacket:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            delay = self._start + self._count * self._interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        if self._index >= len(self._frames):
            self._index = 1 if self._request_only else 0
        packet = av.Packet(self._frames[self._index])
        packet.pts = self._count * self._pts_step
        packet.time_base = self._time_base
        self._index += 1
        self._count += 1
        return packet


@dataclass
class Reception:
    """What one client received from one source and kind."""

    frames: int = 0
    bytes: int = 0
    keyframes: int = 0
    first_is_keyframe: bool | None = None
    first_at: float | None = None
    last_at: float | None = None  # time.monotonic() of the latest frame

    def add(self, packet: EncodedPacket, keyframe: bool) -> None:
        self.last_at = time.monotonic()
        if self.first_at is None:
            self.first_at = self.last_at
            self.first_is_keyframe = keyframe
        self.frames += 1
        self.bytes += packet.size
        if keyframe:
            self.keyframes += 1


@dataclass
class SyntheticParticipant:
    """One participant: one RTCPeerConnection sending video + audio and receiving the others."""

    role: Role
    video_size: tuple[int, int] = (160, 120)
    video_frames: int = 30
    fps: int = 15
    keyframes_on_request_only: bool = False
    send_audio: bool = True
    send_video: bool = True
    # Receiving m-line pairs (audio + video): a browser has two, three also hears an interpreter.
    receiving: int = 2
    received: dict[tuple[Role, MediaKind], Reception] = field(default_factory=dict)
    pc: RTCPeerConnection = field(init=False)
    video_track: PreEncodedTrack | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for source in receive_layout(self.role)[: self.receiving]:
            for kind in ("audio", "video"):
                self.received[(source, kind)] = Reception()
        # Explicit empty list: with None aiortc would use a public STUN server.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        audio = (
            PreEncodedTrack("audio", encoded_audio(), fps=1 / AUDIO_PTIME, clock=AUDIO_CLOCK)
            if self.send_audio
            else None
        )
        if self.send_video:
            self.video_track = PreEncodedTrack(
                "video",
                encoded_video(*self.video_size, self.video_frames, self.fps),
                fps=self.fps,
                clock=VIDEO_CLOCK,
                keyframes_on_request_only=self.keyframes_on_request_only,
            )
        self.pc.addTransceiver(audio or "audio", direction="sendrecv" if audio else "recvonly")
        self.pc.addTransceiver(
            self.video_track or "video", direction="sendrecv" if self.video_track else "recvonly"
        )
        for _ in range(self.receiving - 1):
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, result: ConnectResult) -> None:
        """Apply the server's answer and count what arrives on each m-line."""
        for transceiver in self.pc.getTransceivers():
            source = result.sources_by_mid.get(str(transceiver.mid))
            passthrough.set_frame_sink(transceiver.receiver, self._sink(transceiver, source))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=result.sdp, type="answer"))

    async def join(self, connect: Connector) -> ConnectResult:
        result = await connect(self.role, await self.offer())
        await self.accept(result)
        return result

    def _sink(self, transceiver: RTCRtpTransceiver, source: Role | None) -> passthrough.FrameSink:
        kind: MediaKind = "audio" if transceiver.kind == "audio" else "video"
        reception = self.received.get((source, kind)) if source is not None else None

        def sink(packet: EncodedPacket, keyframe: bool) -> None:
            if reception is not None:
                reception.add(packet, keyframe)

        return sink

    def frames_from(self, source: Role, kind: MediaKind = "video") -> int:
        return self.received[(source, kind)].frames

    async def close(self) -> None:
        await self.pc.close()


async def wait_until(
    condition: Callable[[], bool], *, within: float = 60.0, what: str = "condition"
) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``within`` seconds (generous:
    media through aiortc on a busy 2-core machine can take tens of seconds to flow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:.1f} s waiting for {what}")
        await asyncio.sleep(0.05)
