"""The media relay of one supervised call: forwards encoded audio/video between its participants.

Every participant (parent, child, supervisor) has exactly one ``RTCPeerConnection``, to the
server. The server forwards each participant's encoded VP8/Opus RTP packets to the others without
decoding or re-packetising them, rewriting only the header fields that differ per receiver (see
``passthrough.py``; ``CallMedia(forwarding="frames")`` forwards re-assembled frames instead, the
earlier path, kept to measure against), following the call's rules:

- the supervisor receives the parent and the child at all times (camera check in the waiting room);
- an interpreter, when one is booked, is treated like the supervisor without the controls: they
  see and hear everyone and everyone receives them, also in the waiting room (they help with the
  camera check), and a pause does not touch them;
- the child receives the supervisor, and the parent only once admitted, while not paused and while
  the supervisor's own connection is up (fail closed: no supervisor, no parent for the child);
- the parent receives the supervisor, and the child once admitted (pause is one-way: it only stops
  the parent reaching the child).

:func:`route_is_open` is the one place these rules live. The registry adds the rest of "the
supervisor is alive" (signalling heartbeats, receiver reports: :meth:`CallMedia.reports_overdue`)
and pauses the call when it fails.

When a source becomes visible to a receiver (admission, resume, a new or rejoining participant),
the receiver's video is held back until the next VP8 keyframe (with packets: the first packet of
one) and a keyframe request (RTCP PLI) is sent upstream, at most one per
``keyframe_request_interval`` per source. Frames are counted either way: a video frame ends on
the RTP marker bit, an Opus packet is one frame.

Media layout of an offer: each kind (audio, video) may have up to three m-lines. The first m-line of
a kind on which the client sends carries the participant's own media up. The m-lines of a kind on
which the client receives are filled, in order, with the other participants in the order of
:func:`receive_layout` (e.g. for the parent: the child, the supervisor, then an interpreter). A browser
offers ``audio sendrecv, video sendrecv, audio recvonly, video recvonly`` and one more recvonly pair
when an interpreter is booked; with fewer receiving
m-lines the participant simply receives fewer sources.

This module holds no HTTP, database or record logic: signalling and record events are built on
top of :class:`CallMedia`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from service.calls import passthrough
from service.calls.passthrough import EncodedPacket

logger = logging.getLogger(__name__)

Role = Literal["parent", "child", "supervisor", "interpreter"]
MediaKind = Literal["audio", "video"]
# Everyone who may take part; receive_layout orders them.
PARTICIPANTS: Final[tuple[Role, ...]] = get_args(Role)
# The three of every call; an interpreter joins only the calls they are booked on.
ROLES: Final[tuple[Role, ...]] = ("parent", "child", "supervisor")
# Always receive and are received, admitted or paused.
ALWAYS_CONNECTED: Final = frozenset({"supervisor", "interpreter"})
KINDS: Final[tuple[MediaKind, ...]] = get_args(MediaKind)

StateCallback = Callable[["Role", str], None]
"""``on_state_change(role, state)``: a participant's connection state changed.

``state`` is the peer connection's ``connectionState`` (``new``, ``connecting``, ``connected``,
``failed``, ``closed``), or ``replaced`` when the role rejoined on a new connection.
"""

MAX_OFFER_BYTES: Final = 64 * 1024
"""A browser offer with four m-lines is 5-15 KB; anything much bigger is not a real offer."""
MAX_MLINES_PER_KIND: Final = 3
SENDING: Final = ("sendonly", "sendrecv")
# Per-receiver buffers between the source's frame callback and the sender task. They only fill if a
# sender falls behind the event loop; then the oldest frames go (and video waits for a keyframe).
VIDEO_BUFFER_FRAMES: Final = 16
AUDIO_BUFFER_FRAMES: Final = 25


class CallMediaError(Exception):
    """Base class of the relay's domain errors."""


