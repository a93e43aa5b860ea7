"""The record's periodic checkpoints: the signing key made on first start, then a signed
checkpoint of every family with new events, every ``settings.checkpoint_interval_seconds``,
by one worker of the centre at a time (``once_per_centre``: a lease in the database)."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import appkeys
from service.background import Repeating, once_per_centre
from service.record import timestamp
from storage import recordformat as rf
from storage.models import CentreCheckpoint
from storage.objects import S3ObjectStore
from storage.record import (
    CheckpointInconsistent,
    checkpoint_families_with_new_events,
    load_or_create_signer,
)

log = logging.getLogger(__name__)


async def checkpoint_loop(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: make the signing key on first start, then checkpoint every family with
    new events every ``settings.checkpoint_interval_seconds`` (under the centre's lease, so
    two workers never sign the same families' checkpoints at once).

    Needs the database and key ring contexts before it: ``app.cleanup_ctx.append(checkpoint_loop)``
    after them.
    """
    sessionmaker = app[appkeys.SESSIONMAKER]
    async with sessionmaker.begin() as session:
        signer = await load_or_create_signer(session, app[appkeys.KEYRING])
    settings = app[appkeys.SETTINGS]
    tsa_url = settings.tsa_url
    interval = settings.checkpoint_interval_seconds

    lock_days = settings.checkpoint_lock_days
    objects = app[appkeys.VAULT].objects if lock_days else None

    async def one_round(app: web.Application) -> None:
        try:
            async with sessionmaker.begin() as session:
                made = await checkpoint_families_with_new_events(session, signer)
            if made:
                log.info("record checkpoints made for %d families", len(made))
            # Outside the transaction: sending the checkpoint out of the centre (a time-stamp)
            # may wait on the network.
            if tsa_url is not None:
                await stamp_centre_checkpoint(sessionmaker, tsa_url)
            if lock_days:
                await publish_centre_checkpoint(sessionmaker, objects, lock_days)
        except CheckpointInconsistent:
            # Never sign over a rewritten chain; say so loudly and keep trying later.
            log.exception("record checkpoint refused: the record was altered")
        except Exception:
            log.exception("record checkpoint round failed; retrying next interval")

    # One worker of the centre at a time (a lease in the database), a round at once and then
    # every interval.
    leased_round = once_per_centre("record-checkpoints", lambda _app: interval, one_round)

    repeating = Repeating("record-checkpoints", interval, lambda: leased_round(app), at_start=True)
    try:
        yield
    finally:
        await repeating.stop()
        # A last round on the way down: events written since the last round are then covered,
        # so `letterbox record verify` on a stopped centre does not find them unsigned.
        try:
            async with sessionmaker.begin() as session:
                await checkpoint_families_with_new_events(session, signer)
        except Exception:
            log.exception("the final record checkpoint failed; the next start makes one")


async def _centre_checkpoint(session: AsyncSession, seq: int | None) -> CentreCheckpoint | None:
    """Centre checkpoint ``seq``, or the newest when None."""
    query = select(CentreCheckpoint)
    query = (
        query.where(CentreCheckpoint.seq == seq)
        if seq is not None
        else query.order_by(CentreCheckpoint.seq.desc()).limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def stamp_centre_checkpoint(
    sessionmaker: async_sessionmaker[AsyncSession], tsa_url: str, seq: int | None = None
) -> bytes | None:
    """Have the time-stamp authority at ``tsa_url`` time-stamp centre checkpoint ``seq`` (the
    newest when None) and keep the token with it. Returns the token (None: no checkpoint yet);
    raises `timestamp.TimestampInvalid` or `aiohttp.ClientError` when the authority fails."""
    async with sessionmaker() as session:
        row = await _centre_checkpoint(session, seq)
        if row is None:
            return None
        if row.timestamp_token is not None:
            return bytes(row.timestamp_token)
        found_seq, digest = row.seq, hashlib.sha256(bytes(row.body)).digest()
    request, nonce = timestamp.make_request(digest)
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
        http.post(
            tsa_url, data=request, headers={"Content-Type": timestamp.MEDIA_QUERY}
        ) as response,
    ):
        if response.status != 200:
            raise timestamp.TimestampInvalid(
                f"the time-stamp authority answered HTTP {response.status}"
            )
        reply = await response.content.read(2 * timestamp.MAX_TOKEN_BYTES)
    token = timestamp.token_from_reply(reply, digest, nonce)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(CentreCheckpoint)
            .where(CentreCheckpoint.seq == found_seq)
            .values(timestamp_token=token.token)
        )
    log.info("centre checkpoint %d time-stamped at %s", found_seq, token.gen_time)
    return token.token


LOCKED_PREFIX = "record-checkpoints/centre"


async def publish_centre_checkpoint(
    sessionmaker: async_sessionmaker[AsyncSession],
    objects: object,
    lock_days: int,
    seq: int | None = None,
) -> str | None:
    """Write centre checkpoint ``seq`` (the newest when None), its signature and time-stamp
    token to the object store under S3 Object Lock in compliance mode for ``lock_days`` days.
    Only an `S3ObjectStore` can lock; returns the object name, or None when there is nothing
    to write."""
    if not isinstance(objects, S3ObjectStore):
        raise TypeError("write-once checkpoints need the S3 object store")
    async with sessionmaker() as session:
        row = await _centre_checkpoint(session, seq)
        if row is None:
            return None
        token = None if row.timestamp_token is None else bytes(row.timestamp_token)
        document = rf.canonical_json(
            {
                "body": bytes(row.body).decode("utf-8"),
                "signature": row.signature,
                "timestamp_token": None if token is None else base64.b64encode(token).decode(),
            }
        )
        name = f"{LOCKED_PREFIX}/{row.seq:012d}"
    until = datetime.now(UTC) + timedelta(days=lock_days)
    await objects.put_retained(name, document, until)
    return name
