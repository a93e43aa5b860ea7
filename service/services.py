"""What domain functions need, gathered from the app in one place.

Domain functions take one ``Services`` (not the app, not a handful of keys). Every write that
touches a family goes through ``services.transaction(actor)``: one transaction whose record
writer appends the family's events, committing or rolling back with the change they
describe. The record log and the event's author are built here and nowhere else.

``service.resources.services_ctx`` builds the app's one ``Services`` once its resources are
open; ``Services.of(app)`` hands it out. This module reads no other application state, so
the modules whose types ``service.appkeys`` names may use it without an import circle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.http.rules import Actor
from service.notify import Mailer
from service.settings import Settings
from storage import record
from storage.keyring import KeyRing
from storage.vault import EncryptedStore


def event_author(actor: Actor) -> record.EventAuthor:
    """Who a record event names: the signed-in person and their role."""
    return record.EventAuthor(actor.user_id, actor.role.value)


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    mailer: Mailer
    vault: EncryptedStore | None = None
    record_log: record.RecordLog = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        log = record.RecordLog(sealer=record.KeyRingPayloadSealer(self.keyring))
        object.__setattr__(self, "record_log", log)

    @classmethod
    def of(cls, app: web.Application) -> Services:
        return app[SERVICES]

    @property
    def store(self) -> EncryptedStore:
        if self.vault is None:
            raise RuntimeError("this app has no object store")
        return self.vault

    @asynccontextmanager
    async def transaction(self, actor: Actor) -> AsyncIterator[record.RecordedWork]:
        """One recorded transaction on behalf of ``actor``."""
        async with self.recorded(event_author(actor)) as work:
            yield work

    @asynccontextmanager
    async def recorded(self, author: record.EventAuthor) -> AsyncIterator[record.RecordedWork]:
        """The same for an author who is not a signed-in person (the system, a command)."""
        async with record.record_transaction(self.sessionmaker, self.record_log, author) as work:
            yield work

    def link(self, path: str) -> str:
        return f"{self.settings.public_url}{path}"


# Declared beside its type (not in service.appkeys, which imports this module's neighbours).
SERVICES = web.AppKey("services", Services)
