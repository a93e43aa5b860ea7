"""Call signalling: one authenticated WebSocket per participant at ``/calls/{call_id}/signal``.

The access middleware has already checked the session cookie and the family rule on the upgrade
request; this module checks the Origin, decides the participant's role from the account, then
reads a small closed set of messages. Anything else closes the socket with code 4400 and a
reason. Only the server answers offers: a participant's SDP goes to the server and the server's
answer comes back to that participant alone, so no participant ever sees another's addresses.
There is no ICE trickle: both sides gather their candidates before sending a description.

Client → server::

    {"type": "offer", "sdp": str}                        every role; after the first, at most
                                                        OFFERS_PER_MINUTE a minute (registry.py)
    {"type": "heartbeat"}                               every role, every second: the supervisor's
                                                        proof of life (see registry.py)
    {"type": "admit"} | {"type": "pause"} | {"type": "resume"}   supervisor
    {"type": "warn", "text": str}                       supervisor, at most 200 characters
    {"type": "end", "reason": one of END_REASONS}        supervisor
    {"type": "note", "text": str}                       supervisor, supervised families only
    {"type": "stop-request"}                            child ("I want to stop"; recorded)

Server → client: ``answer`` (sdp + sources by mid), ``state``, ``waiting``, ``paused`` (reason +
plain words), ``resumed``, ``warning``, ``ending-soon``, ``stop-requested``, ``ended``, ``error``,
``reconnect`` (your leg died); to the supervisor also ``health`` (each leg), ``alarm`` (a leg died)
and ``refused`` (count and details of refused attempts on this call).

Refused attempts (a forbidden command, another family's account, a foreign Origin, too many
messages or offers, a staff browser not locked to the call asking to be the child: close 4403)
go to the security log and to the supervisor's console.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import WSMsgType, web
from sqlalchemy import select

from service.appkeys import CALLS, LOCKED_CALL, SESSIONMAKER, SETTINGS
from service.calls.device import check_account_on_device, locked_to
from service.calls.forwarding import forward
from service.calls.media import CallMediaError
from service.calls.registry import (
    CLOSE_ENDED,
    END_REASONS,
    CallRegistry,
    CallRole,
    Connection,
    LiveCall,
)
from service.errors import Conflict, Forbidden, LetterboxError
from service.http.access import Actor, current_actor, current_family, path_uuid
from service.http.clientip import client_address
from service.i18n import N_
from service.services import event_author
from storage.models import Family, Role

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 64 * 1024
# aiohttp drops frames beyond this itself (close code 1009); between the two limits we close
# with our own code and a reason a person can read.
PROTOCOL_MAX_BYTES: Final = 4 * MAX_MESSAGE_BYTES
RATE_PER_SECOND: Final = 20.0
RATE_BURST: Final = 40.0
MAX_WARNING_CHARS: Final = 200
MAX_NOTE_CHARS: Final = 4000

# Warnings the console offers with one click; a supervisor may also type a short one.
WARNINGS: Final = (
    N_("Please do not ask where the child lives or goes to school."),
    N_("Please do not discuss the court case or the other parent."),
    N_("Please keep the conversation kind and calm."),
    N_("Please do not make promises about future visits."),
    N_("Please stay in view of the camera."),
)

CLOSE_BAD_MESSAGE: Final = 4400
CLOSE_NOT_ALLOWED: Final = 4403
CLOSE_CONFLICT: Final = 4409
CLOSE_TOO_FAST: Final = 4429

CHILD_NEEDS_DEVICE: Final = (
    "The child's screen opens only on a device locked to this call with the staff password."
)

SUPERVISOR_ONLY: Final = frozenset({"admit", "pause", "resume", "warn", "end", "note"})
# Each message type and the exact set of fields it carries (besides "type").
SCHEMA: Final[Mapping[str, frozenset[str]]] = {
    "offer": frozenset({"sdp"}),
    "admit": frozenset(),
    "pause": frozenset(),
    "resume": frozenset(),
    "warn": frozenset({"text"}),
    "end": frozenset({"reason"}),
    "note": frozenset({"text"}),
    "stop-request": frozenset(),
    "heartbeat": frozenset(),
}


class BadMessage(Exception):
    """A message outside the schema: the socket closes with ``code`` and this reason."""

    def __init__(self, reason: str, code: int = CLOSE_BAD_MESSAGE) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Message:
    type: str
    fields: Mapping[str, str]


def parse_message(raw: str | bytes, role: CallRole) -> Message:
    """Validate one client message against the closed schema and the sender's role."""
    if isinstance(raw, bytes):
        raise BadMessage("messages must be JSON text")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        raise BadMessage("message is not JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in SCHEMA:
        raise BadMessage("unknown message type")
    expected = SCHEMA[kind]
    if set(data) - {"type"} != expected:
        raise BadMessage(f"{kind} takes exactly: {', '.join(sorted(expected)) or 'no fields'}")
    fields: dict[str, str] = {}
    for name in expected:
        value = data[name]
        if not isinstance(value, str):
            raise BadMessage(f"{kind}.{name} must be text")
        fields[name] = value
    if kind in SUPERVISOR_ONLY and role != "supervisor":
        raise BadMessage(f"only the supervisor may {kind}", CLOSE_NOT_ALLOWED)
    if kind == "stop-request" and role != "child":
        raise BadMessage("only the child's device may ask to stop", CLOSE_NOT_ALLOWED)
    if kind == "warn":
        text = fields["text"].strip()
        if not text or len(text) > MAX_WARNING_CHARS:
            raise BadMessage(f"a warning is 1 to {MAX_WARNING_CHARS} characters")
        fields["text"] = text
    if kind == "note":
        text = fields["text"].strip()
        if not text or len(text) > MAX_NOTE_CHARS:
            raise BadMessage(f"a note is 1 to {MAX_NOTE_CHARS} characters")
        fields["text"] = text
    if kind == "end" and fields["reason"] not in END_REASONS:
        raise BadMessage("unknown end reason")
    return Message(kind, fields)


class TokenBucket:
    """Per-connection rate limit: ``rate`` messages a second, bursts up to ``burst``."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


# Close codes that mean a refused attempt (kept in the security log), and its reason code.
REFUSAL_REASONS: Final[Mapping[int, str]] = {
    CLOSE_NOT_ALLOWED: "forbidden_command",
    CLOSE_TOO_FAST: "rate_limited",
}


def call_role_of(role: Role) -> CallRole:
    """The part an account plays in a call it may access (the family rule already passed).

    The child has no account: staff open the child's page on a centre device. Supervisors and
    admins of the centre supervise; approved senders are the parent; a booked interpreter
    interprets (no controls).
    """
    if role is Role.PARENT:
        return "parent"
    if role is Role.STAFF:
        return "child"
    if role in (Role.SUPERVISOR, Role.ADMIN):
        return "supervisor"
    if role is Role.INTERPRETER:  # only on calls they are booked on (the grant rule)
        return "interpreter"
    raise Forbidden("You cannot take part in calls.")


async def check_origin(request: web.Request) -> None:
    # Browsers always send Origin on a WebSocket upgrade; a cross-site page gets its own.
    origin = request.headers.get("Origin")
    if origin != request.app[SETTINGS].public_origin:
        await _refused(
            request,
            current_actor(request).user_id,
            "bad_origin",
            f"A connection from another site ({(origin or 'no Origin')[:100]}) was refused.",
        )
        raise Forbidden("This connection did not come from the Letterbox site.", code="bad_origin")


async def _refused(request: web.Request, user_id: uuid.UUID | None, reason: str, what: str) -> None:
    await request.app[CALLS].refused(
        uuid.UUID(request.match_info["call_id"]),  # the family rule already parsed it
        current_family(request),
        user_id=user_id,
        ip=client_address(request),
        reason=reason,
        what=what,
    )


async def another_family(request: web.Request, actor: Actor, family_id: uuid.UUID) -> None:
    """The family rule refused an account on this call's socket (``Access.on_refused``)."""
    await request.app[CALLS].refused(
        uuid.UUID(request.match_info["call_id"]),
        family_id,
        user_id=actor.user_id,
        ip=client_address(request),
        reason="another_family",
        what=f"An account with no access to this family ({actor.role.value}) tried to join.",
    )


async def _reader_language(request: web.Request, role: CallRole) -> str:
    """The participant's language; the child's screen speaks the child's (set on the family)."""
    if role != "child":
        return current_actor(request).language
    async with request.app[SESSIONMAKER]() as session:
        language = await session.scalar(
            select(Family.child_language).where(Family.id == current_family(request))
        )
    return language or "en"


async def signal(request: web.Request) -> web.StreamResponse:
    """GET /calls/{call_id}/signal: the participant's signalling WebSocket."""
    await check_origin(request)
    actor = current_actor(request)
    check_account_on_device(request, actor)
    role = call_role_of(actor.role)
    call_id = path_uuid(request, "call_id")
    registry = request.app[CALLS]

    # The heartbeat pings the browser; a socket that stops answering (a laptop lid closed, a
    # network gone without a FIN) is closed, and the participant is marked left.
    ws = web.WebSocketResponse(max_msg_size=PROTOCOL_MAX_BYTES, heartbeat=registry.heartbeat)
    if not ws.can_prepare(request).ok:
        raise Conflict("This address is for the call page's connection only.")
    await ws.prepare(request)
    connection = Connection(ws, role, event_author(actor), await _reader_language(request, role))
    if role == "child" and not locked_to(request.get(LOCKED_CALL), call_id):
        # A staff session in an ordinary browser never plays the child: the child's media
        # reaches only a device locked to this call (service.calls.device).
        await _refused(
            request,
            actor.user_id,
            "child_without_device",
            "A staff account tried to join as the child from a browser not locked to this call.",
        )
        await connection.close(CLOSE_NOT_ALLOWED, CHILD_NEEDS_DEVICE)
        return ws
    blocked = registry.get(call_id)
    if blocked is not None and (wait := blocked.blocked_for(role)) > 0:
        # Cut off for an offer flood (already in the security log): no join, no record write.
        await connection.close(
            CLOSE_TOO_FAST, f"too many offers: please wait {math.ceil(wait)} seconds"
        )
        return ws
    try:
        live = await registry.join(call_id, connection)
    except LetterboxError as exc:
        # The call lives on another worker or node: relay this socket to it.
        if exc.code == "wrong_media_node" and await forward(
            request, ws, registry, PROTOCOL_MAX_BYTES
        ):
            return ws
        code = CLOSE_ENDED if exc.code == "call_ended" else CLOSE_CONFLICT
        if exc.code == "call_ended":
            await connection.send({"type": "ended", "reason": "ended"})
        await connection.send({"type": "error", "message": exc.message})
        await connection.close(code, exc.message)
        return ws
    try:
        await _serve(live, connection, request)
    finally:
        await asyncio.shield(registry.leave(live, connection))
        if not ws.closed:
            # A message (a heartbeat) may arrive while the call ends: end() closes this socket
            # itself once the end is recorded (a reconnect then reads "ended" too).
            if live.ended:
                try:
                    await asyncio.wait_for(live.end_recorded.wait(), 30)
                except TimeoutError:
                    await connection.close(CLOSE_ENDED, "the call has ended")
            else:
                await connection.close(1000, "goodbye")
    return ws


async def _serve(live: LiveCall, connection: Connection, request: web.Request) -> None:
    registry = request.app[CALLS]
    ws = connection.ws
    bucket = TokenBucket()
    # Per participant, not per socket: reconnecting does not refill it.
    offers = live.offer_budget(connection.role)
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        try:
            if not bucket.take():
                raise BadMessage("too many messages", CLOSE_TOO_FAST)
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                raise BadMessage("unexpected frame")
            message = parse_message(msg.data, connection.role)
            connection.heard()
            if message.type == "offer" and not offers.take():
                live.block(connection.role)
                raise BadMessage(
                    f"too many offers: after the first, at most {offers.per_minute} a minute",
                    CLOSE_TOO_FAST,
                )
            await _handle(registry, live, connection, message)
        except BadMessage as exc:
            log.info("call signalling closed: %s (%s)", exc.reason, connection.role)
            reason = REFUSAL_REASONS.get(exc.code)
            logged = None
            if reason is not None:
                # Its own task: aiohttp cancels this handler once the client has gone.
                logged = asyncio.get_running_loop().create_task(
                    _refused(
                        request,
                        connection.actor.id,
                        reason,
                        f"The {connection.role}'s connection was closed: {exc.reason}.",
                    )
                )
            await connection.close(exc.code, exc.reason)
            if logged is not None:
                await asyncio.shield(logged)
            return
        except CallMediaError as exc:  # InvalidOffer, InvalidRole
            await connection.close(CLOSE_BAD_MESSAGE, str(exc))
            return
        except LetterboxError as exc:
            code = CLOSE_ENDED if exc.code == "call_ended" else CLOSE_NOT_ALLOWED
            await connection.close(code, exc.message)
            return
        if live.ended:
            return


async def _handle(
    registry: CallRegistry, live: LiveCall, connection: Connection, message: Message
) -> None:
    by = connection.actor
    kind = message.type
    if kind == "offer":
        result = await registry.offer(live, connection, message.fields["sdp"])
        # Only to the offerer: the answer holds the server's candidates, never another client's.
        await connection.send(
            {"type": "answer", "sdp": result.sdp, "sources": dict(result.sources_by_mid)}
        )
    elif kind == "admit":
        await registry.admit(live, by)
    elif kind == "pause":
        await registry.pause(live, by)
    elif kind == "resume":
        await registry.resume(live, by)
    elif kind == "warn":
        await registry.warn(live, by, message.fields["text"])
    elif kind == "end":
        # Shielded: the supervisor's own socket dropping must not leave the call half ended.
        await asyncio.shield(registry.end(live, by, message.fields["reason"]))
    elif kind == "note":
        await registry.note(live, by, message.fields["text"])
        await connection.send({"type": "note-saved"})
    elif kind == "stop-request":
        await registry.stop_requested(live, by)
    elif kind == "heartbeat":
        pass  # connection.heard() already noted it
    else:  # pragma: no cover - parse_message admits only the kinds above
        raise BadMessage("unknown message type")
