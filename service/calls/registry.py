"""The calls live on this media node: one :class:`LiveCall` per call, owned by :class:`CallRegistry`.

The registry is the only place that changes a call once it runs. Each change of a call's state
is applied to its media relay (:class:`~service.calls.media.CallMedia`), written to the family
record in one transaction (``call_joined``, ``call_left``, ``call_admitted``,
``call_admission_lapsed``, ``call_paused``, ``call_resumed``, ``call_warned``,
``call_stop_requested``, ``call_ended``) and announced to the
participants over their signalling sockets.

Supervision cannot lapse: the parent reaches the child only while the supervisor is connected
and alive. The relay itself closes parent-to-child the moment the supervisor's peer connection
goes (``route_is_open``); a watchdog per call (:meth:`CallRegistry._watch`) also checks, several
times a second, that the supervisor's signalling heartbeats arrive and that their peer connection
keeps sending RTCP receiver reports. When either stops, the call pauses with a reason
(``supervisor_left``, ``supervisor_silent``, ``supervisor_connection_lost``), parent and child are
told in plain words, and only the supervisor's resume reopens it. Admission belongs to a
connection: a parent who leaves and comes back waits again.

Two changes protect the child and are applied to the media *before* the database: a pause and
an end. If the database were slow or down, the child still stops seeing the parent at once; the
record event follows (and a failure to write it is logged loudly). Admission is the opposite: it
is recorded first, so a parent never reaches the child without a record of it.

Calls are pinned to one media node (``Call.media_node``, written at the first join): every
participant of a call must reach the same process, because the relay lives in its memory. A
socket reaching another node is forwarded to the owner (``service.calls.forwarding``).

What must hold across restarts lives in the database, not in this process: the end-of-window
warning is claimed once in ``Call.warning_sent_at``, and a periodic sweep closes the calls whose
window passed with nobody in them (``call_missed``) or whose node went away mid-call.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiohttp import web
from aiortc import RTCIceServer
from sqlalchemy import select

from service.calls.media import CallEnded, CallMedia, ConnectResult, Role
from service.errors import Conflict, Forbidden, NotFound
from service.i18n import N_, Message, gettext, use_language
from service.security_log import Kind as SecurityKind
from service.security_log import log_security_event
from service.security_log import recent_events as recent_security_events
from service.services import Services
from service.settings import Settings
from service.turn import ice_servers_for
from storage import record
from storage.models import (
    Call,
    CallStatus,
    ContactLevel,
    Family,
    Grant,
    GrantScope,
    ObservationNote,
)

log = logging.getLogger(__name__)

#: A participant may open the call page this long before the window starts (waiting room).
JOIN_EARLY: Final = timedelta(minutes=15)
#: The call warns everyone this long before its window ends, then ends itself.
WARNING_LEAD: Final = timedelta(minutes=5)
#: How often the sweep looks for calls whose window passed (missed, or left behind by a node).
SWEEP_INTERVAL: Final = 60.0
#: A live call this long past its window, not on this node, lost its node: the sweep ends it.
ORPHAN_GRACE: Final = timedelta(minutes=2)
#: Calls closed per sweep; the rest wait for the next one.
SWEEP_BATCH: Final = 100
#: The server pings every socket this often; one that does not answer within half of it is
#: closed and its participant marked left (so a silent drop is noticed within 1.5 times this).
HEARTBEAT: Final = 20.0
#: A child pressing "I want to stop" again within this time is the same request: the supervisor
#: is alerted each time, the record holds it once.
STOP_REQUEST_REPEAT: Final = 30.0
#: The supervisor counts as gone when no signalling message (the page sends a heartbeat every
#: second) or no RTCP receiver report arrived for this long while media flowed to them.
SUPERVISOR_SILENCE: Final = 2.0
#: How often the watchdog checks the supervisor (and wakes at once on a leg's state change).
WATCH_INTERVAL: Final = 0.2
#: Renegotiation is bounded: each offer costs the relay a new peer connection (ICE, DTLS).
OFFERS_PER_MINUTE: Final = 6
#: A participant cut off for flooding offers is turned away at the door for this long, without
#: touching the database: reconnecting to flood again costs the relay next to nothing.
OFFER_FLOOD_BLOCK: Final = 60.0
#: How often the supervisor's console gets each leg's health.
HEALTH_INTERVAL: Final = 1.0
#: A flood of refused attempts costs at most one security-log write per account, call and
#: reason in this many seconds: the first is written at once, the rest are counted and written
#: as one line when the time is up (its detail's "repeats": how many attempts it stands for).
REFUSAL_LOG_EVERY: Final = 60.0

# Why a call paused, and what parent and child are told.
SUPERVISOR_PAUSE: Final = "supervisor"
# Words are ``Message``s: each socket sends them in its own reader's language (Connection.send).
PAUSE_WORDS: Final[Mapping[str, str]] = {
    SUPERVISOR_PAUSE: N_("The supervisor has paused the call for a moment."),
    "supervisor_left": N_(
        "The call is paused because the supervisor has left. "
        "Please wait: it carries on when the supervisor is back."
    ),
    "supervisor_silent": N_(
        "The call is paused because the supervisor's connection stopped. "
        "Please wait: it carries on when the supervisor is back."
    ),
    "supervisor_connection_lost": N_(
        "The call is paused because the supervisor's connection "
        "dropped. Please wait: it carries on when the supervisor is back."
    ),
}
RECONNECT_WORDS: Final = N_(
    "Your video connection dropped. Please reconnect: reload this page, or check your internet."
)
# What the supervisor's console says when a participant's video connection dies.
LEG_DIED_WORDS: Final[Mapping[str, str]] = {
    "parent": N_("The parent's video connection dropped. They were asked to reconnect."),
    "child": N_("The child's video connection dropped. They were asked to reconnect."),
    "supervisor": N_("Your video connection dropped. Please reconnect."),
}

# Why a call ended. The supervisor picks one from a list; the system ends it at the window's end.
END_REASONS: Final[Mapping[str, str]] = {
    "completed": N_("The call finished normally"),
    "child_asked_to_stop": N_("The child asked to stop"),
    "child_upset": N_("The child was upset"),
    "inappropriate_conversation": N_("Inappropriate conversation"),
    "safety_concern": N_("A safety concern"),
    "technical_problem": N_("Technical problems"),
    "parent_did_not_attend": N_("The parent did not attend"),
}
WINDOW_ENDED: Final = "window_ended"
MISSED: Final = "missed"

# Close codes sent to a participant's signalling socket (4000-4999 are the application's).
CLOSE_ENDED: Final = 4410
CLOSE_REPLACED: Final = 4409
CLOSE_GOING_AWAY: Final = 1001
CLOSE_DISMISSED: Final = 4403  # no longer allowed on this call (signalling's "not allowed")
NO_LONGER_BOOKED: Final = "You are no longer booked on this call."

CallRole = Role  # the media core's names: "parent", "child", "supervisor"

#: The server's own ICE servers, asked for each new call (TURN credentials are short-lived).
IceServerSource = Callable[[], Sequence[RTCIceServer]]

_TURN_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def node_name(settings_host: str, settings_port: int, configured: str | None = None) -> str:
    """This media node's name as recorded in ``Call.media_node``: the configured name (the
    proxy's name for the upstream), else ``hostname:port``."""
    if configured:
        return configured[:100]
    host = socket.gethostname() or settings_host
    return f"{host}:{settings_port}"[:100]


