"""HTTP handlers of the letterbox: thin — parse, call one domain function, answer.

Every route is added through ``add_route`` with its ``Access`` (roles and the family it
concerns), so the access middleware has checked the family before any handler here runs.
JSON routes live under ``/api/``; the browser pages post forms or upload with XHR.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from service.appkeys import KEYRING, READ_SESSIONS, SESSIONMAKER, SETTINGS, VAULT
from service.errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from service.http.access import (
    STAFF_ROLES,
    Actor,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    family_of_item,
    family_of_opening_session,
    path_uuid,
    signed_in,
)
from service.http.sessions import read_session, reads_in_lookup_connection
from service.i18n import _, set_language
from service.letterbox import (
    claims,
    conversation,
    drafts,
    gifts,
    intake,
    moderation,
    opening,
    parent,
    queue,
    staff_views,
)
from service.letterbox.intake import NewItem, sanitiser_limits
from service.letterbox.moderation import DecisionRequest
from service.letterbox.queue import QueueFilters
from service.schema import InvalidInput, parse, to_json
from service.services import Services
from storage.children import open_child
from storage.models import (
    Child,
    Decision,
    Direction,
    Family,
    ItemKind,
    ItemPart,
    ObjectRole,
    OpeningSession,
    PhysicalGift,
    Role,
    StoredObject,
)
from storage.stream import DecryptedStream

PARENTS = frozenset({Role.PARENT})
STAFF = STAFF_ROLES
ADMINS = frozenset({Role.ADMIN})
# Who moderates an item: staff, and a translator on the families assigned to them (the
# route says ``assigned=True``; the API's routes do not, so a translator uses the pages).
MODERATORS = STAFF_ROLES | {Role.TRANSLATOR}
TRANSLATOR_HOME = "/translator"
# A file served from the vault must never be rendered as a page, whatever its bytes.
SANDBOX_CSP = "default-src 'none'; img-src 'self'; sandbox"


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise Invalid("Send a JSON object.") from None
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.")
    return data


async def stream_object(
    request: web.Request, stored: StoredObject, *, attachment: bool, filename: str
) -> web.StreamResponse:
    """Stream a stored object's plaintext; never as HTML, never sniffed."""
    if stored.media_type not in (
        "image/jpeg",
        "image/png",
        "image/heic",
        "application/pdf",
    ) and not (stored.media_type.startswith("text/plain")):
        raise NotFound()
    response = web.StreamResponse()
    response.content_type = stored.media_type.split(";")[0]
    if stored.media_type.startswith("text/"):
        response.charset = "utf-8"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.content_length = stored.size
    chunks: DecryptedStream | None = None
    try:
        async with request.app[SESSIONMAKER]() as session:
            chunks = await request.app[VAULT].open(session, stored)
        await response.prepare(request)
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
    finally:
        # The stored file is open from the moment `open` returns: a client that goes away while
        # the session closes or mid-download must not leave it open.
        if chunks is not None:
            await chunks.aclose()
    return response


async def _stored(request: web.Request, object_id: uuid.UUID | None) -> StoredObject:
    if object_id is None:
        raise NotFound()
    async with request.app[SESSIONMAKER]() as session:
        stored = await session.get(StoredObject, object_id)
    if stored is None:
        raise NotFound()
    return stored


def _extension(media_type: str) -> str:
    return {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        media_type.split(";")[0], "txt" if media_type.startswith("text/") else "bin"
    )


# --- parent -----------------------------------------------------------------------------------


def _query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound() from None


# The "keep this picture" boxes of a changed-and-sent-again letter: one field each.
KEEP_FIELDS = frozenset(f"keep_{n}" for n in range(32))


