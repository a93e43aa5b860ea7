"""Turns every failure into one answer shape.

API requests (``/api/…``, or ones that ask for JSON) get ``{"error": code, "message": text}``;
browsers get a plain-language page. Unexpected errors are logged with the request id and
never show internals.
"""

from __future__ import annotations

import logging
import traceback
import uuid

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.appkeys import CONTENT_DESTROYED, FAMILY_ID, REQUEST_ID, SESSIONMAKER, SETTINGS
from service.errors import LetterboxError, NotSignedIn, Unavailable
from service.i18n import N_, gettext
from service.localtime import local_time
from storage.errors import StoreUnavailable
from storage.keyring import FamilyShredded, shredded_when_and_by
from storage.models import FamilyKey

log = logging.getLogger(__name__)

_PLAIN_MESSAGES: dict[int, str] = {
    400: N_("Something in that request was not right."),
    401: N_("Please sign in first."),
    403: N_("You do not have access to that page."),
    404: N_("We could not find that page."),
    405: N_("That action is not allowed here."),
    413: N_("That is too large to send."),
    429: N_("Too many tries. Please wait a little and try again."),
}


def wants_json(request: web.Request) -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: web.Request, status: int, code: str, message: str, field: str | None = None
) -> web.StreamResponse:
    message = gettext(message)
    if wants_json(request):
        body: dict[str, str] = {"error": code, "message": message}
        if field is not None:
            body["field"] = field
        return web.json_response(body, status=status)
    if status == 401:
        raise web.HTTPSeeOther(f"/sign-in?next={request.path}")
    response = aiohttp_jinja2.render_template(
        "errors/error.html",
        request,
        {"status": status, "message": message, "request_id": request.get(REQUEST_ID)},
        status=status,
    )
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NotSignedIn as exc:
        return error_response(request, exc.status, exc.code, exc.message)
    except LetterboxError as exc:
        return error_response(request, exc.status, exc.code, exc.message, exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
        return error_response(
            request, exc.status, code, message or _PLAIN_MESSAGES.get(exc.status, exc.reason)
        )
    except FamilyShredded as exc:
        return await _destroyed(request, exc)
    except (OperationalError, PoolTimeout, StoreUnavailable) as exc:
        # StoreUnavailable: the object store is down or died mid-request.
        log.warning("database or store unavailable: %s", type(exc).__name__, exc_info=True)
        return _unavailable(request)
    except OSError as exc:
        # A socket or disk failure is an outage only where the database or the object store
        # met it; anywhere else it is a bug, and a bug must not look like an outage.
        if _raised_by_database_or_store(exc):
            log.warning("database or store unavailable: %s", type(exc).__name__, exc_info=True)
            return _unavailable(request)
        log.exception("unexpected error")
        return _internal(request)
    except DBAPIError as exc:
        if exc.connection_invalidated:
            return _unavailable(request)
        log.exception("database error")
        return _internal(request)
    except Exception:
        log.exception("unexpected error")
        return _internal(request)


# Where a database or store outage surfaces: the drivers, the pool, the object stores.
_OUTAGE_MODULES = (
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "sqlalchemy",
    "minio",
    "urllib3",
    "storage.db",
    "storage.objects",
)


def _raised_by_database_or_store(exc: BaseException) -> bool:
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_OUTAGE_MODULES):
            return True
    return False


def _unavailable(request: web.Request) -> web.StreamResponse:
    error = Unavailable("The service is briefly unavailable. Nothing was lost; please try again.")
    response = error_response(request, error.status, error.code, error.message)
    response.headers["Retry-After"] = "5"
    return response


def _internal(request: web.Request) -> web.StreamResponse:
    return error_response(
        request,
        500,
        "internal_error",
        "Something went wrong on our side. Please try again; if it keeps happening, tell "
        f"the centre and quote {request.get(REQUEST_ID, 'this time')}.",
    )


async def _destroyed_message(request: web.Request, family_id: uuid.UUID | None) -> str:
    when, by = None, gettext("the centre")
    if family_id is not None:
        async with request.app[SESSIONMAKER]() as session:
            when, by = await shredded_when_and_by(session, family_id)
    if when is None:
        return gettext("Content destroyed on an unknown date by {by}.").format(by=by)
    day = local_time(when, request.app[SETTINGS].zone, "%-d %B %Y")
    return gettext("Content destroyed on {day} by {by}.").format(day=day, by=by)


@web.middleware
async def destroyed_notice_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A page of a crypto-shredded family says so above whatever it still shows (the record's
    events, the exports made before): runs after the access check has named the family."""
    family_id = request.get(FAMILY_ID)
    if family_id is not None and request.method == "GET" and not wants_json(request):
        async with request.app[SESSIONMAKER]() as session:
            shredded = await session.scalar(
                select(FamilyKey.shredded_at).where(FamilyKey.family_id == family_id)
            )
        if shredded is not None:
            request[CONTENT_DESTROYED] = await _destroyed_message(request, family_id)
    return await handler(request)


async def _destroyed(request: web.Request, exc: FamilyShredded) -> web.StreamResponse:
    """A page that would show a crypto-shredded family's content: it answers, saying when and
    by whom the content was destroyed (200 for a page, 410 Gone for the API)."""
    message = await _destroyed_message(request, exc.family_id)
    request.pop(CONTENT_DESTROYED, None)  # the page itself says it
    if wants_json(request):
        return web.json_response({"error": "content_destroyed", "message": message}, status=410)
    return aiohttp_jinja2.render_template(
        "errors/destroyed.html", request, {"message": message}, status=200
    )