class CallEnded(CallMediaError):
    """The call was closed; nobody can (re)join it."""


class InvalidOffer(CallMediaError):
    """The offer SDP is too large, does not parse, or cannot be answered with VP8 + Opus."""


class InvalidRole(CallMediaError, ValueError):
    """The role is not one of parent, child, supervisor, interpreter."""


def receive_layout(role: Role) -> tuple[Role, ...]:
    """The sources ``role`` receives, in the order of its receiving m-lines of each kind (the
    interpreter last, so a client with two receiving m-lines a kind gets the usual two)."""
    if role not in PARTICIPANTS:
        raise InvalidRole(f"unknown role {role!r}")
    return tuple(other for other in PARTICIPANTS if other != role)


@dataclass(frozen=True, slots=True)
class RouteState:
    """What the routing rules depend on."""

    admitted: bool
    paused: bool
    # The supervisor's peer connection is up. Without it the parent never reaches the child.
    supervisor_connected: bool


def route_is_open(source: Role, receiver: Role, state: RouteState) -> bool:
    """The call's routing rules: may ``receiver`` get ``source``'s media right now?

    The one function deciding who receives whom: a new participant role gets its rules here.
    """
    if source == receiver:
        return False
    if receiver in ALWAYS_CONNECTED or source in ALWAYS_CONNECTED:
        return True
    if source == "parent":  # parent -> child: only under live supervision
        return state.admitted and not state.paused and state.supervisor_connected
    return state.admitted  # child -> parent; pause is one-way (parent to child only)


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """The answer to a participant's offer."""

    sdp: str
    # m-line id (mid) -> the participant whose media the server sends on it.
    sources_by_mid: dict[str, Role]


@dataclass(frozen=True, slots=True)
class RouteStats:
    source: Role
    receiver: Role
    kind: MediaKind
    open: bool
    frames_forwarded: int
    bytes_forwarded: int
    frames_dropped_waiting_for_keyframe: int
    frames_dropped_overflow: int


@dataclass(frozen=True, slots=True)
class SourceStats:
    role: Role
    kind: MediaKind
    frames_received: int
    bytes_received: int
    keyframes_received: int
    keyframe_requests_sent: int


@dataclass(frozen=True, slots=True)
class LegHealth:
    """One participant's connection to the server, for the supervisor's console."""

    role: Role
    state: str  # the peer connection's connectionState
    video_fps: float  # video frames a second received from them since the last sample
    audio_fps: float
    loss: float  # the fraction of our packets to them that they report lost (0.0-1.0)
    report_age: float | None  # seconds since their last RTCP receiver report, None if none yet


@dataclass(frozen=True, slots=True)
class CallMediaStats:
    admitted: bool
    paused: bool
    closed: bool
    connection_states: dict[Role, str]
    sources: tuple[SourceStats, ...]
    routes: tuple[RouteStats, ...]

    def route(self, source: Role, receiver: Role, kind: MediaKind) -> RouteStats:
        for r in self.routes:
            if (r.source, r.receiver, r.kind) == (source, receiver, kind):
                return r
        return RouteStats(source, receiver, kind, False, 0, 0, 0, 0)


@dataclass(slots=True)
class _Counters:
    """Counters that outlive a participant's connection (a rejoin keeps counting)."""

    frames: int = 0
    bytes: int = 0
    keyframes: int = 0
    dropped_waiting: int = 0
    dropped_overflow: int = 0
    keyframe_requests: int = 0


