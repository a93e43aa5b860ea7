"""Every piece of shared application state, declared once as a typed ``web.AppKey``
(or ``web.RequestKey`` for per-request state set by the middlewares)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from service.settings import Settings
from storage.keyring import KeyRing
from storage.vault import EncryptedStore

if TYPE_CHECKING:
    from aiohttp.web_urldispatcher import AbstractRoute

    from service.calls.devicestate import LockedCall
    from service.calls.registry import CallRegistry
    from service.http.rules import Access, Actor
    from service.letterbox.language import LanguageDetector
    from service.letterbox.ocr import WordReader
    from service.letterbox.workers import FileWorkers
    from service.notify import Mailer

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
# The same pool for short lookups outside a transaction (storage.db.reading_engine): the
# session middleware finds the actor and answers the family check with it.
READER = web.AppKey("reader", AsyncEngine)
KEYRING = web.AppKey("keyring", KeyRing)
# The only way content is stored or read: keys + chunked AEAD + the object store backend.
VAULT = web.AppKey("vault", EncryptedStore)
SESSIONMAKER: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessionmaker")
# Read-only ORM sessions outside a transaction (storage.db.create_read_sessionmaker), for the
# hottest views: the parent's letterbox.
READ_SESSIONS: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("read_sessions")
# E-mail: SmtpMailer, or OutboxMailer on the embedded default (service.notify.mailer_ctx).
MAILER: web.AppKey[Mailer] = web.AppKey("mailer")
# Jobs started by the account pages that must not delay the answer (password-reset e-mails,
# so the answer time does not tell whether an account exists); awaited at shutdown.
ACCOUNT_TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("account_tasks")
# The killable worker processes that sanitise uploads and redact images, never on the event
# loop (service.letterbox.workers).
SANITISER_POOL: web.AppKey[FileWorkers] = web.AppKey("sanitiser_pool")
# Called by intake with every object stored and the transaction not committed; empty unless
# test mode installs a fault-test hook (service.letterbox.faulttest).
INTAKE_BEFORE_COMMIT: web.AppKey[list[Callable[[], Awaitable[None]]]] = web.AppKey(
    "intake_before_commit"
)
# Reads the words in sanitised pictures for the scanner; None without tesseract.
WORD_READER: web.AppKey[WordReader | None] = web.AppKey("word_reader")
# Tells which language a letter's text is in (service.letterbox.language), set by the
# letterbox's setup; its profiles load at the first letter.
LANGUAGE_DETECTOR: web.AppKey[LanguageDetector] = web.AppKey("language_detector")
# The live calls of this media node (service.calls.node.calls_ctx).
CALLS: web.AppKey[CallRegistry] = web.AppKey("calls")
# The services object domain functions are handed (service.services.SERVICES, declared beside
# its type) is set by service.resources.services_ctx.
# What each route requires; filled by service.http.access.add_route, read by its middleware.
ACCESS_RULES: web.AppKey[dict[AbstractRoute, Access]] = web.AppKey("access_rules")
# Routes whose handler reads on the session middleware's connection (PostgreSQL only; see
# service.http.sessions.reads_in_lookup_connection).
LOOKUP_SHARING_ROUTES: web.AppKey[set[AbstractRoute]] = web.AppKey("lookup_sharing_routes")

# Per-request state, set by the middlewares.
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR: web.RequestKey[Actor] = web.RequestKey("actor")
FAMILY_ID = web.RequestKey("family_id", uuid.UUID)
# "Content destroyed on DATE by NAME" when the page's family was crypto-shredded (every page
# shows it above its content; service.http.errors.destroyed_notice_middleware).
CONTENT_DESTROYED = web.RequestKey("content_destroyed", str)
# The session middleware's connection, held open for a handler of LOOKUP_SHARING_ROUTES.
LOOKUP_CONNECTION = web.RequestKey("lookup_connection", AsyncConnection)
# The call a locked centre device shows (service.calls.device), when the request comes from one.
LOCKED_CALL: web.RequestKey[LockedCall] = web.RequestKey("locked_call")
