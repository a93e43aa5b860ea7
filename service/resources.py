"""The core resources every capability uses, each opened and closed by its own cleanup
context (``service.app`` lists them in order): the key ring, the database, the mailer and
the encrypted object store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service import appkeys
from service.notify import CONTACT_BOOK, ContactBook, mailer_for, recipient_languages
from service.services import SERVICES, Services
from service.stores import open_object_store
from storage import db
from storage.keyring import KeyRing, load_master_key
from storage.record import install_record_guard
from storage.vault import EncryptedStore

log = logging.getLogger(__name__)


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


async def mailer_ctx(app: web.Application) -> AsyncIterator[None]:
    # The centre's contact details for every footer: read once here, with nothing else open.
    book = ContactBook()
    await book.refresh(app[appkeys.SESSIONMAKER])
    app[CONTACT_BOOK] = book
    app[appkeys.MAILER] = mailer_for(
        app[appkeys.SETTINGS], book.current, recipient_languages(app[appkeys.SESSIONMAKER])
    )
    yield


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """What domain functions are handed: made once the resources above are open."""
    app[SERVICES] = Services(
        app[appkeys.SETTINGS],
        app[appkeys.SESSIONMAKER],
        app[appkeys.KEYRING],
        app[appkeys.MAILER],
        app[appkeys.VAULT],
    )
    yield
