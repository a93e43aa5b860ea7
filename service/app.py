"""The application factory. Nothing happens at import time: ``create_app`` builds the app
and its cleanup contexts open every resource when the app starts."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_jinja2.helpers import GLOBAL_HELPERS

import service.accounts
import service.api
import service.calls
import service.centre
import service.concerns
import service.letterbox
import service.plan
import service.record
import service.reports
import service.retention
import service.subjectaccess
import service.visits
from service import appkeys, background, labels, pages, resources
from service.calls.device import call_device_lock_middleware
from service.http import access, headers
from service.http.access import PUBLIC, add_route, declare
from service.http.csrf import csrf_middleware
from service.http.errors import destroyed_notice_middleware, error_middleware
from service.http.health import healthz
from service.http.requestlog import request_log_middleware
from service.http.sessions import session_middleware
from service.i18n.templates import LocalisedEnvironment
from service.i18n.web import early_language_middleware, language_middleware
from service.letterbox.devicelock import device_lock_middleware
from service.localtime import local_day, local_time
from service.settings import Settings

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Every capability package has the same face: ``setup(app)`` adds its routes,
# ``cleanup_contexts()`` names the resources it owns (opened after the core ones, in this order).
CAPABILITIES = (
    service.accounts,
    service.centre,
    service.api,
    service.record,
    service.calls,
    service.letterbox,
    service.reports,
    service.concerns,
    service.plan,
    service.visits,
    service.retention,
    service.subjectaccess,
)

# Upload bodies are streamed by the intake views, which enforce their own per-file limits;
# this caps only bodies read whole (forms, JSON).
MAX_FORM_BYTES = 1024 * 1024


def create_app(settings: Settings) -> web.Application:
    # Order matters, outermost first:
    # 1. request id before anything logs; the browser's language before anything renders;
    # 2. errors inside it, so every answer carries the id and has one shape; 3. a centre device locked to a child view or a call goes nowhere else, decided
    # before anyone's session or any route is considered; 4. the session names the actor;
    # the signed-in person's language once the session names them; 5. CSRF needs the actor's token; 6. access needs the actor, and runs before any handler so
    # nothing reaches one unchecked; 7. a shredded family's pages say so (needs access's family).
    app = web.Application(
        middlewares=[
            request_log_middleware,
            early_language_middleware,
            error_middleware,
            device_lock_middleware,
            call_device_lock_middleware,
            session_middleware,
            language_middleware,
            csrf_middleware,
            access.access_middleware,
            destroyed_notice_middleware,
        ],
        client_max_size=MAX_FORM_BYTES,
    )
    app[appkeys.SETTINGS] = settings
    # One environment per language (service.i18n.templates), registered as aiohttp_jinja2's.
    env = LocalisedEnvironment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.globals.update(GLOBAL_HELPERS)
    env.globals["app"] = app
    app[aiohttp_jinja2.APP_KEY] = env
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [pages.base_context]
    app.middlewares.append(pages.page_context_middleware)
    # Stored times are UTC; pages show them in the centre's time zone: {{ t|local("%H:%M") }}.
    zone = settings.zone
    env.filters["local"] = lambda when, *fmt: local_time(when, zone, *fmt)
    # Calendar days (due dates, a plan's days): {{ plan.starts_on|day }}, month names translated.
    env.filters["day"] = local_day
    # Stored codes shown as words in the reader's language: {{ family.status|label }}.
    env.filters.update(labels.FILTERS)
    env.globals.update(labels.GLOBALS)
    headers.setup(app)
    access.setup(app)
    # The core resources, in the order they depend on each other.
    app.cleanup_ctx.extend(
        (
            resources.keyring_ctx,
            resources.database_ctx,
            resources.mailer_ctx,
            resources.vault_ctx,
            resources.services_ctx,
        )
    )
    background.setup(app)  # after the resources its jobs use
    for capability in CAPABILITIES:
        app.cleanup_ctx.extend(capability.cleanup_contexts())

    add_route(app, "GET", "/healthz", healthz, PUBLIC)
    declare(app, app.router.add_static("/static", WEB_DIR / "static", append_version=True), PUBLIC)
    pages.setup(app)
    for capability in CAPABILITIES:
        capability.setup(app)
    return app