async def submit_item(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    family_id = current_family(request)
    kind_text = request.query.get("kind", ItemKind.LETTER.value)
    if kind_text not in (ItemKind.LETTER.value, ItemKind.DIGITAL_GIFT.value):
        raise Invalid("Send a letter or a digital gift.", field="kind")
    replaces = _query_uuid(request, "replaces")
    new = NewItem(family_id, Direction.TO_CHILD, ItemKind(kind_text), replaces_item_id=replaces)
    services = Services.of(request.app)
    if replaces is not None:
        # The returned letter is checked (theirs, returned, not sent again) before the upload
        # is read; the pictures they kept are read once the form says which.
        async with services.sessionmaker() as session:
            await conversation.returned_item(session, actor, family_id, replaces)

        async def with_kept(submission: intake.Submission) -> NewItem:
            keep = [v for k, v in submission.fields.items() if k in KEEP_FIELDS]
            kept = await conversation.kept_pictures(services, actor, family_id, replaces, keep)
            return dataclasses.replace(
                new, kept_files=tuple(intake.Upload(name, data) for name, data in kept)
            )

        status, body = await intake.submit_from_request(
            request, actor, new, KEEP_FIELDS, prepare=with_kept
        )
    else:
        status, body = await intake.submit_from_request(request, actor, new)
    if status == 201:
        await drafts.discard(services, actor, family_id)
    return web.json_response(body, status=status)


async def parent_overview_json(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with read_session(request) as session:
        body = await parent.overview(request.app, session, actor, current_family(request))
    return web.json_response(body)


async def parent_page(request: web.Request) -> web.StreamResponse:
    """The writing page: a new letter, or a returned one to change and send again."""
    actor = current_actor(request)
    family_id = current_family(request)
    services = Services.of(request.app)
    page = await conversation.write_page(
        services, actor, family_id, _query_uuid(request, "replaces")
    )
    draft = await drafts.load(services, actor, family_id)
    # A draft belongs to the letter it was written for: a new letter's draft is not the
    # returned letter's words, nor the other way round.
    draft_text = draft.text if draft and draft.replaces_item_id == page_replaces(page) else None
    async with request.app[READ_SESSIONS]() as session:
        gifts_sent = await gifts.gifts_for_parent(request.app, session, family_id, actor.user_id)
    return aiohttp_jinja2.render_template(
        "letterbox/parent.html",
        request,
        {
            "family_id": family_id,
            "page": page,
            "draft_text": draft_text,
            "photos_first": request.query.get("photos") == "1",
            "idle_seconds": request.app[SETTINGS].parent_idle_minutes * 60,
            "gifts": gifts_sent,
            "limits": sanitiser_limits(request.app[SETTINGS]),
        },
    )


def page_replaces(page: conversation.WritePage) -> uuid.UUID | None:
    return page.replaces.item_id if page.replaces else None


async def parent_item_page(request: web.Request) -> web.StreamResponse:
    """A sent item's page (their words, pictures, history) or a delivered reply's."""
    actor = current_actor(request)
    family_id = current_family(request)
    item_id = path_uuid(request, "item_id")
    services = Services.of(request.app)
    try:
        sent = await conversation.sent_item(services, actor, family_id, item_id)
    except NotFound:
        reply = await conversation.reply(services, actor, family_id, item_id)
        return aiohttp_jinja2.render_template("letterbox/reply.html", request, {"reply": reply})
    return aiohttp_jinja2.render_template("letterbox/item.html", request, {"item": sent})


def _draft_json(draft: drafts.Draft | None) -> dict[str, Any]:
    if draft is None:
        return {"draft": None}
    return {
        "draft": {
            "family_id": str(draft.family_id),
            "text": draft.text,
            "replaces_item_id": str(draft.replaces_item_id) if draft.replaces_item_id else None,
            "saved_at": draft.saved_at.isoformat(),
            "may_send": draft.may_send,
            "why_not": draft.why_not,
        }
    }


async def draft_json(request: web.Request) -> web.StreamResponse:
    draft = await drafts.load(
        Services.of(request.app), current_actor(request), current_family(request)
    )
    return web.json_response(_draft_json(draft))


async def save_draft_json(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise Invalid("Send the letter's words as text.", field="text")
    replaces = body.get("replaces_item_id")
    try:
        replaces_id = uuid.UUID(str(replaces)) if replaces else None
    except ValueError:
        raise Invalid("That is not an item id.", field="replaces_item_id") from None
    draft = await drafts.save(
        Services.of(request.app), current_actor(request), current_family(request), text, replaces_id
    )
    return web.json_response(_draft_json(draft))


async def discard_draft_json(request: web.Request) -> web.StreamResponse:
    await drafts.discard(Services.of(request.app), current_actor(request), current_family(request))
    return web.Response(status=204)


async def parent_own_picture(request: web.Request) -> web.StreamResponse:
    stored = await conversation.own_picture(
        Services.of(request.app),
        current_actor(request),
        current_family(request),
        path_uuid(request, "item_id"),
        path_uuid(request, "part_id"),
    )
    return await stream_object(
        request, stored, attachment=False, filename=f"picture.{_extension(stored.media_type)}"
    )


async def parent_item_json(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER]() as session:
        item = await parent.visible_item(
            session, actor, current_family(request), path_uuid(request, "item_id")
        )
        body = await parent.item_view(request.app, session, actor, item)
    return web.json_response(body)


async def _parent_part(request: web.Request, *, attachment: bool) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER]() as session:
        part, name = await parent.delivered_part(
            session,
            actor,
            current_family(request),
            path_uuid(request, "item_id"),
            path_uuid(request, "part_id"),
        )
    stored = await _stored(request, part.delivered_object_id)
    if not attachment and not stored.media_type.startswith("image/"):
        raise NotFound()
    filename = name.rsplit(".", 1)[0] + "." + _extension(stored.media_type)
    return await stream_object(request, stored, attachment=attachment, filename=filename)


async def parent_download(request: web.Request) -> web.StreamResponse:
    return await _parent_part(request, attachment=True)


async def parent_view_part(request: web.Request) -> web.StreamResponse:
    return await _parent_part(request, attachment=False)


# --- moderation -------------------------------------------------------------------------------


async def queue_json(request: web.Request) -> web.StreamResponse:
    page = await queue.moderation_queue(
        Services.of(request.app), current_actor(request), QueueFilters.from_query(request.query)
    )
    return web.json_response(
        {
            "items": to_json(page.rows),
            "waiting": page.waiting,
            "late": page.late,
            "target_days": page.target_days,
        }
    )


def queue_path(actor: Actor) -> str:
    """Where the moderator's list of waiting items is: a translator's is their home."""
    return TRANSLATOR_HOME if actor.role is Role.TRANSLATOR else "/staff/moderation"


async def queue_page(request: web.Request) -> web.StreamResponse:
    """The moderation queue; for a translator (their home) only their families' items."""
    actor = current_actor(request)
    page = await queue.moderation_queue(
        Services.of(request.app), actor, QueueFilters.from_query(request.query)
    )
    return aiohttp_jinja2.render_template(
        "staff/queue.html",
        request,
        {
            "queue": page,
            "queue_path": queue_path(actor),
            "translator": actor.role is Role.TRANSLATOR,
        },
    )


async def _target_page(
    request: web.Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    days = await queue.get_target_days(Services.of(request.app), current_actor(request))
    return aiohttp_jinja2.render_template(
        "staff/target.html",
        request,
        {"days": days, "errors": errors or {}, "saved": "saved" in request.query},
        status=status,
    )


async def target_page(request: web.Request) -> web.StreamResponse:
    return await _target_page(request)


async def set_target(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        data = parse(queue.WaitingTargetInput, {"working_days": form.get("working_days", "")})
        await queue.set_target_days(Services.of(request.app), current_actor(request), data)
    except InvalidInput as error:
        return await _target_page(request, errors=error.errors, status=422)
    raise web.HTTPSeeOther("/admin/moderation-target?saved=1")


async def moderation_item_json(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        body = await moderation.moderator_view(request.app, session, path_uuid(request, "item_id"))
    return web.json_response(body)


async def _item_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    actor = current_actor(request)
    item_id = path_uuid(request, "item_id")
    # Opening the page claims the item, unless a colleague holds it: then the page says so
    # before anything can be typed.
    claim = await claims.open_for_review(Services.of(request.app), actor, item_id)
    async with request.app[SESSIONMAKER]() as session:
        body = await moderation.moderator_view(request.app, session, item_id)
    return aiohttp_jinja2.render_template(
        "staff/item.html",
        request,
        {
            "item": body,
            "claim": claim,
            "claim_minutes": claims.CLAIM_MINUTES,
            "typed_by_you": body["sender_id"] == str(actor.user_id),
            "queue_path": queue_path(actor),
            "translator": actor.role is Role.TRANSLATOR,
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


async def moderation_item_page(request: web.Request) -> web.StreamResponse:
    return await _item_page(request)


async def take_over_form(request: web.Request) -> web.StreamResponse:
    item_id = path_uuid(request, "item_id")
    await claims.take_over(Services.of(request.app), current_actor(request), item_id)
    raise web.HTTPSeeOther(f"/staff/moderation/items/{item_id}?taken=1")


async def decide_json(request: web.Request) -> web.StreamResponse:
    decision = DecisionRequest.from_json(await _json_body(request))
    result = await moderation.decide(
        request.app, current_actor(request), path_uuid(request, "item_id"), decision
    )
    return web.json_response(result)


def _form_decision(form: Any) -> DecisionRequest:
    text_spans: list[list[int]] = []
    for raw in [*form.getall("span", []), *str(form.get("extra_spans", "")).split(",")]:
        raw = str(raw).strip()
        if not raw:
            continue
        start, _dash, end = raw.partition("-")
        try:
            text_spans.append([int(start), int(end)])
        except ValueError:
            raise Invalid(
                _("“{span}” is not a span like 10-25.").format(span=raw), field="extra_spans"
            ) from None
    images: dict[str, object] = {}
    for key in form:
        if not key.startswith("boxes-"):
            continue
        boxes = []
        for line in str(form[key]).splitlines():
            if not line.strip():
                continue
            try:
                boxes.append([int(v) for v in line.replace(" ", "").split(",")])
            except ValueError:
                raise Invalid(
                    _("“{box}” is not a box like 10,20,100,50.").format(box=line), field=key
                ) from None
        if boxes:
            images[key.removeprefix("boxes-")] = boxes
    # Each flag's choice: "flag-<name>" is "black_out" or "safe"; "reason-<name>" says why it
    # is safe. A reason typed without a choice is taken as "safe to pass".
    black_out: list[str] = []
    safe: dict[str, str] = {}
    names = {key.split("-", 1)[1] for key in form if key.startswith(("flag-", "reason-"))}
    for name in sorted(names):
        choice = str(form.get(f"flag-{name}", ""))
        reason = str(form.get(f"reason-{name}", "")).strip()
        if choice == "black_out":
            black_out.append(name)
        elif choice == "safe" or reason:
            safe[name] = reason
    decision = str(form.get("decision", ""))
    if decision not in (Decision.APPROVE.value, Decision.CONFIRM.value):
        # Returning or rejecting resolves nothing: a half-filled choice must not stop it.
        black_out, safe = [], {}
    if decision == Decision.APPROVE.value and (text_spans or images or black_out):
        decision = Decision.APPROVE_WITH_REDACTIONS.value
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        version = -1
    return DecisionRequest.from_json(
        {
            "decision": decision,
            "version": version,
            "redactions": {"text": text_spans, "images": images},
            "message": str(form.get("message", "")),
            "safe_to_pass": safe,
            "black_out": black_out,
        }
    )


def _form_field(field: str | None) -> str:
    """The form field a domain error is about, so the page shows it next to that field."""
    if field == "redactions.text":
        return "extra_spans"
    if field is not None and field.startswith("redactions.images."):
        return "boxes-" + field.removeprefix("redactions.images.")
    if field is not None and field.startswith("safe_to_pass."):
        return "reason-" + field.removeprefix("safe_to_pass.")
    if field in ("flags", "safe_to_pass", "black_out"):
        return "flags"
    if field is not None and (field in ("extra_spans", "message") or field.startswith("boxes-")):
        return field
    return "decision"


async def decide_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    item_id = path_uuid(request, "item_id")
    try:
        await moderation.decide(request.app, current_actor(request), item_id, _form_decision(form))
    except (Invalid, Forbidden, Conflict) as exc:
        # The page again, with what the moderator chose kept and the problem beside its field.
        values: dict[str, Any] = {
            key: str(form[key])
            for key in form
            if key in ("extra_spans", "message") or key.startswith(("boxes-", "flag-", "reason-"))
        }
        values["span"] = [str(v) for v in form.getall("span", [])]
        return await _item_page(
            request,
            errors={_form_field(exc.field): exc.message},
            values=values,
            status=exc.status,
        )
    raise web.HTTPSeeOther(queue_path(current_actor(request)))


async def staff_object(request: web.Request) -> web.StreamResponse:
    which = request.match_info.get("which", "original")
    item_id = path_uuid(request, "item_id")
    async with request.app[SESSIONMAKER]() as session:
        part = await session.get(ItemPart, path_uuid(request, "part_id"))
    if part is None or part.item_id != item_id:
        raise NotFound()
    if which == "original":
        object_id = part.original_object_id
    elif which == "delivered":
        object_id = part.delivered_object_id
    else:
        object_id = part.sanitised_object_id
    stored = await _stored(request, object_id)
    return await stream_object(
        request,
        stored,
        attachment=which == "original",
        filename=f"{which}-{part.position + 1}.{_extension(stored.media_type)}",
    )


# --- opening sessions and the child view ----------------------------------------------------


def _set_device_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        opening.device_cookie_name(settings.secure_cookies),
        token,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )


def _clear_device_cookie(response: web.StreamResponse, request: web.Request) -> None:
    settings = request.app[SETTINGS]
    response.del_cookie(
        opening.device_cookie_name(settings.secure_cookies),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Strict",
    )


def _see_other(location: str) -> web.Response:
    # A plain response, not a raised HTTPSeeOther, so the cookie set on it is certainly sent.
    return web.Response(status=303, headers={"Location": location})


def _child_id(raw: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise Invalid("Choose one of this family's children.", field="child_id") from None


async def start_session_json(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    started = await opening.start_session(
        request.app,
        current_actor(request),
        current_family(request),
        _child_id(body.get("child_id")),
    )
    response = web.json_response(
        {
            "session_id": str(started.session_id),
            "child_view": f"/child/sessions/{started.session_id}",
        },
        status=201,
    )
    _set_device_cookie(response, request, started.device_token)
    return response


async def start_session_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    started = await opening.start_session(
        request.app,
        current_actor(request),
        current_family(request),
        _child_id(form.get("child_id")),
    )
    response = _see_other(f"/child/sessions/{started.session_id}")
    _set_device_cookie(response, request, started.device_token)
    return response


GIFT_NOTICES = {
    "checked": "The gift was marked as checked.",
    "handed-over": "The gift was marked as handed over to the child.",
    "returned": "The gift was marked as returned.",
    "received": "The gift was logged as received.",
}


async def _family_page(
    request: web.Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    page = await staff_views.family_letterbox(request.app, current_family(request))
    return aiohttp_jinja2.render_template(
        "staff/family.html",
        request,
        {
            "family": page.family,
            "children": page.children,
            "gifts": page.gifts,
            "senders": page.senders,
            "sessions": page.sessions,
            "limits": sanitiser_limits(request.app[SETTINGS]),
            "notice": GIFT_NOTICES.get(request.query.get("gift", "")),
            "errors": errors or {},
        },
        status=status,
    )


async def staff_family_page(request: web.Request) -> web.StreamResponse:
    return await _family_page(request)


async def _child_session(request: web.Request) -> tuple[uuid.UUID, OpeningSession]:
    session_id = path_uuid(request, "session_id")
    async with request.app[SESSIONMAKER]() as session:
        found = await opening.active_session(session, session_id)
        opening.check_device(request, found)
        # The child's screens are in the child's language, whoever's account the device uses.
        language = await session.scalar(
            select(Family.child_language).where(Family.id == found.family_id)
        )
    set_language(language or "en")
    return session_id, found


async def _child_view(
    request: web.Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    session_id, found = await _child_session(request)
    async with request.app[SESSIONMAKER]() as session:
        items = await opening.child_items(session, found)
        child = await session.get(Child, found.child_id)
        facts = await open_child(session, request.app[KEYRING], child) if child else None
    return aiohttp_jinja2.render_template(
        "child/session.html",
        request,
        {
            "session_id": session_id,
            "child_name": facts.name if facts else "",
            "items": items,
            "limits": sanitiser_limits(request.app[SETTINGS]),
            "errors": errors or {},
        },
        status=status,
    )


async def child_page(request: web.Request) -> web.StreamResponse:
    return await _child_view(request)


async def child_items_json(request: web.Request) -> web.StreamResponse:
    _, found = await _child_session(request)
    async with request.app[SESSIONMAKER]() as session:
        items = await opening.child_items(session, found)
    return web.json_response(
        {
            "items": [
                {"item_id": str(i.id), "kind": i.kind.value, "opened": i.opened_at is not None}
                for i in items
            ]
        }
    )


async def _open_and_show(request: web.Request) -> dict[str, Any]:
    session_id, found = await _child_session(request)
    item_id = path_uuid(request, "item_id")
    await opening.open_item(request.app, current_actor(request), session_id, item_id)
    async with request.app[SESSIONMAKER]() as session:
        item = await opening.child_item(session, found, item_id)
        return await opening.delivered_content(
            request.app, session, item, f"/child/sessions/{session_id}/items/{item_id}/parts"
        )


async def child_open_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _open_and_show(request))


async def child_open_form(request: web.Request) -> web.StreamResponse:
    await _open_and_show(request)
    raise web.HTTPSeeOther(
        f"/child/sessions/{request.match_info['session_id']}/items/{request.match_info['item_id']}"
    )


async def child_item_page(request: web.Request) -> web.StreamResponse:
    session_id, found = await _child_session(request)
    item_id = path_uuid(request, "item_id")
    async with request.app[SESSIONMAKER]() as session:
        item = await opening.child_item(session, found, item_id)
        if item.opened_at is None:
            raise NotFound()
        content = await opening.delivered_content(
            request.app, session, item, f"/child/sessions/{session_id}/items/{item_id}/parts"
        )
    return aiohttp_jinja2.render_template(
        "child/item.html", request, {"session_id": session_id, "content": content}
    )


async def child_picture(request: web.Request) -> web.StreamResponse:
    _, found = await _child_session(request)
    item_id = path_uuid(request, "item_id")
    async with request.app[SESSIONMAKER]() as session:
        item = await opening.child_item(session, found, item_id)
        part = await session.get(ItemPart, path_uuid(request, "part_id"))
    if part is None or part.item_id != item.id or part.delivered_object_id is None:
        raise NotFound()
    stored = await _stored(request, part.delivered_object_id)
    if stored.role is not ObjectRole.DELIVERED or not stored.media_type.startswith("image/"):
        raise NotFound()
    return await stream_object(
        request, stored, attachment=False, filename=f"picture.{_extension(stored.media_type)}"
    )


async def child_reply(request: web.Request) -> web.StreamResponse:
    _, found = await _child_session(request)
    new = NewItem(found.family_id, Direction.TO_PARENT, ItemKind.REPLY, child_id=found.child_id)
    status, body = await intake.submit_from_request(request, current_actor(request), new)
    return web.json_response(body, status=status)


async def child_leave(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    session_id = path_uuid(request, "session_id")
    try:
        await opening.leave_child_view(
            request.app, current_actor(request), session_id, str(form.get("password", ""))
        )
    except (Forbidden, Throttled) as exc:
        # A wrong password (or too many) keeps the device on the child view, with the problem
        # shown there.
        return await _child_view(request, errors={"password": exc.message}, status=exc.status)
    response = _see_other(f"/staff/opening-sessions/{session_id}")
    _clear_device_cookie(response, request)
    return response


async def staff_session_page(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        view = await opening.staff_session_view(
            session, request.app[KEYRING], path_uuid(request, "session_id")
        )
    return aiohttp_jinja2.render_template("staff/session.html", request, view)


async def note_json(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    note_id = await opening.add_observation_note(
        request.app,
        current_actor(request),
        path_uuid(request, "session_id"),
        str(body.get("text", "")),
    )
    return web.json_response({"note_id": str(note_id)}, status=201)


async def note_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    session_id = path_uuid(request, "session_id")
    await opening.add_observation_note(
        request.app, current_actor(request), session_id, str(form.get("text", ""))
    )
    raise web.HTTPSeeOther(f"/staff/opening-sessions/{session_id}")


async def end_json(request: web.Request) -> web.StreamResponse:
    result = await opening.end_session(
        request.app, current_actor(request), path_uuid(request, "session_id")
    )
    response = web.json_response(result)
    _clear_device_cookie(response, request)
    return response


async def end_form(request: web.Request) -> web.StreamResponse:
    session_id = path_uuid(request, "session_id")
    await opening.end_session(request.app, current_actor(request), session_id)
    response = _see_other(f"/staff/opening-sessions/{session_id}")
    _clear_device_cookie(response, request)
    return response


# --- physical gifts ---------------------------------------------------------------------------


async def gift_received(request: web.Request) -> web.StreamResponse:
    submission = await intake.read_submission(
        request,
        sanitiser_limits(request.app[SETTINGS]),
        text_field="description",
        file_field="photo",
        fields=frozenset({"from_user_id"}),
    )
    body = await gifts.log_received(
        request.app, current_actor(request), current_family(request), submission
    )
    return web.json_response(body, status=201)


async def gift_list(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        body = await gifts.gifts_for_staff(request.app, session, current_family(request))
    return web.json_response({"gifts": body})


async def gift_step(request: web.Request) -> web.StreamResponse:
    body = await gifts.advance(
        request.app,
        current_actor(request),
        path_uuid(request, "gift_id"),
        request.match_info["step"],
    )
    return web.json_response(body)


async def gift_step_form(request: web.Request) -> web.StreamResponse:
    step = request.match_info["step"]
    gift_id = path_uuid(request, "gift_id")
    family_id = current_family(request)
    try:
        await gifts.advance(request.app, current_actor(request), gift_id, step)
    except Conflict as exc:
        return await _family_page(request, errors={f"gift-{gift_id}": exc.message}, status=409)
    raise web.HTTPSeeOther(f"/staff/families/{family_id}/letterbox?gift={step}")


async def gift_photo(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        gift = await session.get(PhysicalGift, path_uuid(request, "gift_id"))
    if gift is None or gift.photo_object_id is None:
        raise NotFound()
    stored = await _stored(request, gift.photo_object_id)
    if stored.role is not ObjectRole.GIFT_PHOTO or not stored.media_type.startswith("image/"):
        raise NotFound()
    return await stream_object(
        request, stored, attachment=False, filename=f"gift.{_extension(stored.media_type)}"
    )


def setup(app: web.Application) -> None:
    parent_family = signed_in(PARENTS, family=family_in_path())
    parent_item = signed_in(PARENTS, family=family_of_item())
    staff = signed_in(STAFF)
    staff_item = signed_in(STAFF, family=family_of_item())
    moderator_item = signed_in(MODERATORS, family=family_of_item(), assigned=True)
    admin_item = signed_in(ADMINS, family=family_of_item())
    staff_family = signed_in(STAFF, family=family_in_path())
    staff_session = signed_in(STAFF, family=family_of_opening_session())
    staff_gift = signed_in(STAFF, family=gifts.family_of_gift)

    add_route(app, "GET", "/families/{family_id}/letterbox", parent_page, parent_family)
    # The hottest read (bench/api_load.py): it reads on the connection that named the parent.
    reads_in_lookup_connection(
        app,
        add_route(
            app, "GET", "/api/families/{family_id}/letterbox", parent_overview_json, parent_family
        ),
    )
    add_route(app, "POST", "/api/families/{family_id}/items", submit_item, parent_family)
    add_route(app, "GET", "/api/families/{family_id}/draft", draft_json, parent_family)
    add_route(app, "PUT", "/api/families/{family_id}/draft", save_draft_json, parent_family)
    add_route(app, "DELETE", "/api/families/{family_id}/draft", discard_draft_json, parent_family)
    add_route(app, "GET", "/api/items/{item_id}", parent_item_json, parent_item)
    add_route(app, "GET", "/letterbox/items/{item_id}", parent_item_page, parent_item)
    add_route(
        app,
        "GET",
        "/letterbox/items/{item_id}/pictures/{part_id}",
        parent_own_picture,
        parent_item,
    )
    add_route(
        app, "GET", "/api/items/{item_id}/parts/{part_id}/download", parent_download, parent_item
    )
    add_route(
        app, "GET", "/api/items/{item_id}/parts/{part_id}/view", parent_view_part, parent_item
    )

    add_route(app, "GET", "/staff/moderation", queue_page, staff)
    add_route(app, "GET", TRANSLATOR_HOME, queue_page, signed_in({Role.TRANSLATOR}))
    add_route(app, "GET", "/admin/moderation-target", target_page, signed_in(ADMINS))
    add_route(app, "POST", "/admin/moderation-target", set_target, signed_in(ADMINS))
    add_route(app, "GET", "/api/moderation/queue", queue_json, staff)
    add_route(app, "GET", "/staff/moderation/items/{item_id}", moderation_item_page, moderator_item)
    add_route(app, "GET", "/api/moderation/items/{item_id}", moderation_item_json, staff_item)
    add_route(app, "POST", "/api/moderation/items/{item_id}/decision", decide_json, staff_item)
    add_route(
        app, "POST", "/staff/moderation/items/{item_id}/decision", decide_form, moderator_item
    )
    add_route(
        app, "POST", "/staff/moderation/items/{item_id}/take-over", take_over_form, moderator_item
    )
    add_route(
        app,
        "GET",
        "/staff/items/{item_id}/parts/{part_id}/{which:sanitised|delivered}",
        staff_object,
        moderator_item,
    )
    # The original is sealed for the record: admins only, declared here so the route matrix
    # sees the rule.
    add_route(
        app, "GET", "/staff/items/{item_id}/parts/{part_id}/original", staff_object, admin_item
    )

    add_route(app, "GET", "/staff/families/{family_id}/letterbox", staff_family_page, staff_family)
    add_route(
        app, "POST", "/api/families/{family_id}/opening-sessions", start_session_json, staff_family
    )
    add_route(
        app,
        "POST",
        "/staff/families/{family_id}/opening-sessions",
        start_session_form,
        staff_family,
    )
    add_route(app, "GET", "/child/sessions/{session_id}", child_page, staff_session)
    add_route(app, "GET", "/api/child/sessions/{session_id}/items", child_items_json, staff_session)
    add_route(
        app,
        "POST",
        "/api/child/sessions/{session_id}/items/{item_id}/open",
        child_open_json,
        staff_session,
    )
    add_route(
        app,
        "POST",
        "/child/sessions/{session_id}/items/{item_id}/open",
        child_open_form,
        staff_session,
    )
    add_route(
        app, "GET", "/child/sessions/{session_id}/items/{item_id}", child_item_page, staff_session
    )
    add_route(
        app,
        "GET",
        "/child/sessions/{session_id}/items/{item_id}/parts/{part_id}",
        child_picture,
        staff_session,
    )
    add_route(app, "POST", "/api/child/sessions/{session_id}/replies", child_reply, staff_session)
    add_route(app, "POST", "/child/sessions/{session_id}/leave", child_leave, staff_session)
    add_route(app, "GET", "/staff/opening-sessions/{session_id}", staff_session_page, staff_session)
    add_route(app, "POST", "/api/opening-sessions/{session_id}/notes", note_json, staff_session)
    add_route(app, "POST", "/staff/opening-sessions/{session_id}/notes", note_form, staff_session)
    add_route(app, "POST", "/api/opening-sessions/{session_id}/end", end_json, staff_session)
    add_route(app, "POST", "/staff/opening-sessions/{session_id}/end", end_form, staff_session)

    add_route(app, "POST", "/api/families/{family_id}/gifts", gift_received, staff_family)
    add_route(app, "GET", "/api/families/{family_id}/gifts", gift_list, staff_family)
    add_route(
        app,
        "POST",
        "/api/gifts/{gift_id}/{step:checked|handed-over|returned}",
        gift_step,
        staff_gift,
    )
    add_route(
        app,
        "POST",
        "/staff/gifts/{gift_id}/{step:checked|handed-over|returned}",
        gift_step_form,
        staff_gift,
    )
    add_route(app, "GET", "/staff/gifts/{gift_id}/photo", gift_photo, staff_gift)