def turn_label(text: str) -> str:
    """A TURN REST username label: no ':' (coturn's separator) and nothing personal."""
    return _TURN_LABEL_UNSAFE.sub("-", text)[:64]


def ice_servers_from_settings(servers: Sequence[Mapping[str, object]]) -> list[RTCIceServer]:
    """ICE servers (``LETTERBOX_ICE_SERVERS`` plus the centre's TURN with fresh credentials,
    see :func:`media_ice_servers`) as aiortc wants them for the server's peer connections."""
    out: list[RTCIceServer] = []
    for server in servers:
        urls = server["urls"]
        if isinstance(urls, list | tuple):
            urls = [str(u) for u in urls]
        elif not isinstance(urls, str):
            raise ValueError("LETTERBOX_ICE_SERVERS: urls must be text or a list of text")
        username = server.get("username")
        credential = server.get("credential")
        out.append(
            RTCIceServer(
                urls=urls,
                username=None if username is None else str(username),
                credential=None if credential is None else str(credential),
            )
        )
    return out


def media_ice_servers(settings: Settings, node: str) -> IceServerSource:
    """The relay's ICE servers, made fresh for each call: TURN credentials last a few hours
    (``service.turn``), about as long as the longest call, so they are never made at start-up."""

    def source() -> list[RTCIceServer]:
        servers = ice_servers_for(settings, turn_label(f"media-{node}"), datetime.now(UTC))
        return ice_servers_from_settings(servers)

    return source


