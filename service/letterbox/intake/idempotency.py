"""Idempotency: a letter sent twice with the same ``Idempotency-Key`` is stored once.

The key is claimed before the body is read; a repeat with the same body gets the first answer,
a repeat with another body is refused, and a failed request gives its key back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from service.appkeys import SESSIONMAKER
from service.errors import Conflict, Invalid
from service.http.access import Actor
from storage.models import IdempotentRequest
from storage.record import RecordedWork

# A claimed idempotency key whose request never finished (a crashed node) may be taken over.
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


async def claim_idempotency_key(
    request: web.Request, actor: Actor, key: str
) -> Replay | IdempotentRequest | None:
    """Claim ``key`` before the body is read.

    Returns None when this request now owns the key; the finished row when the key was used
    before (the caller compares fingerprints once the body is read). A request still in
    progress under the same key is a Conflict.
    """
    if not key or len(key) > 200 or not key.isprintable():
        raise Invalid("The Idempotency-Key header must be 1 to 200 printable characters.")
    now = datetime.now(UTC)
    sessionmaker = request.app[SESSIONMAKER]
    try:
        async with sessionmaker() as session, session.begin():
            row = await session.get(IdempotentRequest, (actor.user_id, key))
            if row is not None:
                if row.status is not None:
                    return row
                if now - row.created_at < STALE_CLAIM:
                    raise _in_progress()
                await session.delete(row)
                await session.flush()
            session.add(
                IdempotentRequest(
                    user_id=actor.user_id, key=key, fingerprint="", status=None, created_at=now
                )
            )
    except IntegrityError:
        raise _in_progress() from None
    return None


def _in_progress() -> Conflict:
    return Conflict(
        "This letter is already being sent (the same request is in progress). Please wait a "
        "moment and check your letters before sending again.",
        code="request_in_progress",
    )


def replay_of(row: IdempotentRequest, fingerprint: str) -> Replay:
    if row.fingerprint != fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used for a different letter. Use a new key for "
            "a new letter.",
            code="idempotency_key_reused",
        )
    return Replay(row.status or 200, dict(row.response or {}))


async def remember_answer(
    work: RecordedWork, actor: Actor, idempotency: Idempotency | None, answer: dict[str, Any]
) -> None:
    """Keep the answer under the claimed key, in the transaction that stores the item, so a
    repeat gets it only if the item exists."""
    if idempotency is None:
        return
    row = await work.session.get(IdempotentRequest, (actor.user_id, idempotency.key))
    if row is not None:
        row.fingerprint = idempotency.fingerprint
        row.status = 201
        row.response = answer


async def release_idempotency_key(request: web.Request, actor: Actor, key: str) -> None:
    """A failed request gives its key back, so the sender can correct and retry."""
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.user_id == actor.user_id,
                IdempotentRequest.key == key,
                IdempotentRequest.status.is_(None),
            )
        )
