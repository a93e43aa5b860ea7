"""Visit pages: a family's in-centre sessions, handovers and pre-visits (book one, record
who arrived and left when). Staff and admins; the family is in the path.
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
    path_uuid,
    signed_in,
)
from service.services import Services
from service.visits import visits
from service.visits.visits import PARTIES, PARTY_CHOICES, PEOPLE

__all__ = ["setup"]

VISITS_OF_FAMILY: Final = signed_in(STAFF_ROLES, family=family_in_path("family_id"))


async def _page(request: web.Request, errors: dict[str, str], status: int = 200) -> web.Response:
    found = await visits.family_visits(Services.of(request.app), current_family(request))
    context = {
        "family": found,
        "people": PEOPLE,
        "parties": PARTIES,
        "party_choices": PARTY_CHOICES,
        "errors": errors,
        "notice": request.query.get("done"),
    }
    return aiohttp_jinja2.render_template("visits/family.html", request, context, status=status)


async def visits_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, {})


async def book(request: web.Request) -> web.StreamResponse:
    services = Services.of(request.app)
    data = await request.post()
    try:
        visit = visits.VisitInput.parse(data, services.settings.zone)
    except Invalid as error:
        return await _page(request, {error.field or "form": error.message}, 422)
    family_id = current_family(request)
    await visits.book_visit(services, current_actor(request), family_id, visit)
    raise web.HTTPSeeOther(f"/staff/families/{family_id}/visits?done=booked")


async def attendance(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    try:
        times = visits.AttendanceInput.parse(data)
    except Invalid as error:
        return await _page(request, {error.field or "form": error.message}, 422)
    family_id = current_family(request)
    await visits.record_attendance(
        Services.of(request.app),
        current_actor(request),
        family_id,
        path_uuid(request, "visit_id"),
        times,
    )
    raise web.HTTPSeeOther(f"/staff/families/{family_id}/visits?done=recorded")


def setup(app: web.Application) -> None:
    base = "/staff/families/{family_id}/visits"
    add_route(app, "GET", base, visits_page, VISITS_OF_FAMILY)
    add_route(app, "POST", base, book, VISITS_OF_FAMILY)
    add_route(app, "POST", base + "/{visit_id}/attendance", attendance, VISITS_OF_FAMILY)
