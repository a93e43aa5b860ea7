"""Call pages: the list of upcoming calls, booking forms, and each participant's call page.

Every route is declared with its access rule; the family of a call comes from the path
(``family_of_call``) so the one family rule decides who may see it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, tzinfo
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from service.appkeys import CALLS, KEYRING, LOCKED_CALL, MAILER, SESSIONMAKER, SETTINGS
from service.calls import device, interpreters, scheduling, signalling
from service.calls.mine import calls_for_parent
from service.calls.registry import END_REASONS, NO_LONGER_BOOKED, CallRole, turn_label
from service.calls.scheduling import CallPlan
from service.errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from service.http.access import (
    CENTRE_ROLES,
    STAFF_ROLES,
    Actor,
    add_route,
    call_in_path,
    current_actor,
    current_family,
    family_in_path,
    family_of_call,
    path_uuid,
    signed_in,
)
from service.i18n import N_, set_language
from service.services import Services
from service.turn import ice_servers_for
from storage.children import child_names
from storage.models import Call, CallStatus, ContactLevel, Family, Role
from storage.record import RecordedWork

PARTICIPANT_ROLES = frozenset({Role.PARENT, *CENTRE_ROLES})
# An interpreter joins only the calls a grant names (service.calls.interpreters).
JOIN_ROLES = frozenset({*PARTICIPANT_ROLES, Role.INTERPRETER})


def _form_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _plan_from(form: Any, zone: tzinfo) -> CallPlan:
    return CallPlan(
        child_id=scheduling.parse_uuid(
            _form_text(form, "child_id"), "child_id", N_("Please choose a child.")
        ),
        supervisor_id=scheduling.parse_uuid(
            _form_text(form, "supervisor_id"), "supervisor_id", N_("Please choose a supervisor.")
        ),
        starts_at=scheduling.parse_time(_form_text(form, "starts_at"), "starts_at", zone),
        ends_at=scheduling.parse_time(_form_text(form, "ends_at"), "ends_at", zone),
    )


def _version(form: Any) -> int | None:
    text = _form_text(form, "version")
    return int(text) if text and text.isdigit() else None


async def calls_page(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    if actor.role is Role.PARENT:
        # "My calls": upcoming and past, each in plain words, "Join" live when it can be.
        calls = await calls_for_parent(Services.of(request.app), actor)
        return aiohttp_jinja2.render_template(
            "calls/mine.html",
            request,
            {
                "upcoming": [c for c in calls if c.upcoming],
                "past": [c for c in calls if not c.upcoming],
            },
        )
    return aiohttp_jinja2.render_template("calls/list.html", request, await _staff_calls(request))


async def _staff_calls(request: web.Request) -> dict[str, Any]:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER]() as session:
        calls = await scheduling.upcoming_calls(session, request.app[KEYRING], actor)
        families = (
            await scheduling.bookable_families(session, actor.centre_id)
            if actor.role in STAFF_ROLES
            else []
        )
    return {
        "calls": calls,
        "families": families,
        "may_book": actor.role in STAFF_ROLES,
        "cancel_reasons": scheduling.CANCEL_REASONS,
        "notice": request.query.get("done"),
    }


async def _form_context(
    request: web.Request, family_id: uuid.UUID, call: Call | None, errors: dict[str, str]
) -> dict[str, Any]:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER]() as session:
        family = await session.get(Family, family_id)
        if family is None:
            raise NotFound("We could not find that family.")
        children = await scheduling.children_of(session, request.app[KEYRING], family_id)
        supervisors = await scheduling.supervisors_of(session, actor.centre_id)
        booked = await interpreters.interpreters_of(session, call.id) if call else []
    return {
        "family": family,
        "call": call,
        "children": children,
        "supervisors": supervisors,
        "interpreters": booked,
        "errors": errors,
    }


async def _book_interpreter_from(
    form: Any, work: RecordedWork, services: Services, actor: Actor, call_id: uuid.UUID
) -> interpreters.Booked | None:
    """The booking form's optional interpreter (by e-mail), in the booking's transaction."""
    email = (_form_text(form, "interpreter_email") or "").strip()
    if not email:
        return None
    name = _form_text(form, "interpreter_name") or ""
    return await interpreters.book_interpreter(work, services, actor, call_id, email, name)


async def new_call_page(request: web.Request) -> web.StreamResponse:
    context = await _form_context(request, current_family(request), None, {})
    return aiohttp_jinja2.render_template("calls/schedule.html", request, context)


async def create_call(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    family_id = current_family(request)
    form = await request.post()
    services = Services.of(request.app)
    try:
        plan = _plan_from(form, request.app[SETTINGS].zone)
        async with services.transaction(actor) as work:
            call = await scheduling.schedule_call(work, actor, family_id, plan)
            booked = await _book_interpreter_from(form, work, services, actor, call.id)
    except Invalid as exc:
        context = await _form_context(request, family_id, None, {exc.field or "form": exc.message})
        return aiohttp_jinja2.render_template("calls/schedule.html", request, context, status=422)
    async with request.app[SESSIONMAKER]() as session:
        await scheduling.notify_parents(
            session, request.app[MAILER], request.app[SETTINGS], call, "call_scheduled"
        )
    if booked is not None:
        await interpreters.send_booking_invite(services, booked)
    raise web.HTTPSeeOther("/calls?done=booked")


async def _load_call(request: web.Request) -> Call:
    call_id = path_uuid(request, "call_id")
    async with request.app[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
    if call is None:
        raise NotFound("We could not find that call.")
    return call


async def edit_call_page(request: web.Request) -> web.StreamResponse:
    call = await _load_call(request)
    context = await _form_context(request, call.family_id, call, {})
    return aiohttp_jinja2.render_template("calls/schedule.html", request, context)


async def change_call(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    call = await _load_call(request)
    form = await request.post()
    services = Services.of(request.app)
    try:
        plan = _plan_from(form, request.app[SETTINGS].zone)
        async with services.transaction(actor) as work:
            changed = await scheduling.change_call(
                work, actor, call.id, plan, version=_version(form)
            )
    except Invalid as exc:
        context = await _form_context(
            request, call.family_id, call, {exc.field or "form": exc.message}
        )
        return aiohttp_jinja2.render_template("calls/schedule.html", request, context, status=422)
    async with request.app[SESSIONMAKER]() as session:
        await scheduling.notify_parents(
            session, request.app[MAILER], request.app[SETTINGS], changed, "call_changed"
        )
    raise web.HTTPSeeOther("/calls?done=changed")


async def add_interpreter(request: web.Request) -> web.StreamResponse:
    """POST /calls/{call_id}/interpreters: book an interpreter (by e-mail) on a booked call.
    Nothing about the call changes for the parent, so they get no e-mail."""
    actor = current_actor(request)
    call = await _load_call(request)
    form = await request.post()
    services = Services.of(request.app)
    try:
        async with services.transaction(actor) as work:
            booked = await _book_interpreter_from(form, work, services, actor, call.id)
            if booked is None:
                raise Invalid(
                    "Please give the interpreter's e-mail address.", field="interpreter_email"
                )
    except Invalid as exc:
        context = await _form_context(
            request, call.family_id, call, {exc.field or "form": exc.message}
        )
        return aiohttp_jinja2.render_template("calls/schedule.html", request, context, status=422)
    await interpreters.send_booking_invite(services, booked)
    raise web.HTTPSeeOther(f"/calls/{call.id}/edit")


async def remove_interpreter(request: web.Request) -> web.StreamResponse:
    """POST /calls/{call_id}/interpreters/{user_id}/remove: the grant goes with it."""
    call = await _load_call(request)
    try:
        interpreter_id = uuid.UUID(request.match_info["user_id"])
    except ValueError:
        raise NotFound("That interpreter is not booked on this call.") from None
    async with Services.of(request.app).transaction(current_actor(request)) as work:
        await interpreters.remove_interpreter(work, call.id, interpreter_id)
    # Taken off mid-call, they leave at once: a grant that went must not leave media flowing.
    # (On another node than the call's, that node's sweep closes it: dismiss_ungranted.)
    await request.app[CALLS].dismiss(call.id, "interpreter", interpreter_id, NO_LONGER_BOOKED)
    raise web.HTTPSeeOther(f"/calls/{call.id}/edit")


async def interpreter_home(request: web.Request) -> web.StreamResponse:
    """GET /interpreter: the calls this interpreter is booked on, and nothing else."""
    async with request.app[SESSIONMAKER]() as session:
        calls = await interpreters.calls_of_interpreter(session, current_actor(request))
    return aiohttp_jinja2.render_template("calls/interpreter_home.html", request, {"calls": calls})


async def cancel_call(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    call = await _load_call(request)
    form = await request.post()
    async with Services.of(request.app).transaction(actor) as work:
        cancelled = await scheduling.cancel_call(
            work, call.id, _form_text(form, "reason") or "", version=_version(form)
        )
    async with request.app[SESSIONMAKER]() as session:
        await scheduling.notify_parents(
            session, request.app[MAILER], request.app[SETTINGS], cancelled, "call_cancelled"
        )
    raise web.HTTPSeeOther("/calls?done=cancelled")


def _ice_servers_json(request: web.Request, call: Call, role: CallRole) -> str:
    # Always a list, never unset: a browser with no iceServers uses none, which is what we want
    # when the centre runs no TURN server (host candidates to the media node are enough). TURN
    # credentials are made for this page and expire (service.turn); the secret stays here.
    servers = ice_servers_for(
        request.app[SETTINGS], turn_label(f"{role}-{call.id.hex}"), datetime.now(UTC)
    )
    return json.dumps(
        [
            {k: v for k, v in server.items() if k in ("urls", "username", "credential")}
            for server in servers
        ]
    )


async def join_page(request: web.Request) -> web.StreamResponse:
    """GET /calls/{call_id}/join: the parent's, child's or supervisor's page for this call."""
    return await _render_join(request)