class Connection:
    """One participant's signalling socket."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        role: CallRole,
        actor: record.EventAuthor,
        language: str = "en",
    ) -> None:
        self.ws = ws
        self.role = role
        self.actor = actor
        # The reader's language: the person's own, or the child's for the child's screen.
        self.language = language
        # Loop time of the last valid message (heartbeats included): the watchdog's proof of life.
        self.last_heard = asyncio.get_running_loop().time()

    def heard(self) -> None:
        self.last_heard = asyncio.get_running_loop().time()

    async def send(self, message: Mapping[str, Any]) -> None:
        if self.ws.closed:
            return
        with use_language(self.language):
            payload = {k: gettext(v) if isinstance(v, Message) else v for k, v in message.items()}
        # A socket that went away mid-send is handled by its own receive loop.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_json(payload)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=reason.encode()[:123])


class OfferBudget:
    """A participant's offers: the first is free; after it, at most ``per_minute`` in any 60
    seconds, whichever socket they come on."""

    def __init__(self, per_minute: int = OFFERS_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._first_done = False
        self._recent: collections.deque[float] = collections.deque()

    def take(self) -> bool:
        if not self._first_done:
            self._first_done = True
            return True
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            return False
        self._recent.append(now)
        return True


@dataclass(eq=False)
class LiveCall:
    """A running call on this node: its relay, its participants' sockets and its end timer."""

    call_id: uuid.UUID
    family_id: uuid.UUID
    supervised: bool
    ends_at: datetime
    media: CallMedia
    connections: dict[CallRole, Connection] = field(default_factory=dict)
    ended: bool = False
    end_reason: str | None = None
    warned: bool = False  # the end-of-window warning went out (now or before a restart)
    stop_recorded_at: float | None = None  # loop time of the last recorded stop request
    timer: asyncio.Task[None] | None = None
    pause_reason: str | None = None
    watchdog: asyncio.Task[None] | None = None
    # Set when a leg's state changes: the watchdog looks at once instead of at its next tick.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    refusals: int = 0  # refused socket attempts on this call (the console shows the count)
    dead_legs: set[CallRole] = field(default_factory=set)  # alarmed, not reconnected yet
    offer_budgets: dict[CallRole, OfferBudget] = field(default_factory=dict)
    end_recorded: asyncio.Event = field(default_factory=asyncio.Event)  # sockets closed after

    blocked_until: dict[CallRole, float] = field(default_factory=dict)  # loop time

    def offer_budget(self, role: CallRole) -> OfferBudget:
        return self.offer_budgets.setdefault(role, OfferBudget())

    def block(self, role: CallRole) -> None:
        self.blocked_until[role] = asyncio.get_running_loop().time() + OFFER_FLOOD_BLOCK

    def blocked_for(self, role: CallRole) -> float:
        """Seconds ``role`` is still turned away for (0 when they may join)."""
        until = self.blocked_until.get(role)
        return 0.0 if until is None else max(0.0, until - asyncio.get_running_loop().time())

    def ending_soon_message(self) -> dict[str, Any]:
        remaining = (self.ends_at - datetime.now(UTC)).total_seconds()
        return {"type": "ending-soon", "minutes": max(1, math.ceil(remaining / 60))}

    def state_message(self) -> dict[str, Any]:
        return {
            "type": "state",
            "admitted": self.media.admitted,
            "paused": self.media.paused,
            "pause_reason": self.pause_reason if self.media.paused else None,
            "participants": sorted(self.connections),
        }

    def paused_message(self) -> dict[str, Any]:
        reason = self.pause_reason or SUPERVISOR_PAUSE
        return {"type": "paused", "reason": reason, "text": PAUSE_WORDS[reason]}

    async def broadcast(self, message: Mapping[str, Any]) -> None:
        await asyncio.gather(*(c.send(message) for c in list(self.connections.values())))

    async def send_to(self, role: CallRole, message: Mapping[str, Any]) -> None:
        connection = self.connections.get(role)
        if connection is not None:
            await connection.send(message)


RefusalKey = tuple[uuid.UUID | None, uuid.UUID, str]  # account, call, reason


@dataclass
class RefusalWindow:
    """Refused attempts of one account on one call for one reason since the last log line."""

    at: float  # loop time of the last line written
    ip: str | None
    detail: dict[str, Any]
    repeats: int = 0
    flush: asyncio.Task[None] | None = None


#: How long shutdown waits for participants' leaves (their record events) before it cancels them.
SHUTDOWN_LEAVE_SECONDS = 10.0


