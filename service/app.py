"""The application factory. Nothing happens at import time: ``create_app`` builds the app
and its cleanup contexts open every resource when the app starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

import service.accounts
import service.api
import service.calls
import service.centre
import service.letterbox
import service.record
import service.record.views
from service import appkeys, background, notify, pages
from service.calls.device import call_device_lock_middleware
from service.calls.registry import calls_ctx
from service.http import access, headers
from service.http.access import PUBLIC, add_route, declare
from service.http.csrf import csrf_middleware
from service.http.errors import error_middleware
from service.http.health import healthz
from service.http.requestlog import request_log_middleware
from service.http.sessions import session_middleware
from service.letterbox.devicelock import device_lock_middleware
from service.letterbox.intake import sanitiser_pool_ctx
from service.localtime import local_time
from service.settings import Settings
from service.stores import open_object_store
from storage import db
from storage.keyring import KeyRing, load_master_key
from storage.record import install_record_guard
from storage.vault import EncryptedStore

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Upload bodies are streamed by the intake views, which enforce their own per-file limits;
# this caps only bodies read whole (forms, JSON).
MAX_FORM_BYTES = 1024 * 1024


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = db.create_engine(app[appkeys.SETTINGS].database_url)
    try:
        await db.check_ready(engine)
        app[appkeys.ENGINE] = engine
        app[appkeys.READER] = db.reading_engine(engine)
        app[appkeys.READ_SESSIONS] = db.create_read_sessionmaker(engine)
        sessionmaker = db.create_sessionmaker(engine)
        # Every transaction of the app refuses to commit a contact change without its record
        # event (storage.record), not only the ones opened through record_transaction.
        install_record_guard(sessionmaker)
        app[appkeys.SESSIONMAKER] = sessionmaker
        yield
    finally:
        await engine.dispose()


async def keyring_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    master, created = await asyncio.to_thread(
        load_master_key,
        settings.master_key_b64,
        settings.master_key_file,
        may_create=not settings.production,
    )
    if created:
        log.warning(
            "created a new master key in %s: back it up outside this machine, or every "
            "letter becomes unreadable if the disk is lost",
            settings.master_key_file,
        )
    app[appkeys.KEYRING] = KeyRing(master)
    yield


async def vault_ctx(app: web.Application) -> AsyncIterator[None]:
    objects = open_object_store(app[appkeys.SETTINGS])
    try:
        await objects.start()
        app[appkeys.VAULT] = EncryptedStore(objects, app[appkeys.KEYRING])
        yield
    finally:
        await objects.close()


def create_app(settings: Settings) -> web.Application:
    # Order matters, outermost first:
    # 1. request id before anything logs; 2. errors inside it, so every answer carries the id
    # and has one shape; 3. a centre device locked to a child view or a call goes nowhere else, decided
    # before anyone's session or any route is considered; 4. the session names the actor;
    # 5. CSRF needs the actor's token; 6. access needs the actor, and runs last so nothing
    # reaches a handler unchecked.
    app = web.Application(
        middlewares=[
            request_log_middleware,
            error_middleware,
            device_lock_middleware,
            call_device_lock_middleware,
            session_middleware,
            csrf_middleware,
            access.access_middleware,
        ],
        client_max_size=MAX_FORM_BYTES,
    )
    app[appkeys.SETTINGS] = settings
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[pages.base_context],
    )
    # Stored times are UTC; pages show them in the centre's time zone: {{ t|local("%H:%M") }}.
    zone = settings.zone
    env.filters["local"] = lambda when, *fmt: local_time(when, zone, *fmt)
    headers.setup(app)
    access.setup(app)
    app.cleanup_ctx.append(keyring_ctx)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(notify.mailer_ctx)
    app.cleanup_ctx.append(vault_ctx)
    background.setup(app)  # after the resources its jobs use
    # Makes the record-signing key on first start, then checkpoints families with new events.
    app.cleanup_ctx.append(service.record.checkpoint_loop)
    # Live calls: installs the media passthrough once, closes every relay at shutdown.
    app.cleanup_ctx.append(calls_ctx)
    # Uploads are sanitised and images redacted in worker processes, never on the event loop.
    app.cleanup_ctx.append(sanitiser_pool_ctx)

    add_route(app, "GET", "/healthz", healthz, PUBLIC)
    declare(app, app.router.add_static("/static", WEB_DIR / "static", append_version=True), PUBLIC)
    pages.setup(app)
    service.accounts.setup(app)
    service.centre.setup(app)
    service.api.setup(app)
    service.calls.setup(app)
    service.letterbox.setup(app)
    service.record.views.setup(app)
    return app
