"""Report pages: the list of reports to write or check, writing, checking and revising
(centre staff), and the approved reports a referrer may download.

Thin handlers: parse, call one domain function, render or redirect. Who may reach each
route is declared in ``setup``; a report's family is in its path, so the one family rule
decides, and the domain refuses a report that is not of that family.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import aiohttp_jinja2
from aiohttp import web

from service.errors import Invalid, LetterboxError
from service.http.access import (
    CENTRE_ROLES,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    family_of_call,
    path_uuid,
    signed_in,
)
from service.reports import reports
from service.reports.document import render_report_pdf
from service.services import Services
from storage.models import Role

__all__ = ["setup"]

CENTRE: Final = signed_in(CENTRE_ROLES)
CALL_OF_FAMILY: Final = signed_in(CENTRE_ROLES, family=family_of_call("call_id"))
REPORT_OF_FAMILY: Final = signed_in(CENTRE_ROLES, family=family_in_path("family_id"))
REFERRER_FAMILY: Final = signed_in({Role.REFERRER}, family=family_in_path("family_id"))
NOTICES: Final = {
    "written": "The report was sent to be checked by a second person.",
    "approved": "The report is approved and sealed into the family's record.",
    "returned": "The report was returned to its author with your comments.",
}


def _services(request: web.Request) -> Services:
    return Services.of(request.app)


def _version(form: Any) -> int | None:
    text = form.get("version")
    return int(text) if isinstance(text, str) and text.isdigit() else None


def _errors(error: LetterboxError) -> dict[str, str]:
    return {error.field or "form": error.message}


async def reports_page(request: web.Request) -> web.StreamResponse:
    todo = await reports.reports_to_do(_services(request), current_actor(request))
    context = {"todo": todo, "notice": NOTICES.get(request.query.get("done", ""))}
    return aiohttp_jinja2.render_template("reports/list.html", request, context)


async def write_page(request: web.Request) -> web.StreamResponse:
    form = await reports.writing_form(
        _services(request), current_actor(request), path_uuid(request, "call_id")
    )
    if form.existing is not None:
        raise web.HTTPSeeOther(f"/supervisor/families/{form.family_id}/reports/{form.existing}")
    context = {"form": form, "fields": reports.FIELDS, "values": {}, "errors": {}}
    return aiohttp_jinja2.render_template("reports/write.html", request, context)


async def write(request: web.Request) -> web.StreamResponse:
    services, actor = _services(request), current_actor(request)
    call_id = path_uuid(request, "call_id")
    data = await request.post()
    try:
        fields = reports.ReportFields.parse(data)
    except Invalid as error:
        form = await reports.writing_form(services, actor, call_id)
        context = {
            "form": form,
            "fields": reports.FIELDS,
            "values": dict(data),
            "errors": _errors(error),
        }
        return aiohttp_jinja2.render_template("reports/write.html", request, context, status=422)
    await reports.write_report(services, actor, call_id, fields)
    raise web.HTTPSeeOther("/supervisor/reports?done=written")


async def report_page(request: web.Request) -> web.StreamResponse:
    report = await reports.read_report(
        _services(request),
        current_actor(request),
        current_family(request),
        path_uuid(request, "report_id"),
    )
    context = {"report": report, "fields": reports.FIELDS, "errors": {}, "values": {}}
    return aiohttp_jinja2.render_template("reports/report.html", request, context)


async def _again(request: web.Request, error: LetterboxError, values: Any) -> web.Response:
    report = await reports.read_report(
        _services(request),
        current_actor(request),
        current_family(request),
        path_uuid(request, "report_id"),
    )
    context = {
        "report": report,
        "fields": reports.FIELDS,
        "errors": _errors(error),
        "values": dict(values),
    }
    return aiohttp_jinja2.render_template(
        "reports/report.html", request, context, status=error.status
    )


async def check(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    decision = str(data.get("decision", ""))
    try:
        await reports.check_report(
            _services(request),
            current_actor(request),
            current_family(request),
            path_uuid(request, "report_id"),
            decision,
            str(data.get("comments", "")),
            _version(data),
        )
    except Invalid as error:
        return await _again(request, error, data)
    done = "approved" if decision == reports.CheckDecision.APPROVE else "returned"
    raise web.HTTPSeeOther(f"/supervisor/reports?done={done}")


async def revise(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    try:
        await reports.revise_report(
            _services(request),
            current_actor(request),
            current_family(request),
            path_uuid(request, "report_id"),
            reports.ReportFields.parse(data),
            _version(data),
        )
    except Invalid as error:
        return await _again(request, error, data)
    raise web.HTTPSeeOther("/supervisor/reports?done=written")


async def referrer_reports_page(request: web.Request) -> web.StreamResponse:
    found = await reports.approved_reports(_services(request), current_family(request))
    context = {"reports": found, "family_id": current_family(request)}
    return aiohttp_jinja2.render_template("reports/referrer.html", request, context)


async def referrer_download(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    report = await reports.report_for_referrer(
        services, current_actor(request), current_family(request), path_uuid(request, "report_id")
    )
    pdf = await asyncio.to_thread(
        render_report_pdf,
        report,
        services.settings.zone,
        language=current_actor(request).language,
    )
    started = report.header.started_at.strftime("%Y-%m-%d")
    name = f"report-{report.header.case_reference}-{started}.pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def setup(app: web.Application) -> None:
    report = "/supervisor/families/{family_id}/reports/{report_id}"
    add_route(app, "GET", "/supervisor/reports", reports_page, CENTRE)
    add_route(app, "GET", "/supervisor/calls/{call_id}/report", write_page, CALL_OF_FAMILY)
    add_route(app, "POST", "/supervisor/calls/{call_id}/report", write, CALL_OF_FAMILY)
    add_route(app, "GET", report, report_page, REPORT_OF_FAMILY)
    add_route(app, "POST", f"{report}/check", check, REPORT_OF_FAMILY)
    add_route(app, "POST", f"{report}/revise", revise, REPORT_OF_FAMILY)
    add_route(
        app, "GET", "/referrer/families/{family_id}/reports", referrer_reports_page, REFERRER_FAMILY
    )
    add_route(
        app,
        "POST",
        "/referrer/families/{family_id}/reports/{report_id}/download",
        referrer_download,
        REFERRER_FAMILY,
    )