class CallRegistry:
    """Owns every live call of this process. Created and closed by :func:`service.calls.node.calls_ctx`."""

    def __init__(
        self,
        services: Services,
        *,
        node: str,
        ice_servers: IceServerSource = lambda: (),
        warning_lead: timedelta = WARNING_LEAD,
        heartbeat: float = HEARTBEAT,
        supervisor_silence: float = SUPERVISOR_SILENCE,
    ) -> None:
        self.services = services
        self.node = node
        self.media_ice_servers = ice_servers
        self.warning_lead = warning_lead
        self.heartbeat = heartbeat
        self.supervisor_silence = supervisor_silence
        self._live: dict[uuid.UUID, LiveCall] = {}
        self._ended: set[uuid.UUID] = set()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_wanted = asyncio.Event()
        self.refusal_log_every = REFUSAL_LOG_EVERY
        # (account, call, reason) -> the refusals counted since its last security-log line.
        self._refusal_windows: dict[RefusalKey, RefusalWindow] = {}

    def get(self, call_id: uuid.UUID) -> LiveCall | None:
        return self._live.get(call_id)

    # ------------------------------------------------------------------ joining and leaving

    async def join(self, call_id: uuid.UUID, connection: Connection) -> LiveCall:
        """Admit ``connection`` to the call: pin it to this node, record the join.

        Raises Conflict (ended, cancelled, outside its window, on another node) or NotFound.
        A previous connection of the same role (a second tab, a reconnect) is replaced.
        """
        async with self._lock:
            if self._closed:
                raise Conflict("This media node is shutting down. Please try again in a moment.")
            if call_id in self._ended:
                raise Conflict("This call has ended.", code="call_ended")
            _check_one_interpreter(self._live.get(call_id), connection)
            now = datetime.now(UTC)
            async with self._transaction(connection.actor) as work:
                call = await work.session.get(Call, call_id, with_for_update=True)
                if call is None:
                    raise NotFound("We could not find that call.")
                _check_joinable(call, now, self.node)
                supervised = (
                    await work.session.scalar(
                        select(Family.contact_level).where(Family.id == call.family_id)
                    )
                ) is ContactLevel.SUPERVISED
                if call.media_node is None:
                    call.media_node = self.node
                if call.status is CallStatus.SCHEDULED:
                    call.status = CallStatus.LIVE
                await work.record(
                    call.family_id,
                    "call_joined",
                    {"call_id": call.id, "as": connection.role},
                )
                family_id, ends_at = call.family_id, call.ends_at
                warned = call.warning_sent_at is not None
            live = self._live.get(call_id)
            if live is None:
                live = LiveCall(
                    call_id=call_id,
                    family_id=family_id,
                    supervised=supervised,
                    ends_at=ends_at,
                    media=CallMedia(
                        ice_servers=self.media_ice_servers(),
                        on_state_change=functools.partial(self._leg_changed, call_id),
                    ),
                    warned=warned,
                )
                self._live[call_id] = live
                loop = asyncio.get_running_loop()
                live.timer = loop.create_task(self._run_window(live))
                live.watchdog = loop.create_task(self._watch(live))
            previous = live.connections.get(connection.role)
            if connection.role == "parent" and live.media.admitted:
                # Admission belongs to a connection: a parent coming back (or in a second
                # window) waits again, and the supervisor sees the camera check again.
                live.media.set_admitted(False)
                await self._record(
                    live,
                    record.EventAuthor.system(),
                    "call_admission_lapsed",
                    {"why": "parent_rejoined"},
                )
            live.connections[connection.role] = connection
        if previous is not None:
            await previous.close(CLOSE_REPLACED, "you joined this call from another window")
        await live.broadcast(live.state_message())
        if connection.role == "parent" and not live.media.admitted:
            await connection.send({"type": "waiting"})
        if connection.role in ("parent", "child") and live.media.paused:
            await connection.send(live.paused_message())
        if connection.role == "supervisor":
            await self._send_refusals(live)
        if live.warned:
            # Not a second warning (that is claimed once): the rejoining page shows the banner.
            await connection.send(live.ending_soon_message())
        return live

    async def offer(self, live: LiveCall, connection: Connection, sdp: str) -> ConnectResult:
        """Answer the participant's offer with the server's own peer connection."""
        if live.connections.get(connection.role) is not connection:
            raise Conflict("This window is no longer part of the call.")
        try:
            return await live.media.connect(connection.role, sdp)
        except CallEnded:
            raise Conflict("This call has ended.", code="call_ended") from None

    async def dismiss(
        self, call_id: uuid.UUID, role: CallRole, user_id: uuid.UUID, reason: str
    ) -> bool:
        """Close the open socket of an account that may no longer take part (an interpreter
        taken off the call): the close ends its handler, which leaves the call as usual
        (relay leg closed, ``call_left`` recorded). Its page cannot come back: the grant went."""
        live = self._live.get(call_id)
        connection = None if live is None else live.connections.get(role)
        if connection is None or connection.actor.id != user_id:
            return False
        await connection.send({"type": "error", "message": reason})
        await connection.close(CLOSE_DISMISSED, reason)
        return True

    def leave(self, live: LiveCall, connection: Connection) -> asyncio.Task[None]:
        """The participant's socket closed. They may rejoin within the window.

        Runs as the registry's own task: aiohttp cancels a handler whose client went away, and
        the leave must still close the relay leg and reach the record.
        """
        task = asyncio.get_running_loop().create_task(self._leave(live, connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _leave(self, live: LiveCall, connection: Connection) -> None:
        if live.ended or live.connections.get(connection.role) is not connection:
            return
        del live.connections[connection.role]
        lapsed = connection.role == "parent" and live.media.admitted
        if lapsed:
            live.media.set_admitted(False)  # coming back, they wait again
        await live.media.disconnect(connection.role)
        await self._record(live, connection.actor, "call_left", {"as": connection.role})
        if lapsed:
            await self._record(
                live, record.EventAuthor.system(), "call_admission_lapsed", {"why": "parent_left"}
            )
        if connection.role == "supervisor" and live.media.admitted:
            # (Not yet admitted, the parent cannot reach the child anyway.)
            await self.pause(live, record.EventAuthor.system(), "supervisor_left")
        await live.broadcast(live.state_message())

    # ------------------------------------------------------------------ supervisor controls

    async def admit(self, live: LiveCall, by: record.EventAuthor) -> None:
        if live.media.admitted:
            return
        # Recorded first: the parent never reaches the child without a record of it.
        await self._record(live, by, "call_admitted", {}, must_succeed=True)
        live.media.set_admitted(True)
        await live.broadcast(live.state_message())

    async def pause(
        self, live: LiveCall, by: record.EventAuthor, reason: str = SUPERVISOR_PAUSE
    ) -> None:
        """Stop parent-to-child media: the supervisor's choice, or supervision lapsed
        (``reason`` one of :data:`PAUSE_WORDS`). Only the supervisor's resume reopens it."""
        if live.media.paused or live.ended:
            return
        live.media.set_paused(True)  # at once, before anything else
        live.pause_reason = reason
        await self._record(live, by, "call_paused", {"reason": reason})
        message = live.paused_message()
        await asyncio.gather(live.send_to("parent", message), live.send_to("child", message))
        await live.broadcast(live.state_message())

    async def resume(self, live: LiveCall, by: record.EventAuthor) -> None:
        if not live.media.paused:
            return
        if self.supervision_lapse(live) is not None:
            # The watchdog would pause again at once: the supervisor's own video must be up.
            await live.send_to(
                "supervisor",
                {
                    "type": "error",
                    "message": N_(
                        "The call stays paused until your own video connection is up. "
                        "Please try again in a moment."
                    ),
                },
            )
            return
        await self._record(live, by, "call_resumed", {}, must_succeed=True)
        live.pause_reason = None
        live.media.set_paused(False)
        await live.send_to("child", {"type": "resumed"})
        await live.send_to("parent", {"type": "resumed"})
        await live.broadcast(live.state_message())

    async def warn(self, live: LiveCall, by: record.EventAuthor, text: str) -> None:
        await self._record(live, by, "call_warned", {"text": record.Sealed(text)})
        await live.send_to("parent", {"type": "warning", "text": text})

    async def note(self, live: LiveCall, by: record.EventAuthor, text: str) -> None:
        """A supervisor's session note: supervised contact only (the schema enforces it too)."""
        if not live.supervised:
            raise Forbidden("Notes are only kept for supervised contact.")
        services = self.services
        async with self._transaction(by) as work:
            sealed = await services.keyring.seal_for_family(
                work.session, live.family_id, text.encode("utf-8"), "observation-note"
            )
            note = ObservationNote(
                family_id=live.family_id,
                contact_level=ContactLevel.SUPERVISED,
                author_id=by.id,
                call_id=live.call_id,
                text_sealed=sealed,
            )
            work.session.add(note)
            await work.session.flush()
            await work.record(
                live.family_id,
                "observation_note_added",
                {"note_id": note.id, "call_id": live.call_id},
            )

    async def stop_requested(self, live: LiveCall, by: record.EventAuthor) -> None:
        """The child pressed "I want to stop": alert the supervisor (the decision is theirs),
        then record it (``call_stop_requested``; the actor is the centre device's account)."""
        await live.send_to("supervisor", {"type": "stop-requested"})
        now = time.monotonic()
        if live.stop_recorded_at is not None and now - live.stop_recorded_at < STOP_REQUEST_REPEAT:
            return
        live.stop_recorded_at = now
        await self._record(live, by, "call_stop_requested", {"as": "child"})

    async def end(self, live: LiveCall, by: record.EventAuthor, reason: str) -> None:
        """End the call for good: every peer connection closes, every socket hears "ended"."""
        if live.ended:
            return
        live.ended = True
        live.end_reason = reason
        self._ended.add(live.call_id)
        # Media first: a modified client cannot keep the call alive while the database works.
        await live.media.close()
        connections = list(live.connections.values())
        live.connections.clear()
        message = {"type": "ended", "reason": reason}
        await asyncio.gather(*(c.send(message) for c in connections))
        for task in (live.timer, live.watchdog):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._live.pop(live.call_id, None)
        try:
            async with self._transaction(by) as work:
                call = await work.session.get(Call, live.call_id, with_for_update=True)
                # Calls are never deleted; one the sweep already closed is not closed twice.
                if call is not None and call.status is not CallStatus.ENDED:
                    call.status = CallStatus.ENDED
                    call.ended_at = datetime.now(UTC)
                    call.end_reason = reason
                    await work.record(
                        live.family_id, "call_ended", {"call_id": live.call_id, "reason": reason}
                    )
        except Exception:
            # The call is over on this node whatever happens (``_ended`` refuses rejoins).
            log.exception("the end of call %s could not be recorded", live.call_id)
        finally:
            # Sockets close once the record says "ended": a reconnect then reads it too.
            await asyncio.gather(*(c.close(CLOSE_ENDED, "the call has ended") for c in connections))
            live.end_recorded.set()

    # ------------------------------------------------------------------ refused attempts

    async def refused(
        self,
        call_id: uuid.UUID,
        family_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None,
        ip: str | None,
        reason: str,
        what: str,
    ) -> None:
        """A socket attempt on this call was refused: keep it in the security log, and show
        the count and what happened on the supervisor's console."""
        detail: dict[str, Any] = {
            "call_id": str(call_id),
            "family_id": str(family_id),
            "reason": reason,
            "what": what,
        }
        live = self._live.get(call_id)
        key = (user_id, call_id, reason)
        now = asyncio.get_running_loop().time()
        window = self._refusal_windows.get(key)
        if window is not None and (
            window.flush is not None or now - window.at < self.refusal_log_every
        ):
            # Already written within the minute: counted, written with the others when the
            # minute is up, so a flood cannot turn into a flood of database writes.
            window.repeats += 1
            window.ip, window.detail = ip, detail
            if window.flush is None:
                window.flush = asyncio.get_running_loop().create_task(self._flush_refusals(key))
            if live is not None and not live.ended:
                live.refusals += 1
            return
        # A window that went quiet is forgotten; this one starts now.
        for stale in [
            k
            for k, w in self._refusal_windows.items()
            if w.flush is None and now - w.at >= self.refusal_log_every
        ]:
            del self._refusal_windows[stale]
        self._refusal_windows[key] = RefusalWindow(at=now, ip=ip, detail=detail)
        await self._log_refusal(user_id, ip, detail)
        if live is not None and not live.ended:
            live.refusals += 1
            await live.send_to("supervisor", refusals_message(live.refusals, [detail]))

    async def _log_refusal(
        self, user_id: uuid.UUID | None, ip: str | None, detail: Mapping[str, Any]
    ) -> None:
        try:
            async with self.services.sessionmaker.begin() as session:
                await log_security_event(
                    session,
                    SecurityKind.CALL_REFUSED,
                    user_id=user_id,
                    actor_id=user_id,
                    ip=ip,
                    detail=dict(detail),
                )
        except Exception:
            log.exception("a refused attempt on call %s was not logged", detail["call_id"])

    async def _flush_refusals(self, key: RefusalKey) -> None:
        """Once a minute, one line for the refusals counted since the last; a quiet minute
        closes the window (the next refusal is written at once)."""
        user_id, call_id, _ = key
        loop = asyncio.get_running_loop()
        while True:
            window = self._refusal_windows.get(key)
            if window is None:
                return
            await asyncio.sleep(max(0.0, window.at + self.refusal_log_every - loop.time()))
            if window.repeats == 0:
                del self._refusal_windows[key]
                return
            window.at = loop.time()
            await self._write_repeats(user_id, window)
            live = self._live.get(call_id)
            if live is not None and not live.ended:
                await live.send_to("supervisor", refusals_message(live.refusals, [window.detail]))

    async def _write_repeats(self, user_id: uuid.UUID | None, window: RefusalWindow) -> None:
        repeats, window.repeats = window.repeats, 0
        await self._log_refusal(user_id, window.ip, {**window.detail, "repeats": repeats})

    async def _send_refusals(self, live: LiveCall) -> None:
        """The supervisor (re)joining sees every refusal so far on this call."""
        async with self.services.sessionmaker() as session:
            events = await recent_security_events(
                session, SecurityKind.CALL_REFUSED, about={"call_id": str(live.call_id)}
            )
        live.refusals = max(live.refusals, sum(int(e.detail.get("repeats", 1)) for e in events))
        latest = [dict(e.detail) | {"at": e.at.isoformat()} for e in events[:10]]
        await live.send_to("supervisor", refusals_message(live.refusals, latest))

    # ------------------------------------------------------------------ supervision and health

    def supervision_lapse(self, live: LiveCall) -> str | None:
        """Why the supervisor cannot be counted as present and alive right now, or None."""
        supervisor = live.connections.get("supervisor")
        if supervisor is None:
            return "supervisor_left"
        loop = asyncio.get_running_loop()
        if loop.time() - supervisor.last_heard > self.supervisor_silence:
            return "supervisor_silent"  # a frozen machine: its socket is open, nothing arrives
        if "supervisor" not in live.media.connected_roles():
            return "supervisor_connection_lost"
        if live.media.reports_overdue("supervisor", self.supervisor_silence):
            return "supervisor_silent"
        return None

    async def _watch(self, live: LiveCall) -> None:
        """Pause the call when supervision lapses; give the console each leg's health."""
        loop = asyncio.get_running_loop()
        next_health = loop.time()
        while not live.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.wake.wait(), WATCH_INTERVAL)
            live.wake.clear()
            try:
                lapse = self.supervision_lapse(live)
                if lapse is not None and live.media.admitted and not live.media.paused:
                    log.warning("call %s paused: %s", live.call_id, lapse)
                    await self.pause(live, record.EventAuthor.system(), lapse)
                if loop.time() >= next_health:
                    next_health = loop.time() + HEALTH_INTERVAL
                    await live.send_to("supervisor", health_message(live))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the watchdog of call %s failed a check", live.call_id)

    def _leg_changed(self, call_id: uuid.UUID, role: CallRole, state: str) -> None:
        """The relay's callback: a participant's peer connection changed state."""
        live = self._live.get(call_id)
        if live is None or live.ended:
            return
        live.wake.set()
        if state == "connected":
            live.dead_legs.discard(role)
        elif state in ("failed", "closed") and role in live.connections:
            if role in live.dead_legs:
                return  # "closed" follows "failed": one alarm
            live.dead_legs.add(role)
            # The leg died under an open socket (e.g. ICE consent expired): alarm the console,
            # and tell the participant how to come back.
            task = asyncio.get_running_loop().create_task(self._leg_died(live, role, state))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _leg_died(self, live: LiveCall, role: CallRole, state: str) -> None:
        await live.send_to(
            "supervisor",
            {
                "type": "alarm",
                "role": role,
                "state": state,
                "text": LEG_DIED_WORDS[role],
            },
        )
        await live.send_to(role, {"type": "reconnect", "text": RECONNECT_WORDS})

    # ------------------------------------------------------------------ the window

    async def _run_window(self, live: LiveCall) -> None:
        """Warn ``warning_lead`` before the window ends, then end the call."""
        system = record.EventAuthor.system()
        try:
            if not live.warned:
                await _sleep_until(live.ends_at - self.warning_lead)
                if await self._claim_warning(live):
                    await live.broadcast(live.ending_soon_message())
            await _sleep_until(live.ends_at)
            await self.end(live, system, WINDOW_ENDED)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the window timer of call %s failed", live.call_id)

    async def _claim_warning(self, live: LiveCall) -> bool:
        """Write ``warning_sent_at`` and ``call_warned`` once per call, whichever node or
        process life gets here first. False if it was already sent (before a restart)."""
        live.warned = True
        message = live.ending_soon_message()
        text = f"The call ends in {message['minutes']} minutes."
        try:
            async with self._transaction(record.EventAuthor.system()) as work:
                call = await work.session.get(Call, live.call_id, with_for_update=True)
                if call is None or call.warning_sent_at is not None:
                    return False
                call.warning_sent_at = datetime.now(UTC)
                await work.record(
                    live.family_id, "call_warned", {"call_id": live.call_id, "text": text}
                )
        except Exception:
            # The people in the call still need the warning; the record misses it, loudly.
            log.exception("the end-of-window warning of call %s was not recorded", live.call_id)
        return True

    # ------------------------------------------------------------------ the sweep

    def start_sweeping(self, interval: float = SWEEP_INTERVAL) -> None:
        """Run :meth:`sweep` every ``interval`` seconds (and when :meth:`sweep_soon` asks)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_periodically(interval), name="calls-sweep"
            )

    def sweep_soon(self) -> None:
        self._sweep_wanted.set()

    async def _sweep_periodically(self, interval: float) -> None:
        while True:
            # Waits first, like service.background: a restart loop cannot hammer the database.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_wanted.wait(), interval)
            self._sweep_wanted.clear()
            try:
                await self.sweep()
                await self.dismiss_ungranted()
            except Exception:
                log.exception("the calls sweep failed; it runs again in %ss", interval)

    async def sweep(self, now: datetime | None = None) -> int:
        """Close the calls whose window is over but that are still open in the database.

        - booked, nobody ever joined: ``status = ended``, reason ``missed``, ``call_missed``;
        - live, well past the window and not on this node: its node went away before its
          timer could end it, so ``call_ended`` with ``window_ended``.

        Each call is closed in its own transaction, re-checked under a row lock, so two nodes
        sweeping at once close it once. Returns how many calls were closed.
        """
        now = now or datetime.now(UTC)
        async with self.services.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Call.id, Call.status)
                    .where(
                        ((Call.status == CallStatus.SCHEDULED) & (Call.ends_at <= now))
                        | ((Call.status == CallStatus.LIVE) & (Call.ends_at <= now - ORPHAN_GRACE))
                    )
                    .order_by(Call.ends_at)
                    .limit(SWEEP_BATCH)
                )
            ).all()
        closed = 0
        for call_id, status in rows:
            if call_id in self._live:
                continue  # this node's own timer ends it
            if await self._close_past_call(call_id, status, now):
                closed += 1
        return closed

    async def dismiss_ungranted(self) -> int:
        """Close the sockets of interpreters on this node whose booking went: taking them off
        on another node (whose registry does not hold their socket) reaches them within one
        sweep. Returns how many were closed."""
        present = [
            (live.call_id, connection.actor.id)
            for live in self._live.values()
            if (connection := live.connections.get("interpreter")) is not None
            and connection.actor.id is not None
        ]
        if not present:
            return 0
        async with self.services.sessionmaker() as session:
            rows = await session.execute(
                select(Grant.scope_id, Grant.user_id).where(
                    Grant.scope_kind == GrantScope.CALL,
                    Grant.scope_id.in_([call_id for call_id, _ in present]),
                )
            )
            granted = {(call_id, user_id) for call_id, user_id in rows}
        dismissed = 0
        for call_id, user_id in present:
            if (call_id, user_id) not in granted and await self.dismiss(
                call_id, "interpreter", user_id, NO_LONGER_BOOKED
            ):
                dismissed += 1
        return dismissed

    async def _close_past_call(self, call_id: uuid.UUID, seen: CallStatus, now: datetime) -> bool:
        async with self._transaction(record.EventAuthor.system()) as work:
            call = await work.session.get(Call, call_id, with_for_update=True)
            if call is None or call.status is not seen or call.ends_at > now:
                return False  # joined, cancelled or ended meanwhile
            reason = MISSED if seen is CallStatus.SCHEDULED else WINDOW_ENDED
            call.status = CallStatus.ENDED
            call.ended_at = now
            call.end_reason = reason
            if reason == MISSED:
                await work.record(call.family_id, "call_missed", {"call_id": call_id})
            else:
                await work.record(
                    call.family_id, "call_ended", {"call_id": call_id, "reason": reason}
                )
        log.info("call %s closed by the sweep (%s)", call_id, reason)
        return True

    # ------------------------------------------------------------------ helpers

    @contextlib.asynccontextmanager
    async def _transaction(self, actor: record.EventAuthor) -> AsyncIterator[record.RecordedWork]:
        services = self.services
        async with record.record_transaction(
            services.sessionmaker, services.record_log, actor
        ) as work:
            yield work

    async def _record(
        self,
        live: LiveCall,
        actor: record.EventAuthor,
        kind: str,
        payload: Mapping[str, Any],
        *,
        must_succeed: bool = False,
    ) -> None:
        try:
            async with self._transaction(actor) as work:
                await work.record(live.family_id, kind, {"call_id": live.call_id, **payload})
        except Exception:
            log.exception("record event %s of call %s was not written", kind, live.call_id)
            if must_succeed:
                raise

    async def close(self) -> None:
        """Shutdown: close every relay and socket. The calls are not ended; people may rejoin."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        lives = list(self._live.values())
        self._live.clear()
        # Refusals counted but not yet written are written now, not lost with the process.
        windows = list(self._refusal_windows.items())
        self._refusal_windows.clear()
        for (user_id, _, _), window in windows:
            if window.flush is not None:
                window.flush.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await window.flush
            if window.repeats:
                await self._write_repeats(user_id, window)
        for live in lives:
            for task in (live.timer, live.watchdog):
                if task is not None:
                    task.cancel()
        await asyncio.gather(*(live.media.close() for live in lives), return_exceptions=True)
        for live in lives:
            for connection in list(live.connections.values()):
                await connection.close(CLOSE_GOING_AWAY, "the server is restarting")
        timers = [t for live in lives for t in (live.timer, live.watchdog) if t is not None]
        await asyncio.gather(*timers, return_exceptions=True)
        # Each leave closes its relay leg and writes its record event; a leave that cannot
        # finish (a relay already closed under it) must not hold the shutdown.
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_LEAVE_SECONDS)
            for task in stuck:
                log.warning("a participant's leave did not finish at shutdown: %s", task)
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)


