"""Subject access pages: a family's requests (admins start them), the review page where a
moderator sees each blacked-out part of the letters (showing one with a reason, or blacking it
out again), chooses which other people's names may be shown and releases the copy, and the
released PDF and JSON. The family is in every path."""

from __future__ import annotations

import asyncio
import json
from typing import Final

import aiohttp_jinja2
from aiohttp import web

from service.errors import LetterboxError, NotFound
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
from service.subjectaccess import requests
from service.subjectaccess.document import render_pdf
from storage.models import Role, SubjectAccessStatus

__all__ = ["setup"]

ADMIN_FAMILY: Final = signed_in({Role.ADMIN}, family=family_in_path("family_id"))
REVIEW: Final = signed_in(STAFF_ROLES, family=family_in_path("family_id"))


async def list_page(request: web.Request) -> web.StreamResponse:
    found = await requests.family_requests(Services.of(request.app), current_family(request))
    context = {"found": found, "error": None}
    return aiohttp_jinja2.render_template("subjectaccess/list.html", request, context)


async def start(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    family_id = current_family(request)
    try:
        request_id = await requests.start_request(
            Services.of(request.app),
            current_actor(request),
            family_id,
            str(data.get("subject", "")),
        )
    except LetterboxError as error:
        found = await requests.family_requests(Services.of(request.app), family_id)
        context = {"found": found, "error": error.message}
        return aiohttp_jinja2.render_template(
            "subjectaccess/list.html", request, context, status=error.status
        )
    raise web.HTTPSeeOther(f"/admin/families/{family_id}/subject-access/{request_id}")


async def review_page(request: web.Request) -> web.StreamResponse:
    material = await requests.read_request(
        Services.of(request.app), current_family(request), path_uuid(request, "request_id")
    )
    return aiohttp_jinja2.render_template(
        "subjectaccess/review.html", request, {"material": material, "error": None}
    )


async def decide(request: web.Request) -> web.StreamResponse:
    """Show one blacked-out part with a reason, or black it out again."""
    data = await request.post()
    family_id, request_id = current_family(request), path_uuid(request, "request_id")
    key = request.match_info["key"]
    services = Services.of(request.app)
    try:
        await requests.decide_span(
            services,
            current_actor(request),
            family_id,
            request_id,
            key,
            show=data.get("choice") == "show",
            reason=str(data.get("reason", "")),
        )
    except LetterboxError as error:
        material = await requests.read_request(services, family_id, request_id)
        context = {
            "material": material,
            "error": {"key": key, "message": error.message, "reason": data.get("reason", "")},
        }
        return aiohttp_jinja2.render_template(
            "subjectaccess/review.html", request, context, status=error.status
        )
    raise web.HTTPSeeOther(f"/admin/families/{family_id}/subject-access/{request_id}#part-{key}")


async def release(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    family_id, request_id = current_family(request), path_uuid(request, "request_id")
    await requests.release(
        Services.of(request.app),
        current_actor(request),
        family_id,
        request_id,
        [str(v) for v in data.getall("reveal", [])],
    )
    raise web.HTTPSeeOther(f"/admin/families/{family_id}/subject-access/{request_id}")


async def download(request: web.Request) -> web.StreamResponse:
    material = await requests.read_request(
        Services.of(request.app), current_family(request), path_uuid(request, "request_id")
    )
    if material.status is not SubjectAccessStatus.RELEASED:
        raise NotFound("The copy is ready once it has been reviewed and released.")
    name = f"subject-access-{material.subject.get('case_reference', '')}"
    if request.match_info["fmt"] == "json":
        body = json.dumps(requests.render_json(material), indent=2, ensure_ascii=False)
        return web.Response(
            text=body,
            content_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
        )
    pdf = await asyncio.to_thread(render_pdf, material)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


def setup(app: web.Application) -> None:
    base = "/admin/families/{family_id}/subject-access"
    one = base + "/{request_id}"
    add_route(app, "GET", base, list_page, ADMIN_FAMILY)
    add_route(app, "POST", base, start, ADMIN_FAMILY)
    add_route(app, "GET", one, review_page, REVIEW)
    add_route(app, "POST", one + "/parts/{key:s[0-9]{1,6}}", decide, REVIEW)
    add_route(app, "POST", one + "/release", release, REVIEW)
    add_route(app, "GET", one + "/{fmt:pdf|json}", download, REVIEW)
