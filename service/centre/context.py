"""What centre operations need, gathered from the app in one place.

Every write goes through ``services.transaction(actor)``: one transaction whose record
writer appends family events (``family_created``, ``family_changed``…) that commit or roll
back with the change they describe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.appkeys import KEYRING, MAILER, SESSIONMAKER, SETTINGS
from service.http.access import Actor
from service.notify import Mailer
from service.settings import Settings
from storage import record
from storage.keyring import KeyRing


@dataclass(frozen=True)
class CentreServices:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    mailer: Mailer

    @classmethod
    def of(cls, app: web.Application) -> CentreServices:
        return cls(app[SETTINGS], app[SESSIONMAKER], app[KEYRING], app[MAILER])

    @property
    def record_log(self) -> record.RecordLog:
        return record.RecordLog(sealer=record.KeyRingPayloadSealer(self.keyring))

    @asynccontextmanager
    async def transaction(self, actor: Actor) -> AsyncIterator[record.RecordedWork]:
        async with record.record_transaction(
            self.sessionmaker, self.record_log, record_actor(actor)
        ) as work:
            yield work

    def link(self, path: str) -> str:
        return f"{self.settings.public_url}{path}"


def record_actor(actor: Actor) -> record.EventAuthor:
    return record.EventAuthor(actor.user_id, actor.role.value)