def _check_one_interpreter(live: LiveCall | None, connection: Connection) -> None:
    """A call has one interpreter's place: a second booked interpreter is refused, never put
    in the first one's place (their own second window replaces their first, as for anyone)."""
    if connection.role != "interpreter" or live is None:
        return
    present = live.connections.get("interpreter")
    if present is not None and present.actor.id != connection.actor.id:
        raise Conflict(
            "Another interpreter is already in this call. Please ask the centre which of you "
            "should interpret.",
            code="interpreter_present",
        )


def refusals_message(count: int, latest: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "type": "refused",
        "count": count,
        "latest": [{"reason": d["reason"], "what": d["what"]} for d in latest],
    }


def health_message(live: LiveCall) -> dict[str, Any]:
    """Each leg's state, frame rates and loss, for the supervisor's console."""
    legs = {leg.role: leg for leg in live.media.leg_health()}
    out: list[dict[str, Any]] = []
    for role in ("parent", "child", "supervisor"):
        leg = legs.get(role)
        if leg is None:
            state = "waiting" if role in live.connections else "not here"
            out.append({"role": role, "state": state})
        else:
            out.append(
                {
                    "role": role,
                    "state": leg.state,
                    "video_fps": leg.video_fps,
                    "audio_fps": leg.audio_fps,
                    "loss": leg.loss,
                    "report_age": leg.report_age,
                }
            )
    return {"type": "health", "legs": out}


def _check_joinable(call: Call, now: datetime, node: str) -> None:
    if call.status is CallStatus.ENDED:
        raise Conflict("This call has ended.", code="call_ended")
    if call.status is CallStatus.CANCELLED:
        raise Conflict("This call was cancelled.", code="call_cancelled")
    if now < call.starts_at - JOIN_EARLY:
        raise Conflict("This call has not started yet. Please come back closer to the time.")
    if now >= call.ends_at:
        raise Conflict("The time for this call is over.", code="call_ended")
    if call.media_node is not None and call.media_node != node:
        raise Conflict(
            "This call runs on another media server, which could not be reached. "
            "Please try again in a moment.",
            code="wrong_media_node",
        )


async def _sleep_until(when: datetime) -> None:
    while True:
        delay = (when - datetime.now(UTC)).total_seconds()
        if delay <= 0:
            return
        await asyncio.sleep(min(delay, 60.0))
