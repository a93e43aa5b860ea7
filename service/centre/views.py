"""Page handlers for centre administration and the role home pages.

Thin: parse the form, call one domain function, redirect (post-redirect-get) or render.
Who may call each route is declared in ``setup`` and enforced by the access middleware
before a handler runs; family pages name their family in the path (``family_in_path``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from service.centre import (
    contact,
    families,
    homes,
    onboarding,
    people,
    read_aloud,
    referrals,
    search,
    translators,
)
from service.centre.forms import form_data, notice, render_invalid
from service.errors import Invalid
from service.http.access import (
    STAFF_ROLES,
    Actor,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    path_uuid,
    signed_in,
)
from service.notify import CONTACT_BOOK
from service.plan import next_letters
from service.reports import reports_to_do
from service.schema import parse
from service.security_log import Kind as SecurityKind
from service.security_log import recent_events as recent_security_events
from service.services import Services
from storage.models import Channel, ContactLevel, FamilyStatus, Role

ADMIN = signed_in({Role.ADMIN})
ADMIN_FAMILY = signed_in({Role.ADMIN}, family=family_in_path("family_id"))


def _services(request: web.Request) -> Services:
    return Services.of(request.app)


def _done(location: str, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{location}?done={what}")


def _choices() -> dict[str, Any]:
    return {
        "contact_levels": list(ContactLevel),
        "all_channels": list(Channel),
        "family_statuses": list(FamilyStatus),
        "referrer_kind_options": [(k.value, k.label) for k in referrals.ReferrerKind],
        "staff_roles": list(people.StaffRole),
    }


# --- homes ------------------------------------------------------------------------------


def _search(request: web.Request) -> search.FamilySearchInput:
    return parse(search.FamilySearchInput, {"q": request.query.get("q", "")})


@aiohttp_jinja2.template("home/admin.html")
async def admin_home(request: web.Request) -> dict[str, Any]:
    return {"home": await homes.admin_home(_services(request), current_actor(request))}


@aiohttp_jinja2.template("home/staff.html")
async def staff_home(request: web.Request) -> dict[str, Any]:
    return {"home": await homes.staff_home(_services(request), current_actor(request))}


@aiohttp_jinja2.template("home/supervisor.html")
async def supervisor_home(request: web.Request) -> dict[str, Any]:
    services, actor = _services(request), current_actor(request)
    return {
        "home": await homes.supervisor_home(services, actor),
        "reports": await reports_to_do(services, actor),  # issue 20: reports to write or check
    }


@aiohttp_jinja2.template("staff/families.html")
async def staff_families_page(request: web.Request) -> dict[str, Any]:
    found = await search.find_families(_services(request), current_actor(request), _search(request))
    return {"search": found}


@aiohttp_jinja2.template("admin/exports_index.html")
async def exports_index_page(request: web.Request) -> dict[str, Any]:
    found = await search.find_families(_services(request), current_actor(request), _search(request))
    return {"search": found}


@aiohttp_jinja2.template("home/letterbox.html")
async def parent_home(request: web.Request) -> dict[str, Any]:
    services, actor = _services(request), current_actor(request)
    return {
        "letterbox": await homes.parent_letterbox(services, actor),
        "next_letters": await next_letters(services, actor),  # issue 20: the contact plan
        "sent_notice": request.query.get("sent") == "1",
    }


@aiohttp_jinja2.template("home/referrer.html")
async def referrer_home(request: web.Request) -> dict[str, Any]:
    return {"families": await homes.referrer_families(_services(request), current_actor(request))}


# --- the centre's contact details --------------------------------------------------------


async def _centre_context(request: web.Request) -> dict[str, Any]:
    services, actor = _services(request), current_actor(request)
    return {
        "contact": await contact.centre_contact(services, actor),
        "read_aloud": await read_aloud.read_aloud_setting(services, actor),
    }


async def centre_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "admin/centre.html",
        request,
        {**await _centre_context(request), "notice": notice(request), "errors": {}, "values": {}},
    )


async def save_centre(request: web.Request) -> web.StreamResponse:
    data = form_data(await request.post())
    try:
        await contact.set_centre_contact(
            _services(request), current_actor(request), parse(contact.CentreContactInput, data)
        )
        await request.app[CONTACT_BOOK].refresh(_services(request).sessionmaker)
    except Invalid as error:
        return render_invalid(
            request,
            "admin/centre.html",
            await _centre_context(request),
            error,
            form="centre",
            values=data,
        )
    raise _done("/admin/centre", "centre-saved")


async def save_read_aloud(request: web.Request) -> web.StreamResponse:
    data = form_data(await request.post(), flags=("read_aloud",))
    on = await read_aloud.set_read_aloud(
        _services(request), current_actor(request), parse(read_aloud.ReadAloudInput, data)
    )
    raise _done("/admin/centre", "read-aloud-on" if on else "read-aloud-off")


# --- people -----------------------------------------------------------------------------


async def _people_context(request: web.Request) -> dict[str, Any]:
    return {
        "people": await people.list_staff(_services(request), current_actor(request)),
        "notice": notice(request),
        **_choices(),
    }


async def people_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "admin/people.html", request, await _people_context(request)
    )


async def create_person(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    data = form_data(form)
    try:
        await people.create_staff(
            _services(request), current_actor(request), parse(people.StaffInput, data)
        )
    except Invalid as error:
        return render_invalid(
            request,
            "admin/people.html",
            await _people_context(request),
            error,
            form="person",
            values=data,
        )
    raise _done("/admin/people", "person-created")


async def disable_person(request: web.Request) -> web.StreamResponse:
    await people.disable_staff(
        _services(request), current_actor(request), path_uuid(request, "user_id")
    )
    raise _done("/admin/people", "person-disabled")


# --- referrals --------------------------------------------------------------------------


@aiohttp_jinja2.template("admin/referrals.html")
async def referrals_page(request: web.Request) -> dict[str, Any]:
    return {
        "referrals": await referrals.list_referrals(_services(request), current_actor(request)),
        "notice": notice(request),
    }


async def new_referral_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "admin/referral_new.html", request, {**_choices(), "errors": {}, "values": {}}
    )


async def record_referral(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    data = form_data(form, lists=("channels",))
    try:
        referral = await referrals.record_referral(
            _services(request), current_actor(request), parse(referrals.ReferralInput, data)
        )
    except Invalid as error:
        return render_invalid(
            request, "admin/referral_new.html", _choices(), error, form="referral", values=data
        )
    raise _done(f"/admin/referrals/{referral.id}", "referral-recorded")


@aiohttp_jinja2.template("admin/referral.html")
async def referral_page(request: web.Request) -> dict[str, Any]:
    referral = await referrals.get_referral(
        _services(request), current_actor(request), path_uuid(request, "referral_id")
    )
    return {
        "referral": referral,
        "notice": notice(request),
        "kind_labels": {k.value: k.label for k in referrals.ReferrerKind},
    }


async def accept_referral(request: web.Request) -> web.StreamResponse:
    accepted = await onboarding.accept(
        _services(request), current_actor(request), path_uuid(request, "referral_id")
    )
    what = "family-created-with-problems" if accepted.problems else "family-created"
    raise _done(f"/admin/families/{accepted.family_id}", what)


async def decline_referral(request: web.Request) -> web.StreamResponse:
    referral = await referrals.decline_referral(
        _services(request), current_actor(request), path_uuid(request, "referral_id")
    )
    raise _done(f"/admin/referrals/{referral.id}", "referral-declined")


# --- families ---------------------------------------------------------------------------


@aiohttp_jinja2.template("admin/families.html")
async def families_page(request: web.Request) -> dict[str, Any]:
    found = await search.find_families(_services(request), current_actor(request), _search(request))
    return {"search": found}


async def _family_context(request: web.Request) -> dict[str, Any]:
    family = await families.get_family(
        _services(request), current_actor(request), current_family(request)
    )
    # Refused attempts on this family's call sockets (security log): staff see that someone
    # tried, and what, without opening the log.
    async with _services(request).sessionmaker() as session:
        refused = await recent_security_events(
            session, SecurityKind.CALL_REFUSED, about={"family_id": str(current_family(request))}
        )
    return {
        "family": family,
        "translators": await translators.family_translators(
            _services(request), current_actor(request), current_family(request)
        ),
        "call_refusals": refused[:20],
        # A flood is written once a minute with a count of the rest (calls.registry).
        "call_refusal_count": sum(int(e.detail.get("repeats", 1)) for e in refused),
        "notice": notice(request),
        "errors": {},
        "values": {},
        **_choices(),
    }


async def family_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "admin/family.html", request, await _family_context(request)
    )


FamilyAction = Callable[[Services, Any, uuid.UUID, dict[str, Any], web.Request], Awaitable[object]]


def _family_form(
    form_name: str,
    done: str,
    action: FamilyAction,
    *,
    lists: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A POST on the family page: parse, act, redirect back; on a problem, show the family
    page with the problem next to the field in the form that was sent."""

    async def handler(request: web.Request) -> web.StreamResponse:
        family_id = current_family(request)
        data = form_data(await request.post(), lists=lists, flags=flags)
        try:
            await action(_services(request), current_actor(request), family_id, data, request)
        except Invalid as error:
            context = await _family_context(request)
            return render_invalid(
                request, "admin/family.html", context, error, form=form_name, values=data
            )
        raise _done(f"/admin/families/{family_id}", done)

    return handler