class ForwardedTrack(passthrough.EncodedTrack):
    """One route: a source's media on its way to one receiver's ``RTCRtpSender``.

    Packet forwarding (the default): :meth:`forward` writes each packet straight out through
    the sender's :class:`~service.calls.passthrough.RelayOutput`; the sender's own RTP task
    waits on :meth:`recv`, which yields nothing. Frame forwarding (``forwarding="frames"``, kept
    to measure against): :meth:`push` queues re-assembled frames for the sender to packetize;
    bounded: when the sender lags, old frames are dropped (video then waits for a keyframe).
    """

    def __init__(
        self,
        kind: MediaKind,
        counters: _Counters,
        request_keyframe: Callable[[], None],
    ) -> None:
        super().__init__()
        self.kind = kind
        self.open = False
        self._awaiting_keyframe = kind == "video"
        self._counters = counters
        self._request_keyframe = request_keyframe
        maxlen = VIDEO_BUFFER_FRAMES if kind == "video" else AUDIO_BUFFER_FRAMES
        self._frames: collections.deque[EncodedPacket] = collections.deque(maxlen=maxlen)
        self._waiter: asyncio.Future[None] | None = None
        self.output: passthrough.RelayOutput | None = None

    def reopen(self) -> None:
        """The source just became visible: start at its next keyframe."""
        self.open = True
        if self.output is not None:
            self.output.rebase()
        if self.kind == "video":
            self._awaiting_keyframe = True
            self._frames.clear()
            self._request_keyframe()

    def push(self, packet: EncodedPacket, keyframe: bool) -> None:
        counters = self._counters
        if self._awaiting_keyframe:
            if not keyframe:
                counters.dropped_waiting += 1
                self._request_keyframe()
                return
            self._awaiting_keyframe = False
        frames = self._frames
        if len(frames) == frames.maxlen:
            if self.kind == "video" and not keyframe:
                # Dropping one delta frame would corrupt every frame after it: restart cleanly.
                counters.dropped_overflow += len(frames) + 1
                frames.clear()
                self._awaiting_keyframe = True
                self._request_keyframe()
                return
            counters.dropped_overflow += 1  # deque(maxlen) drops the oldest audio frame
        frames.append(packet)
        counters.frames += 1
        counters.bytes += packet.size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def forward(self, packet: passthrough.RelayPacket, keyframe: bool) -> None:
        """Packet forwarding: send ``packet`` on, unless video still waits for a keyframe."""
        counters = self._counters
        output = self.output
        if self._awaiting_keyframe:
            if not keyframe:
                if packet.marker:
                    counters.dropped_waiting += 1
                self._request_keyframe()
                return
            self._awaiting_keyframe = False
            if output is not None:
                output.rebase()  # the receiver's sequence numbers go on without a gap
        if packet.marker or self.kind == "audio":  # a video frame ends on its marker bit
            counters.frames += 1
        counters.bytes += packet.payload_size
        if output is not None:
            output.send(packet)

    async def recv(self) -> EncodedPacket:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._frames:
                return self._frames.popleft()
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def stop(self) -> None:
        super().stop()
        self._frames.clear()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_keyframe_request(self) -> None:
        if self.kind == "video":
            self._request_keyframe()


@dataclass(eq=False)
class _Participant:
    role: Role
    pc: RTCPeerConnection
    # Upstream: this participant's own media, by kind.
    sources: dict[MediaKind, RTCRtpReceiver] = field(default_factory=dict)
    # Downstream: (source role, kind) -> the track feeding this participant's sender.
    outbound: dict[tuple[Role, MediaKind], ForwardedTrack] = field(default_factory=dict)
    current: bool = True
    # Routes to a participant open only once its connection is up: frames sent earlier would
    # pile up before its RTP sender starts.
    connected: bool = False
    last_keyframe_request: float = float("-inf")
    # Liveness: loop time of their last RTCP report about our media (set when they connect),
    # and of the last time the watchdog saw media forwarded to them.
    last_report: float | None = None
    reported: bool = False  # a first report arrived on this connection
    forwarded_seen: int = 0
    forwarded_changed_at: float = float("-inf")
    loss: float = 0.0
    # Health sampling: frames received from them at the last sample, and when.
    sampled_frames: dict[MediaKind, int] = field(default_factory=dict)
    sampled_at: float | None = None


