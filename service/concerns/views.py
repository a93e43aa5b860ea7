"""Concern pages: raising one from an item, a call or an opening session; the staff-only
list; one concern, where the lead acknowledges it and records the action; the admin's page
designating safeguarding leads.

Thin handlers: parse, call one domain function, render or redirect. Access is declared per
route; the family comes from the item, call, session or path, so the one family rule decides.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import aiohttp_jinja2
from aiohttp import web

from service.concerns import concerns
from service.concerns.concerns import ConcernSource, SourceKind
from service.errors import Invalid
from service.http.access import (
    CENTRE_ROLES,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    family_of_call,
    family_of_item,
    family_of_opening_session,
    path_uuid,
    signed_in,
)
from service.i18n import N_
from service.services import Services
from storage.models import Role

__all__ = ["setup"]

CENTRE: Final = signed_in(CENTRE_ROLES)
ADMIN: Final = signed_in({Role.ADMIN})
CONCERN_OF_FAMILY: Final = signed_in(CENTRE_ROLES, family=family_in_path("family_id"))
_SOURCES: Final = {
    SourceKind.ITEM: ("item_id", N_("a letter, reply or gift")),
    SourceKind.CALL: ("call_id", N_("a video call")),
    SourceKind.SESSION: ("session_id", N_("an opening session")),
}
NOTICES: Final = {
    "raised": N_("The concern is raised. The safeguarding lead has been told."),
    "acknowledged": N_("You acknowledged the concern."),
    "actioned": N_("The action taken is recorded."),
    "leads": N_("The safeguarding leads are saved."),
}


def _services(request: web.Request) -> Services:
    return Services.of(request.app)


def _raise_pages(kind: SourceKind) -> tuple[Any, Any]:
    name, words = _SOURCES[kind]

    async def page(request: web.Request) -> web.StreamResponse:
        path_uuid(request, name)
        context = {"about": words, "action": request.path, "errors": {}, "values": {}}
        return aiohttp_jinja2.render_template("concerns/raise.html", request, context)

    async def submit(request: web.Request) -> web.StreamResponse:
        data = await request.post()
        try:
            await concerns.raise_concern(
                _services(request),
                current_actor(request),
                ConcernSource(kind, path_uuid(request, name)),
                str(data.get("what", "")),
            )
        except Invalid as error:
            context = {
                "about": words,
                "action": request.path,
                "errors": {error.field or "what": error.message},
                "values": dict(data),
            }
            return aiohttp_jinja2.render_template(
                "concerns/raise.html", request, context, status=422
            )
        raise web.HTTPSeeOther("/staff/concerns?done=raised")

    return page, submit


async def list_page(request: web.Request) -> web.StreamResponse:
    found = await concerns.concern_list(_services(request), current_actor(request))
    context = {"concerns": found, "notice": NOTICES.get(request.query.get("done", ""))}
    return aiohttp_jinja2.render_template("concerns/list.html", request, context)


async def concern_page(request: web.Request) -> web.StreamResponse:
    concern = await concerns.read_concern(
        _services(request),
        current_actor(request),
        current_family(request),
        path_uuid(request, "concern_id"),
    )
    context = {"concern": concern, "errors": {}, "values": {}}
    return aiohttp_jinja2.render_template("concerns/concern.html", request, context)


async def acknowledge(request: web.Request) -> web.StreamResponse:
    family_id, concern_id = current_family(request), path_uuid(request, "concern_id")
    await concerns.acknowledge(_services(request), current_actor(request), family_id, concern_id)
    raise web.HTTPSeeOther(f"/staff/families/{family_id}/concerns/{concern_id}?done=acknowledged")


async def record_action(request: web.Request) -> web.StreamResponse:
    family_id, concern_id = current_family(request), path_uuid(request, "concern_id")
    data = await request.post()
    try:
        await concerns.record_action(
            _services(request),
            current_actor(request),
            family_id,
            concern_id,
            str(data.get("action", "")),
            release=data.get("release") == "yes",
        )
    except Invalid as error:
        concern = await concerns.read_concern(
            _services(request), current_actor(request), family_id, concern_id
        )
        context = {"concern": concern, "errors": {"action": error.message}, "values": dict(data)}
        return aiohttp_jinja2.render_template("concerns/concern.html", request, context, status=422)
    raise web.HTTPSeeOther("/staff/concerns?done=actioned")


async def leads_page(request: web.Request) -> web.StreamResponse:
    staff = await concerns.centre_staff(_services(request), current_actor(request))
    context = {"staff": staff, "notice": NOTICES.get(request.query.get("done", ""))}
    return aiohttp_jinja2.render_template("concerns/leads.html", request, context)


async def set_lead(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    user_id: uuid.UUID = path_uuid(request, "user_id")
    await concerns.set_safeguarding_lead(
        _services(request), current_actor(request), user_id, data.get("lead") == "yes"
    )
    raise web.HTTPSeeOther("/admin/safeguarding-leads?done=leads")


def setup(app: web.Application) -> None:
    item_page, item_submit = _raise_pages(SourceKind.ITEM)
    call_page, call_submit = _raise_pages(SourceKind.CALL)
    session_page, session_submit = _raise_pages(SourceKind.SESSION)
    item = signed_in(CENTRE_ROLES, family=family_of_item("item_id"))
    call = signed_in(CENTRE_ROLES, family=family_of_call("call_id"))
    opening = signed_in(CENTRE_ROLES, family=family_of_opening_session("session_id"))
    add_route(app, "GET", "/staff/items/{item_id}/concern", item_page, item)
    add_route(app, "POST", "/staff/items/{item_id}/concern", item_submit, item)
    add_route(app, "GET", "/supervisor/calls/{call_id}/concern", call_page, call)
    add_route(app, "POST", "/supervisor/calls/{call_id}/concern", call_submit, call)
    add_route(app, "GET", "/staff/opening-sessions/{session_id}/concern", session_page, opening)
    add_route(app, "POST", "/staff/opening-sessions/{session_id}/concern", session_submit, opening)
    one = "/staff/families/{family_id}/concerns/{concern_id}"
    add_route(app, "GET", "/staff/concerns", list_page, CENTRE)
    add_route(app, "GET", one, concern_page, CONCERN_OF_FAMILY)
    add_route(app, "POST", f"{one}/acknowledge", acknowledge, CONCERN_OF_FAMILY)
    add_route(app, "POST", f"{one}/action", record_action, CONCERN_OF_FAMILY)
    add_route(app, "GET", "/admin/safeguarding-leads", leads_page, ADMIN)
    add_route(app, "POST", "/admin/safeguarding-leads/{user_id}", set_lead, ADMIN)
