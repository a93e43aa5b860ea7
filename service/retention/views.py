"""Retention pages (admins): the centre's default, each family's rule and legal hold, and
the warning list of families due to be destroyed within a month."""

from __future__ import annotations

from typing import Final

import aiohttp_jinja2
from aiohttp import web

from service.errors import Invalid
from service.http.access import (
    add_route,
    current_actor,
    current_family,
    family_in_path,
    signed_in,
)
from service.retention import retention
from service.services import Services
from storage.models import RetentionKind, Role

__all__ = ["setup"]

ADMIN: Final = signed_in({Role.ADMIN})
ADMIN_FAMILY: Final = signed_in({Role.ADMIN}, family=family_in_path("family_id"))


async def _page(request: web.Request, errors: dict[str, str], status: int = 200) -> web.Response:
    families = await retention.retention_overview(Services.of(request.app), current_actor(request))
    context = {
        "families": families,
        "kinds": list(RetentionKind),
        "errors": errors,
        "notice": request.query.get("done"),
    }
    return aiohttp_jinja2.render_template("retention/list.html", request, context, status=status)


async def retention_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, {})


async def set_default(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    try:
        kind = RetentionKind(str(data.get("kind", "")))
    except ValueError:
        return await _page(request, {"kind": "Choose the centre's rule."}, 422)
    years = str(data.get("years", ""))
    try:
        await retention.set_centre_default(
            Services.of(request.app),
            current_actor(request),
            kind,
            int(years) if years.isdigit() else 0,
        )
    except Invalid as error:
        return await _page(request, {error.field or "form": error.message}, 422)
    raise web.HTTPSeeOther("/admin/retention?done=default")


async def set_family(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    if "kind" not in data:
        # The list's button: the legal hold alone, the family's own rule kept as it is.
        await retention.set_legal_hold(
            Services.of(request.app),
            current_actor(request),
            current_family(request),
            data.get("legal_hold") == "yes",
        )
        raise web.HTTPSeeOther("/admin/retention?done=family")
    try:
        rule = retention.RuleInput.parse({k: str(v) for k, v in data.items()})
    except Invalid as error:
        return await _page(request, {error.field or "form": error.message}, 422)
    await retention.set_family_rule(
        Services.of(request.app), current_actor(request), current_family(request), rule
    )
    raise web.HTTPSeeOther("/admin/retention?done=family")


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/admin/retention", retention_page, ADMIN)
    add_route(app, "POST", "/admin/retention", set_default, ADMIN)
    add_route(app, "POST", "/admin/families/{family_id}/retention", set_family, ADMIN_FAMILY)
