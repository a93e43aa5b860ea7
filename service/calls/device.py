"""The child's call on a locked centre device.

A staff member opens a booked call's child screen on a centre device by typing their password
(``open_device``). The device then gets a random token in a cookie (only its hash is kept, on a
``CallDevice`` row) and, until the staff password is given again (``release_device``), every
request from it is checked by :func:`call_device_lock_middleware`, before anyone is signed in
or any route is looked at: only that call's page (which becomes its goodbye when the call
ends), its signalling socket, the way out, the static files and the sign-in pages get through.
Everything else — the moderation queue, family pages, staff pages, other calls, the API — is
sent back to the call. It works like an opening session's device (``letterbox.devicelock``),
with its own cookie so the two never mix.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select

from service.accounts import confirm_staff_password
from service.appkeys import LOCKED_CALL, SESSIONMAKER, SETTINGS
from service.calls.devicestate import LockedCall
from service.errors import Conflict, Forbidden, NotFound
from service.http.access import Actor
from service.services import Services
from storage.models import Call, CallDevice, CallStatus, Role

# The locked call's own addresses: its page, its signalling socket and the way out.
_CALL_PATH = re.compile(r"^/calls/(?P<call_id>[0-9a-fA-F-]{36})/(?:join|signal|device/leave)$")
# Static files the call page loads, and the health probe.
_ALWAYS = ("/static/", "/healthz")
# A staff sign-in that timed out is renewed with a password; afterwards the device lands back
# on the call, never on a staff page.
_SIGN_IN = frozenset({"/sign-in", "/two-factor"})


def device_cookie_name(secure: bool) -> str:
    return "__Host-letterbox-call-device" if secure else "letterbox-call-device"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedDevice:
    device_id: uuid.UUID
    device_token: str


async def open_device(
    services: Services, actor: Actor, call_id: uuid.UUID, password: str
) -> OpenedDevice:
    """Lock this device to the call's child screen, once the staff password is right."""
    await confirm_staff_password(
        services, actor.user_id, f"call-device-open:{actor.user_id}", password
    )
    token = secrets.token_urlsafe(32)
    # Locking a device is plumbing, not contact: the child's joining is recorded (call_joined).
    async with services.sessionmaker.begin() as session:
        call = await session.get(Call, call_id)
        if call is None:
            raise NotFound("We could not find that call.")
        if call.status in (CallStatus.ENDED, CallStatus.CANCELLED):
            raise Conflict(
                "This call is over, so there is nothing to open on this device.",
                code="call_ended",
            )
        device = CallDevice(
            id=uuid.uuid4(),
            call_id=call_id,
            staff_id=actor.user_id,
            device_token_hash=_token_hash(token),
            started_at=datetime.now(UTC),
        )
        session.add(device)
    return OpenedDevice(device.id, token)


async def release_device(
    services: Services, actor: Actor, locked: LockedCall, password: str
) -> None:
    """Only the staff password takes the device out of the call (throttled per device)."""
    await confirm_staff_password(
        services, actor.user_id, f"call-device-leave:{locked.device_id}", password
    )
    async with services.sessionmaker.begin() as session:
        device = await session.get(CallDevice, locked.device_id)
        if device is None:
            raise NotFound("We could not find that.")
        device.device_token_hash = None
        device.released_at = datetime.now(UTC)


async def locked_call(request: web.Request) -> LockedCall | None:
    """The call this device is locked to, if any (by its cookie)."""
    token = request.cookies.get(device_cookie_name(request.app[SETTINGS].secure_cookies))
    if not token:
        return None
    async with request.app[SESSIONMAKER]() as session:
        row = (
            await session.execute(
                select(CallDevice.id, CallDevice.call_id).where(
                    CallDevice.device_token_hash == _token_hash(token),
                    CallDevice.released_at.is_(None),
                )
            )
        ).first()
    return None if row is None else LockedCall(row[0], row[1])


def allowed_while_locked(path: str, call_id: uuid.UUID) -> bool:
    if path.startswith(_ALWAYS) or path in _SIGN_IN:
        return True
    match = _CALL_PATH.match(path)
    if match is None:
        return False
    try:
        return uuid.UUID(match["call_id"]) == call_id
    except ValueError:
        return False


def check_account_on_device(request: web.Request, actor: Actor) -> None:
    """On a locked device only a staff account takes part, as the child: anyone else signing
    in there (an admin, a supervisor) would put their own console on the child's screen."""
    if request.get(LOCKED_CALL) is not None and actor.role is not Role.STAFF:
        raise Forbidden(
            "This device is locked to a child's call. Only a staff member can use it.",
            code="locked_call_device",
        )


def call_page(call_id: uuid.UUID) -> str:
    return f"/calls/{call_id}/join"


def device_page(call_id: uuid.UUID) -> str:
    """Where staff type their password to lock a device to the call."""
    return f"/calls/{call_id}/device"


def locked_to(locked: LockedCall | None, call_id: uuid.UUID) -> bool:
    """Whether the request comes from a device locked to this very call: the only place the
    child's part of a call (its page and its socket) is played."""
    return locked is not None and locked.call_id == call_id


@web.middleware
async def call_device_lock_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    locked = await locked_call(request)
    if locked is not None:
        if not allowed_while_locked(request.path, locked.call_id):
            # 303 so a form post elsewhere also lands on the call with a GET.
            raise web.HTTPSeeOther(call_page(locked.call_id))
        request[LOCKED_CALL] = locked
    return await handler(request)
