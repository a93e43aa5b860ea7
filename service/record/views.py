"""Pages for the family record: the timeline (staff and admins), exports (admins make and
download them; referrers with access download their families' exports).

Thin handlers: parse, call one domain function (``timeline`` or ``export``), render. Who may
call each route is declared in ``setup`` and enforced by the access middleware, which also
checks the family in the path (``may_access_family``: a referrer only while their access
lasts). Downloads are POST forms: each writes an ``export_downloaded`` record event, and GET
never changes state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS, VAULT
from service.errors import Invalid, NotFound
from service.http.access import (
    PUBLIC,
    Actor,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    signed_in,
)
from service.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, gettext, use_language
from service.record import export, timeline
from service.record.bundle import public_key_pem
from storage import record
from storage import recordformat as rf
from storage.models import Role

__all__ = ["setup"]

TIMELINE_ACCESS: Final = signed_in({Role.STAFF, Role.ADMIN}, family=family_in_path("family_id"))
ADMIN_FAMILY: Final = signed_in({Role.ADMIN}, family=family_in_path("family_id"))
REFERRER_FAMILY: Final = signed_in({Role.REFERRER}, family=family_in_path("family_id"))
# Printed in the court PDF after the maker's name, in the PDF's language.
_ROLE_WORDS: Final = {
    Role.ADMIN: N_("centre admin"),
    Role.STAFF: N_("staff member"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.PARENT: N_("parent"),
    Role.REFERRER: N_("referrer"),
}
NOTICES: Final = {"export-made": "The export was made. Download the PDF and the bundle below."}


def maker_of(actor: Actor) -> export.Maker:
    """The actor as the record and the PDF name them (their role in the current language)."""
    return export.Maker(
        record.EventAuthor(actor.user_id, actor.role.value),
        f"{actor.display_name} ({gettext(_ROLE_WORDS[actor.role])})",
    )


def own_language(actor: Actor) -> str:
    """The export's language unless the form says otherwise: the person's own."""
    return actor.language if actor.language in LANGUAGES else SOURCE_LANGUAGE


# --- the timeline ----------------------------------------------------------------------------


async def timeline_page(request: web.Request) -> web.StreamResponse:
    family_id = current_family(request)
    params = {k: request.query.get(k, "") for k in ("from", "to")}
    groups = request.query.getall("kind", [])
    error = None
    try:
        query = timeline.TimelineQuery.from_params(params, groups)
    except Invalid as exc:
        error, query = exc, timeline.TimelineQuery()
    async with request.app[SESSIONMAKER]() as session:
        found = await timeline.family_timeline(session, request.app[KEYRING], family_id, query)
    context = {
        "timeline": found,
        "values": params,
        "chosen": set(groups) if error is None else set(),
        "groups": [(key, label) for key, (label, _) in timeline.KIND_GROUPS.items()],
        "error": error,
        "section": "/admin/families" if current_actor(request).role is Role.ADMIN else "/staff",
    }
    return aiohttp_jinja2.render_template(
        "record/timeline.html", request, context, status=422 if error else 200
    )


# --- exports: admins -------------------------------------------------------------------------


async def _exports_context(request: web.Request) -> dict[str, Any]:
    family_id = current_family(request)
    async with request.app[SESSIONMAKER]() as session:
        family, centre_name = await timeline.family_summary(session, family_id)
        exports = await export.list_exports(session, family_id)
        fingerprint = await _fingerprint(session, request)
        court_order = await export.court_order_reference(session, request.app[KEYRING], family_id)
    return {
        "key_fingerprint": fingerprint,
        "family": family,
        "court_order_reference": court_order,
        "centre_name_of_family": centre_name,
        "exports": exports,
        "notice": NOTICES.get(request.query.get("done", "")),
        # Each language by its own name, never translated.
        "pdf_languages": list(LANGUAGES.items()),
    }


def _default_period(actor: Actor) -> dict[str, str]:
    today = datetime.now(timeline.UK).date()
    return {
        "from": (today - timedelta(days=90)).isoformat(),
        "to": today.isoformat(),
        "officer_name": "",
        "officer_role": "",
        "language": own_language(actor),
    }


async def admin_exports_page(request: web.Request) -> web.StreamResponse:
    context = await _exports_context(request)
    context |= {"values": _default_period(current_actor(request)), "error": None}
    return aiohttp_jinja2.render_template("record/admin_exports.html", request, context)


async def make_export(request: web.Request) -> web.StreamResponse:
    family_id = current_family(request)
    actor = current_actor(request)
    form = await request.post()
    fields = ("from", "to", "officer_name", "officer_role", "language")
    values = {k: str(form.get(k, "")) for k in fields}
    try:
        period = export.Period.parse(values["from"], values["to"])
        certifier = export.parse_certifier(values["officer_name"], values["officer_role"])
        # A form without the field (an older page) makes the PDF in the person's language.
        language = export.parse_language(values["language"] or own_language(actor))
    except Invalid as error:
        context = await _exports_context(request)
        context |= {"values": values, "error": error}
        return aiohttp_jinja2.render_template(
            "record/admin_exports.html", request, context, status=422
        )
    with use_language(language):
        maker = maker_of(actor)
    await export.make_export(
        request.app[SESSIONMAKER],
        request.app[KEYRING],
        request.app[VAULT],
        family_id,
        period,
        maker,
        certifier=certifier,
        tsa_url=request.app[SETTINGS].tsa_url,
        lock_days=request.app[SETTINGS].checkpoint_lock_days,
        language=language,
    )
    raise web.HTTPSeeOther(f"/admin/families/{family_id}/exports?done=export-made")


# --- the centre's record key, published ------------------------------------------------------


async def _fingerprint(session: AsyncSession, request: web.Request) -> str | None:
    try:
        # Opened with the key ring: a public key swapped in the database does not open.
        return rf.key_fingerprint(await record.load_public_key(session, request.app[KEYRING]))
    except record.SigningKeyError:
        return None


async def record_key(request: web.Request) -> web.StreamResponse:
    """The centre's record-signing key, for courts and referrers to pin (public, no data)."""
    async with request.app[SESSIONMAKER]() as session:
        try:
            public_key = await record.load_public_key(session, request.app[KEYRING])
        except record.SigningKeyError:
            # Fail closed: never publish a key the master key does not authenticate.
            return web.Response(status=503, text="The centre's record key is not available.\n")
    pem = public_key_pem(public_key).decode("ascii")
    text = (
        "Letterbox centre record-signing key (Ed25519)\n"
        f"fingerprint (SHA-256): {rf.key_fingerprint(public_key)}\n"
        "Check bundles with: letterbox verify BUNDLE.zip --fingerprint FINGERPRINT\n\n"
        f"{pem}"
    )
    return web.Response(text=text, content_type="text/plain")