async def _render_join(
    request: web.Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    actor = current_actor(request)
    device.check_account_on_device(request, actor)
    locked = request.get(LOCKED_CALL)
    role: CallRole = signalling.call_role_of(actor.role)
    call = await _load_call(request)
    if role == "child" and not device.locked_to(locked, call.id):
        # The child's screen exists only on a device locked to this call: an ordinary staff
        # browser would put every family's moderation queue one click from the child.
        raise web.HTTPSeeOther(device.device_page(call.id))
    async with request.app[SESSIONMAKER]() as session:
        family = await session.get(Family, call.family_id)
        names = await child_names(session, request.app[KEYRING], [call.child_id])
    supervised = family is not None and family.contact_level is ContactLevel.SUPERVISED
    if role == "child" and family is not None:
        set_language(family.child_language)  # the child's screen, in the child's language
    context: dict[str, Any] = {
        "call": call,
        "role": role,
        "closed": call.status in (CallStatus.ENDED, CallStatus.CANCELLED),
        "ice_servers": _ice_servers_json(request, call, role),
        "signal_path": f"/calls/{call.id}/signal",
        "supervised": supervised,
        "end_reasons": END_REASONS,
        "warnings": signalling.WARNINGS,
        "max_warning_chars": signalling.MAX_WARNING_CHARS,
        "device_locked": locked is not None,
        "errors": errors or {},
        "child_name": names.get(call.child_id, "") if call.child_id else "",
    }
    return aiohttp_jinja2.render_template(f"calls/{role}.html", request, context, status=status)


# --- the child's call on a locked centre device --------------------------------------------


async def _device_page(
    request: web.Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    call = await _load_call(request)
    async with request.app[SESSIONMAKER]() as session:
        names = await child_names(session, request.app[KEYRING], [call.child_id])
    child = names.get(call.child_id, "") if call.child_id else ""
    context = {"call": call, "child_name": child, "errors": errors or {}}
    return aiohttp_jinja2.render_template("calls/device.html", request, context, status=status)


async def device_page(request: web.Request) -> web.StreamResponse:
    """GET /calls/{call_id}/device: the staff password form that locks this device to the call."""
    return await _device_page(request)


async def open_device(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    call = await _load_call(request)
    try:
        opened = await device.open_device(
            Services.of(request.app),
            current_actor(request),
            call.id,
            _form_text(form, "password") or "",
        )
    except (Forbidden, Throttled, Conflict) as exc:
        return await _device_page(request, errors={"password": exc.message}, status=exc.status)
    # A plain response, not a raised redirect, so the cookie set on it is certainly sent.
    response = web.Response(status=303, headers={"Location": device.call_page(call.id)})
    settings = request.app[SETTINGS]
    response.set_cookie(
        device.device_cookie_name(settings.secure_cookies),
        opened.device_token,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )
    return response


async def leave_device(request: web.Request) -> web.StreamResponse:
    """POST /calls/{call_id}/device/leave: the staff password releases the device."""
    locked = request.get(LOCKED_CALL)
    call = await _load_call(request)
    if locked is None or locked.call_id != call.id:
        raise Conflict("This device is not locked to this call.", code="not_locked")
    form = await request.post()
    try:
        await device.release_device(
            Services.of(request.app),
            current_actor(request),
            locked,
            _form_text(form, "password") or "",
        )
    except (Forbidden, Throttled) as exc:
        # A wrong password (or too many) keeps the device on the call, the problem shown there.
        return await _render_join(request, errors={"password": exc.message}, status=exc.status)
    response = web.Response(status=303, headers={"Location": "/calls"})
    settings = request.app[SETTINGS]
    response.del_cookie(
        device.device_cookie_name(settings.secure_cookies),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )
    return response


def setup(app: web.Application) -> None:
    booking = signed_in(STAFF_ROLES, family=family_in_path())
    of_call = family_of_call()
    call_staff = signed_in(STAFF_ROLES, family=of_call)
    participants = signed_in(JOIN_ROLES, family=of_call, grant=call_in_path())
    add_route(app, "GET", "/calls", calls_page, signed_in(PARTICIPANT_ROLES))
    add_route(app, "GET", "/calls/new/{family_id}", new_call_page, booking)
    add_route(app, "POST", "/calls/new/{family_id}", create_call, booking)
    add_route(app, "GET", "/calls/{call_id}/edit", edit_call_page, call_staff)
    add_route(app, "POST", "/calls/{call_id}/edit", change_call, call_staff)
    add_route(app, "POST", "/calls/{call_id}/cancel", cancel_call, call_staff)
    add_route(app, "POST", "/calls/{call_id}/interpreters", add_interpreter, call_staff)
    add_route(
        app,
        "POST",
        "/calls/{call_id}/interpreters/{user_id}/remove",
        remove_interpreter,
        call_staff,
    )
    add_route(app, "GET", "/interpreter", interpreter_home, signed_in({Role.INTERPRETER}))
    # The page name ends in /join: the only pages allowed camera and microphone (headers.py).
    add_route(app, "GET", "/calls/{call_id}/join", join_page, participants)
    # Another family's account trying this socket is kept in the security log.
    socket_access = signed_in(
        JOIN_ROLES, family=of_call, grant=call_in_path(), on_refused=signalling.another_family
    )
    add_route(app, "GET", "/calls/{call_id}/signal", signalling.signal, socket_access)
    # Only the account that plays the child's device may lock one (an admin's would be a
    # supervisor console).
    device_staff = signed_in({Role.STAFF}, family=of_call)
    add_route(app, "GET", "/calls/{call_id}/device", device_page, device_staff)
    add_route(app, "POST", "/calls/{call_id}/device", open_device, device_staff)
    add_route(app, "POST", "/calls/{call_id}/device/leave", leave_device, device_staff)
