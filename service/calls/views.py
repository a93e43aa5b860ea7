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

from service.appkeys import MAILER, SESSIONMAKER, SETTINGS
from service.calls import scheduling, signalling
from service.calls.mine import calls_for_parent
from service.calls.registry import END_REASONS, CallRole, turn_label
from service.calls.scheduling import CallPlan
from service.errors import Invalid, NotFound
from service.http.access import (
    CENTRE_ROLES,
    STAFF_ROLES,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    family_of_call,
    path_uuid,
    signed_in,
)
from service.services import Services
from service.turn import ice_servers_for
from storage.models import Call, CallStatus, Child, ContactLevel, Family, Role

PARTICIPANT_ROLES = frozenset({Role.PARENT, *CENTRE_ROLES})


def _form_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _plan_from(form: Any, zone: tzinfo) -> CallPlan:
    return CallPlan(
        child_id=scheduling.parse_uuid(_form_text(form, "child_id"), "child_id", "a child"),
        supervisor_id=scheduling.parse_uuid(
            _form_text(form, "supervisor_id"), "supervisor_id", "a supervisor"
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
        calls = await scheduling.upcoming_calls(session, actor)
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
        children = await scheduling.children_of(session, family_id)
        supervisors = await scheduling.supervisors_of(session, actor.centre_id)
    return {
        "family": family,
        "call": call,
        "children": children,
        "supervisors": supervisors,
        "errors": errors,
    }


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
    except Invalid as exc:
        context = await _form_context(request, family_id, None, {exc.field or "form": exc.message})
        return aiohttp_jinja2.render_template("calls/schedule.html", request, context, status=422)
    async with request.app[SESSIONMAKER]() as session:
        await scheduling.notify_parents(
            session, request.app[MAILER], request.app[SETTINGS], call, "call_scheduled"
        )
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
    actor = current_actor(request)
    role = signalling.call_role_of(actor.role)
    call = await _load_call(request)
    async with request.app[SESSIONMAKER]() as session:
        family = await session.get(Family, call.family_id)
        child = await session.get(Child, call.child_id) if call.child_id else None
    supervised = family is not None and family.contact_level is ContactLevel.SUPERVISED
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
        "child_name": child.name if child is not None else "",
    }
    return aiohttp_jinja2.render_template(f"calls/{role}.html", request, context)


def setup(app: web.Application) -> None:
    booking = signed_in(STAFF_ROLES, family=family_in_path())
    of_call = family_of_call()
    call_staff = signed_in(STAFF_ROLES, family=of_call)
    participants = signed_in(PARTICIPANT_ROLES, family=of_call)
    add_route(app, "GET", "/calls", calls_page, signed_in(PARTICIPANT_ROLES))
    add_route(app, "GET", "/calls/new/{family_id}", new_call_page, booking)
    add_route(app, "POST", "/calls/new/{family_id}", create_call, booking)
    add_route(app, "GET", "/calls/{call_id}/edit", edit_call_page, call_staff)
    add_route(app, "POST", "/calls/{call_id}/edit", change_call, call_staff)
    add_route(app, "POST", "/calls/{call_id}/cancel", cancel_call, call_staff)
    # The page name ends in /join: the only pages allowed camera and microphone (headers.py).
    add_route(app, "GET", "/calls/{call_id}/join", join_page, participants)
    add_route(app, "GET", "/calls/{call_id}/signal", signalling.signal, participants)
