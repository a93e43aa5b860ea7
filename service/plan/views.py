"""Plan pages: a family's plan with what is due, sent and overdue (staff and admins, who
also set it), and the centre-wide list of overdue contact.

Thin handlers: parse, call one domain function, render or redirect. The family is in the
path, so the one family rule decides who reaches it.
"""

from __future__ import annotations

from typing import Final

import aiohttp_jinja2
from aiohttp import web

from service.errors import Invalid
from service.http.access import (
    STAFF_ROLES,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    signed_in,
)
from service.i18n import N_
from service.plan import plans
from service.services import Services

__all__ = ["setup"]

PLAN_OF_FAMILY: Final = signed_in(STAFF_ROLES, family=family_in_path("family_id"))
STAFF: Final = signed_in(STAFF_ROLES)


def _services(request: web.Request) -> Services:
    return Services.of(request.app)


async def plan_page(request: web.Request) -> web.StreamResponse:
    status = await plans.plan_status(_services(request), current_family(request))
    context = {
        "status": status,
        "family_id": current_family(request),
        "channels": plans.CHANNELS,
        "units": plans.UNITS,
        "channel_headings": plans.CHANNEL_HEADINGS,
        "unit_labels": plans.UNIT_LABELS,
        "unit_words": plans.UNIT_WORDS,
        "errors": {},
        "values": {},
        "notice": N_("The plan is saved.") if request.query.get("done") == "saved" else None,
    }
    return aiohttp_jinja2.render_template("plan/family.html", request, context)


async def save_plan(request: web.Request) -> web.StreamResponse:
    family_id = current_family(request)
    data = await request.post()
    try:
        await plans.set_plan(
            _services(request), current_actor(request), family_id, plans.PlanInput.parse(data)
        )
    except Invalid as error:
        status = await plans.plan_status(_services(request), family_id)
        context = {
            "status": status,
            "family_id": family_id,
            "channels": plans.CHANNELS,
            "units": plans.UNITS,
            "channel_headings": plans.CHANNEL_HEADINGS,
            "unit_labels": plans.UNIT_LABELS,
            "unit_words": plans.UNIT_WORDS,
            "errors": {error.field or "form": error.message},
            "values": dict(data),
            "notice": None,
        }
        return aiohttp_jinja2.render_template("plan/family.html", request, context, status=422)
    raise web.HTTPSeeOther(f"/staff/families/{family_id}/plan?done=saved")


async def overdue_page(request: web.Request) -> web.StreamResponse:
    found = await plans.overdue_list(_services(request), current_actor(request))
    return aiohttp_jinja2.render_template("plan/overdue.html", request, {"overdue": found})


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/staff/families/{family_id}/plan", plan_page, PLAN_OF_FAMILY)
    add_route(app, "POST", "/staff/families/{family_id}/plan", save_plan, PLAN_OF_FAMILY)
    add_route(app, "GET", "/staff/plan/overdue", overdue_page, STAFF)