# --- exports: referrers ----------------------------------------------------------------------


async def referrer_exports_page(request: web.Request) -> web.StreamResponse:
    context = await _exports_context(request)
    return aiohttp_jinja2.render_template("record/referrer_exports.html", request, context)


# --- downloads (both) ------------------------------------------------------------------------


async def download(request: web.Request) -> web.StreamResponse:
    family_id = current_family(request)
    file = request.match_info["file"]
    try:
        export_seq = int(request.match_info["export_seq"])
    except ValueError:
        raise NotFound() from None
    if file not in ("pdf", "bundle"):
        raise NotFound()
    found = await export.download_export(
        request.app[SESSIONMAKER],
        request.app[KEYRING],
        request.app[VAULT],
        family_id,
        export_seq,
        "pdf" if file == "pdf" else "bundle",
        maker_of(current_actor(request)),
    )
    return web.Response(
        body=found.data,
        content_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.file_name}"'},
    )


def setup(app: web.Application) -> None:
    family = "/{family_id}"
    one = "/{export_seq:[0-9]{1,18}}/{file:pdf|bundle}"
    add_route(app, "GET", "/.well-known/letterbox-record-key", record_key, PUBLIC)
    add_route(app, "GET", f"/staff/families{family}/timeline", timeline_page, TIMELINE_ACCESS)
    add_route(app, "GET", f"/admin/families{family}/exports", admin_exports_page, ADMIN_FAMILY)
    add_route(app, "POST", f"/admin/families{family}/exports", make_export, ADMIN_FAMILY)
    add_route(app, "POST", f"/admin/families{family}/exports{one}", download, ADMIN_FAMILY)
    add_route(
        app, "GET", f"/referrer/families{family}/exports", referrer_exports_page, REFERRER_FAMILY
    )
    add_route(app, "POST", f"/referrer/families{family}/exports{one}", download, REFERRER_FAMILY)