async def _settings(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.update_family(s, a, f, parse(families.FamilySettingsInput, d))


async def _add_child(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.add_child(s, a, f, parse(referrals.ChildInput, d))


async def _update_child(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.update_child(
        s, a, f, path_uuid(r, "child_id"), parse(referrals.ChildInput, d)
    )


async def _remove_child(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    await families.remove_child(s, a, f, path_uuid(r, "child_id"))
    return None


async def _add_term(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.add_sensitive_term(s, a, f, parse(families.SensitiveTermInput, d))


async def _remove_term(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    await families.remove_sensitive_term(s, a, f, path_uuid(r, "term_id"))
    return None


async def _invite_parent(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.invite_parent(s, a, f, parse(families.ParentInviteInput, d))


async def _resend_invite(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.resend_parent_invite(s, a, f, path_uuid(r, "sender_id"))


async def _sender_approval(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.set_sender_approved(
        s, a, f, path_uuid(r, "sender_id"), parse(families.SenderApprovalInput, d)
    )


async def _grant_referrer(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    return await families.grant_referrer_access(s, a, f, parse(families.ReferrerAccessInput, d))


async def _revoke_referrer(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    await families.revoke_referrer_access(s, a, f, path_uuid(r, "access_id"))
    return None


async def _assign_translator(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    await translators.assign_translator(s, a, f, parse(translators.AssignTranslatorInput, d))
    return None


async def _remove_translator(
    s: Services, a: Actor, f: uuid.UUID, d: Mapping[str, Any], r: web.Request
) -> object:
    await translators.remove_translator(s, a, f, path_uuid(r, "user_id"))
    return None


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/admin", admin_home, ADMIN)
    add_route(app, "GET", "/staff", staff_home, signed_in({Role.STAFF, Role.ADMIN}))
    add_route(app, "GET", "/supervisor", supervisor_home, signed_in({Role.SUPERVISOR, Role.ADMIN}))
    add_route(app, "GET", "/letterbox", parent_home, signed_in({Role.PARENT}))
    add_route(app, "GET", "/staff/families", staff_families_page, signed_in(STAFF_ROLES))
    add_route(app, "GET", "/admin/exports", exports_index_page, ADMIN)
    add_route(app, "GET", "/referrer", referrer_home, signed_in({Role.REFERRER}))

    add_route(app, "GET", "/admin/centre", centre_page, ADMIN)
    add_route(app, "POST", "/admin/centre", save_centre, ADMIN)
    add_route(app, "POST", "/admin/centre/read-aloud", save_read_aloud, ADMIN)
    add_route(app, "GET", "/admin/people", people_page, ADMIN)
    add_route(app, "POST", "/admin/people", create_person, ADMIN)
    add_route(app, "POST", "/admin/people/{user_id}/disable", disable_person, ADMIN)

    add_route(app, "GET", "/admin/referrals", referrals_page, ADMIN)
    add_route(app, "GET", "/admin/referrals/new", new_referral_page, ADMIN)
    add_route(app, "POST", "/admin/referrals", record_referral, ADMIN)
    add_route(app, "GET", "/admin/referrals/{referral_id}", referral_page, ADMIN)
    add_route(app, "POST", "/admin/referrals/{referral_id}/accept", accept_referral, ADMIN)
    add_route(app, "POST", "/admin/referrals/{referral_id}/decline", decline_referral, ADMIN)

    add_route(app, "GET", "/admin/families", families_page, ADMIN)
    base = "/admin/families/{family_id}"
    add_route(app, "GET", base, family_page, ADMIN_FAMILY)
    posts: list[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
        (
            "/settings",
            _family_form(
                "settings",
                "settings-saved",
                _settings,
                lists=("channels",),
                flags=("requires_second_approval",),
            ),
        ),
        ("/children", _family_form("child", "child-added", _add_child)),
        ("/children/{child_id}", _family_form("child-edit", "child-saved", _update_child)),
        ("/children/{child_id}/remove", _family_form("child-edit", "child-removed", _remove_child)),
        ("/terms", _family_form("term", "term-added", _add_term)),
        ("/terms/{term_id}/remove", _family_form("term", "term-removed", _remove_term)),
        ("/parents", _family_form("parent", "parent-invited", _invite_parent)),
        (
            "/senders/{sender_id}/resend-invite",
            _family_form("sender", "invite-resent", _resend_invite),
        ),
        (
            "/senders/{sender_id}/approval",
            _family_form("sender", "sender-saved", _sender_approval, flags=("approved",)),
        ),
        ("/referrers", _family_form("referrer", "referrer-granted", _grant_referrer)),
        (
            "/referrers/{access_id}/revoke",
            _family_form("referrer", "referrer-revoked", _revoke_referrer),
        ),
        ("/translators", _family_form("translator", "translator-assigned", _assign_translator)),
        (
            "/translators/{user_id}/remove",
            _family_form("translator", "translator-removed", _remove_translator),
        ),
    ]
    for suffix, handler in posts:
        add_route(app, "POST", base + suffix, handler, ADMIN_FAMILY)