class CallMedia:
    """The media relay of one live call. Create one per call; ``close()`` ends it for good.

    ``passthrough.install()`` must have run in this process.
    """

    def __init__(
        self,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        on_state_change: StateCallback | None = None,
        keyframe_request_interval: float = 0.5,
        forwarding: Literal["packets", "frames"] = "packets",
    ) -> None:
        if not passthrough.is_installed():
            raise RuntimeError("call service.calls.passthrough.install() once at start-up first")
        # Always an explicit list: with iceServers=None aiortc would contact Google's STUN server.
        self._ice_servers: tuple[RTCIceServer, ...] = tuple(ice_servers)
        self._on_state_change = on_state_change
        self._keyframe_request_interval = keyframe_request_interval
        self._forward_packets = forwarding == "packets"
        self._participants: dict[Role, _Participant] = {}
        self._pending: set[RTCPeerConnection] = set()
        self._subscribers: dict[tuple[Role, MediaKind], tuple[ForwardedTrack, ...]] = {}
        self._source_counters = {(r, k): _Counters() for r in PARTICIPANTS for k in KINDS}
        self._route_counters = {
            (s, r, k): _Counters()
            for s in PARTICIPANTS
            for r in PARTICIPANTS
            if s != r
            for k in KINDS
        }
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Task[None]] = set()  # replaced connections closing
        self._admitted = False
        self._paused = False
        self._closed = False

    # ----------------------------------------------------------------- public API

    @property
    def admitted(self) -> bool:
        return self._admitted

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def closed(self) -> bool:
        return self._closed

    def connected_roles(self) -> frozenset[Role]:
        return frozenset(self._participants)

    async def connect(self, role: Role, offer_sdp: str) -> ConnectResult:
        """Answer ``role``'s offer with a new peer connection to the server.

        A role that is already connected is replaced once the new connection is negotiated.
        Raises InvalidRole, InvalidOffer, or CallEnded (also if the call ends meanwhile).
        """
        if role not in PARTICIPANTS:
            raise InvalidRole(f"unknown role {role!r}")
        self._check_open()
        lines = _validate_offer(offer_sdp)

        # Always an explicit ICE server list (None would mean Google's STUN server). max-bundle:
        # one ICE transport per participant; pre-created transceivers must share it.
        pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=list(self._ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
            )
        )
        self._pending.add(pc)
        participant = _Participant(role=role, pc=pc)
        try:
            receiver_slots = receive_layout(role)
            sending_index: dict[str, int] = {"audio": 0, "video": 0}
            has_source: set[str] = set()
            planned: list[tuple[MediaKind, Role | None, bool]] = []
            for line in lines:
                kind: MediaKind = "audio" if line.kind == "audio" else "video"
                client_receives = line.direction in ("sendrecv", "recvonly")
                client_sends = line.direction in ("sendrecv", "sendonly")
                source: Role | None = None
                if client_receives and sending_index[kind] < len(receiver_slots):
                    source = receiver_slots[sending_index[kind]]
                    sending_index[kind] += 1
                is_upstream = client_sends and kind not in has_source
                if is_upstream:
                    has_source.add(kind)
                planned.append((kind, source, is_upstream))

            # Pre-create the transceivers in m-line order so setRemoteDescription uses them, with
            # our codec preferences (VP8 + RTX, Opus) rather than every codec aiortc knows.
            transceivers = []
            for kind, source, is_upstream in planned:
                track: ForwardedTrack | None = None
                if source is not None:
                    track = self._new_track(source, role, kind)
                    participant.outbound[(source, kind)] = track
                direction = _direction(send=track is not None, recv=is_upstream)
                transceiver = pc.addTransceiver(track or kind, direction=direction)
                transceiver.setCodecPreferences(passthrough.codec_preferences(kind))
                transceivers.append((transceiver, source, is_upstream))

            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:  # aiortc raises ValueError, OperationError, InternalError…
                self._check_open()  # a close() meanwhile closed this connection: CallEnded
                raise InvalidOffer(
                    f"offer cannot be answered with VP8 video and Opus audio: {exc}"
                ) from exc
            self._check_open()

            sources_by_mid: dict[str, Role] = {}
            for transceiver, source, is_upstream in transceivers:
                if transceiver.kind not in KINDS:
                    continue
                kind = "audio" if transceiver.kind == "audio" else "video"
                if is_upstream:
                    participant.sources[kind] = transceiver.receiver
                    if self._forward_packets:
                        passthrough.set_packet_sink(
                            transceiver.receiver, self._packet_sink(participant, kind)
                        )
                    else:
                        passthrough.set_frame_sink(
                            transceiver.receiver, self._frame_sink(participant, kind)
                        )
                else:
                    # Frames on an unused upstream m-line are dropped, never queued.
                    passthrough.set_frame_sink(transceiver.receiver, _discard)
                if source is not None and transceiver.mid is not None:
                    sources_by_mid[transceiver.mid] = source
                    passthrough.set_report_listener(
                        transceiver.sender, self._report_listener(participant)
                    )

            await pc.setLocalDescription(await pc.createAnswer())
            self._check_open()
            answer = pc.localDescription
            _check_answer_codecs(answer.sdp)
            # Keep only routes the answer actually sends on (a track nobody reads would fill).
            for transceiver, source, _ in transceivers:
                if source is not None and transceiver.currentDirection not in SENDING:
                    kind = "audio" if transceiver.kind == "audio" else "video"
                    participant.outbound.pop((source, kind)).stop()
                    sources_by_mid.pop(str(transceiver.mid), None)
                elif source is not None and self._forward_packets:
                    kind = "audio" if transceiver.kind == "audio" else "video"
                    participant.outbound[(source, kind)].output = passthrough.relay_output(
                        transceiver.sender
                    )
        except BaseException as exc:
            self._pending.discard(pc)
            for t in participant.outbound.values():
                t.stop()
            await _close_quietly(pc)
            if self._closed and not isinstance(exc, CallEnded):
                raise CallEnded("the call ended while joining") from exc
            raise
        self._pending.discard(pc)

        participant.connected = pc.connectionState == "connected"
        if participant.connected:
            participant.last_report = asyncio.get_running_loop().time()
        pc.on("connectionstatechange", lambda: self._connection_state_changed(participant))
        previous = self._participants.get(role)
        self._participants[role] = participant
        if previous is not None:
            self._retire(previous)
        self._refresh_routes(rejoined=role)
        if previous is not None:
            self._notify(role, "replaced")
            # In the background: closing a connection whose far end froze can take long, and
            # the new connection's answer must not wait for it.
            task = asyncio.get_running_loop().create_task(_close_quietly(previous.pc))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return ConnectResult(sdp=answer.sdp, sources_by_mid=sources_by_mid)

    async def disconnect(self, role: Role) -> None:
        """Close ``role``'s connection (a participant left). They may connect again later."""
        participant = self._participants.pop(role, None)
        if participant is None:
            return
        self._retire(participant)
        self._refresh_routes()
        await _close_quietly(participant.pc)
        self._notify(role, "closed")

    def set_admitted(self, admitted: bool) -> None:
        """Admit the parent from the waiting room (or send them back to it)."""
        self._check_open()
        self._admitted = admitted
        self._refresh_routes()

    def set_paused(self, paused: bool) -> None:
        """Pause (or resume) parent-to-child media; the supervisor keeps receiving the parent."""
        self._check_open()
        self._paused = paused
        self._refresh_routes()

    async def close(self) -> None:
        """End the call: close every peer connection at once. Idempotent; connect() then fails."""
        if self._closed:
            return
        self._closed = True
        participants = list(self._participants.values())
        self._participants.clear()
        for participant in participants:
            self._retire(participant)
        self._subscribers.clear()
        for task in self._tasks:
            task.cancel()
        pcs = [p.pc for p in participants] + list(self._pending)
        await asyncio.gather(*(_close_quietly(pc) for pc in pcs), *self._closing)
        for participant in participants:
            self._notify(participant.role, "closed")

    def reports_overdue(self, role: Role, silence: float) -> bool:
        """True if media went to ``role`` for more than ``silence`` seconds after their last
        RTCP report: their machine stopped (frozen, asleep) even if its socket looks open.

        A receiver reports about every second on each stream it gets, whatever its own camera
        does; with nothing forwarded to them there is nothing to report on, so no verdict.
        Call it regularly (the registry's watchdog does): it notes when forwarding last moved.
        """
        participant = self._participants.get(role)
        if participant is None or not participant.connected or participant.last_report is None:
            return False
        now = asyncio.get_running_loop().time()
        forwarded = sum(
            c.frames for (_, receiver, _), c in self._route_counters.items() if receiver == role
        )
        if forwarded != participant.forwarded_seen:
            participant.forwarded_seen = forwarded
            participant.forwarded_changed_at = now
        # Before the first report, a slow start (a busy machine, a browser still setting up its
        # receivers) gets three times as long; a frozen machine is also caught by its heartbeats.
        allowed = silence if participant.reported else 3 * silence
        return participant.forwarded_changed_at - participant.last_report > allowed

    def leg_health(self) -> tuple[LegHealth, ...]:
        """Each connected participant's leg: state, frames a second received, loss reported.

        Frame rates are over the time since the previous call (the console samples every second).
        """
        now = asyncio.get_running_loop().time()
        legs = []
        for role, participant in self._participants.items():
            fps: dict[MediaKind, float] = {}
            for kind in KINDS:
                frames = self._source_counters[(role, kind)].frames
                before = participant.sampled_frames.get(kind)
                elapsed = None if participant.sampled_at is None else now - participant.sampled_at
                fps[kind] = (
                    (frames - before) / elapsed
                    if before is not None and elapsed is not None and elapsed > 0
                    else 0.0
                )
                participant.sampled_frames[kind] = frames
            participant.sampled_at = now
            legs.append(
                LegHealth(
                    role=role,
                    state=participant.pc.connectionState,
                    video_fps=round(fps["video"], 1),
                    audio_fps=round(fps["audio"], 1),
                    loss=round(participant.loss, 3),
                    report_age=(
                        None
                        if participant.last_report is None
                        else round(now - participant.last_report, 1)
                    ),
                )
            )
        return tuple(legs)

    def stats(self) -> CallMediaStats:
        """A snapshot of what was forwarded, per source and per route (an interpreter's only
        once one took part)."""
        taking_part = set(ROLES) | set(self._participants)

        def listed(role: Role, c: _Counters) -> bool:
            return role in taking_part or c.frames > 0

        routes = []
        for (source, receiver, kind), c in self._route_counters.items():
            if not (listed(source, c) and listed(receiver, c)):
                continue
            track = None
            participant = self._participants.get(receiver)
            if participant is not None:
                track = participant.outbound.get((source, kind))
            routes.append(
                RouteStats(
                    source=source,
                    receiver=receiver,
                    kind=kind,
                    open=track is not None and track.open,
                    frames_forwarded=c.frames,
                    bytes_forwarded=c.bytes,
                    frames_dropped_waiting_for_keyframe=c.dropped_waiting,
                    frames_dropped_overflow=c.dropped_overflow,
                )
            )
        sources = tuple(
            SourceStats(
                role=role,
                kind=kind,
                frames_received=c.frames,
                bytes_received=c.bytes,
                keyframes_received=c.keyframes,
                keyframe_requests_sent=c.keyframe_requests,
            )
            for (role, kind), c in self._source_counters.items()
            if listed(role, c)
        )
        return CallMediaStats(
            admitted=self._admitted,
            paused=self._paused,
            closed=self._closed,
            connection_states={r: p.pc.connectionState for r, p in self._participants.items()},
            sources=sources,
            routes=tuple(routes),
        )

    # ----------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise CallEnded("the call has ended")

    def _new_track(self, source: Role, receiver: Role, kind: MediaKind) -> ForwardedTrack:
        return ForwardedTrack(
            kind,
            self._route_counters[(source, receiver, kind)],
            lambda: self._request_keyframe(source),
        )

    def _report_listener(self, participant: _Participant) -> passthrough.ReportListener:
        loop = asyncio.get_running_loop()

        def heard(fraction_lost: float) -> None:
            participant.last_report = loop.time()
            participant.reported = True
            participant.loss = fraction_lost

        return heard

    def _frame_sink(self, participant: _Participant, kind: MediaKind) -> passthrough.FrameSink:
        counters = self._source_counters[(participant.role, kind)]
        subscribers = self._subscribers
        key = (participant.role, kind)

        # The hot path: runs on the event loop for every encoded frame received from a participant.
        def sink(packet: EncodedPacket, keyframe: bool) -> None:
            if not participant.current:
                return
            counters.frames += 1
            counters.bytes += packet.size
            if keyframe:
                counters.keyframes += 1
            for track in subscribers.get(key, ()):
                track.push(packet, keyframe)

        return sink

    def _packet_sink(self, participant: _Participant, kind: MediaKind) -> passthrough.PacketSink:
        counters = self._source_counters[(participant.role, kind)]
        subscribers = self._subscribers
        key = (participant.role, kind)
        video = kind == "video"

        # The hot path: runs on the event loop for every media packet received from a participant.
        def sink(packet: passthrough.RelayPacket) -> None:
            if not participant.current:
                return
            keyframe = False
            if video:
                keyframe = packet.is_vp8_keyframe_start()
                if keyframe:
                    counters.keyframes += 1
                if packet.marker:
                    counters.frames += 1
            else:
                counters.frames += 1
            counters.bytes += packet.payload_size
            for track in subscribers.get(key, ()):
                track.forward(packet, keyframe)

        return sink

    def _retire(self, participant: _Participant) -> None:
        """Stop using a participant's connection (replaced, left, or the call ended)."""
        participant.current = False
        for track in participant.outbound.values():
            track.open = False
            track.stop()

    def _refresh_routes(self, rejoined: Role | None = None) -> None:
        """Apply the routing rules to every route after a change of state or participants."""
        if rejoined is not None:
            # A new connection of a source starts a new stream: every receiver waits for its
            # keyframe again.
            for participant in self._participants.values():
                for (source, _kind), track in participant.outbound.items():
                    if source == rejoined:
                        track.open = False
        supervisor = self._participants.get("supervisor")
        state = RouteState(
            admitted=self._admitted,
            paused=self._paused,
            supervisor_connected=supervisor is not None and supervisor.connected,
        )
        subscribers: dict[tuple[Role, MediaKind], list[ForwardedTrack]] = {}
        for receiver, participant in self._participants.items():
            for (source, kind), track in participant.outbound.items():
                should_open = (
                    participant.connected
                    and source in self._participants
                    and route_is_open(source, receiver, state)
                )
                if should_open and not track.open:
                    track.reopen()
                elif not should_open:
                    track.open = False
                if track.open:
                    subscribers.setdefault((source, kind), []).append(track)
        self._subscribers.clear()
        self._subscribers.update({key: tuple(tracks) for key, tracks in subscribers.items()})

    def _request_keyframe(self, source: Role) -> None:
        """Ask ``source`` for a VP8 keyframe (RTCP PLI), at most once per interval."""
        participant = self._participants.get(source)
        if participant is None or self._closed:
            return
        receiver = participant.sources.get("video")
        if receiver is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - participant.last_keyframe_request < self._keyframe_request_interval:
            return
        participant.last_keyframe_request = now
        counters = self._source_counters[(source, "video")]
        task = loop.create_task(passthrough.request_keyframe(receiver))
        self._tasks.add(task)

        def done(t: asyncio.Task[int]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is None:
                counters.keyframe_requests += t.result()

        task.add_done_callback(done)

    def _connection_state_changed(self, participant: _Participant) -> None:
        if not participant.current:
            return
        state = participant.pc.connectionState
        connected = state == "connected"
        if connected != participant.connected:
            participant.connected = connected
            if connected:
                participant.last_report = asyncio.get_running_loop().time()
            self._refresh_routes()
        self._notify(participant.role, state)
        if state == "failed":
            # A dead connection is not kept: the participant can rejoin with a new offer.
            task = asyncio.get_running_loop().create_task(self._drop_failed(participant))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drop_failed(self, participant: _Participant) -> None:
        if self._participants.get(participant.role) is participant:
            await self.disconnect(participant.role)

    def _notify(self, role: Role, state: str) -> None:
        if self._on_state_change is None:
            return
        try:
            self._on_state_change(role, state)
        except Exception:
            logger.exception("on_state_change callback failed")


def _discard(packet: EncodedPacket, keyframe: bool) -> None:
    return None


def _direction(*, send: bool, recv: bool) -> str:
    if send and recv:
        return "sendrecv"
    if send:
        return "sendonly"
    if recv:
        return "recvonly"
    return "inactive"


def _validate_offer(offer_sdp: object) -> list[passthrough.MediaLine]:
    if not isinstance(offer_sdp, str):
        raise InvalidOffer("the offer must be SDP text")
    if len(offer_sdp.encode("utf-8", "surrogatepass")) > MAX_OFFER_BYTES:
        raise InvalidOffer(f"the offer is larger than {MAX_OFFER_BYTES} bytes")
    if not offer_sdp.startswith("v=0"):
        raise InvalidOffer("the offer is not SDP (it must start with v=0)")
    try:
        summary = passthrough.describe_sdp(offer_sdp)
    except ValueError as exc:
        raise InvalidOffer(f"the offer is not valid SDP: {exc}") from exc
    lines = list(summary.media)
    if not lines:
        raise InvalidOffer("the offer has no audio or video")
    counts = collections.Counter(line.kind for line in lines)
    for kind, count in counts.items():
        if kind not in KINDS:
            raise InvalidOffer(f"the offer has a {kind!r} m-line; only audio and video are relayed")
        if count > MAX_MLINES_PER_KIND:
            raise InvalidOffer(f"the offer has {count} {kind} m-lines (at most 3)")
    if not all(line.has_transport_security for line in lines):
        raise InvalidOffer("every m-line of the offer needs ICE credentials and a DTLS fingerprint")
    mids = [line.mid for line in lines]
    if None in mids or len(set(mids)) != len(mids):
        raise InvalidOffer("every m-line of the offer needs a distinct a=mid")
    if set(summary.bundle_mids) != set(mids):
        # The server uses one ICE transport per participant (max-bundle), like every browser.
        raise InvalidOffer("the offer must BUNDLE all its m-lines (a=group:BUNDLE)")
    return lines


def _check_answer_codecs(answer_sdp: str) -> None:
    allowed = passthrough.allowed_mime_types()
    for line in passthrough.describe_sdp(answer_sdp).media:
        unexpected = set(line.mime_types) - allowed
        if unexpected:  # would mean codec preferences were ignored: never answer with them
            raise InvalidOffer(f"negotiated codecs {sorted(unexpected)} are not relayed")


#: A peer connection's close waits on its far end; one that froze must not hold us up.
CLOSE_TIMEOUT: Final = 5.0


async def _close_quietly(pc: RTCPeerConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT)
