"""The record log and record actor for the letterbox's recorded transactions
(storage.record.record_transaction), built the same way by every letterbox module."""

from __future__ import annotations

from aiohttp import web

from service.appkeys import KEYRING
from service.http.access import Actor
from storage.record import Actor as RecordActor
from storage.record import KeyRingPayloadSealer, RecordLog


def record_log(app: web.Application) -> RecordLog:
    return RecordLog(sealer=KeyRingPayloadSealer(app[KEYRING]))


def record_actor(actor: Actor) -> RecordActor:
    return RecordActor(actor.user_id, actor.role.value)
