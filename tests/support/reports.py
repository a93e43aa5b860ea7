"""Helpers for report tests: an ended supervised call, the people of a ``CallWorld`` as
actors, and a report's boxes filled in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from service.http.rules import Actor
from service.services import Services
from storage.models import Call, CallStatus, User
from tests.support.calls import CallWorld, book_call

REPORT = {
    "present": "Sam (child), the father, Supervisor Jones",
    "aim": "To keep Sam in touch with his father by video.",
    "account": "Sam showed his father a drawing of a boat. They talked about football.",
    "quotes": "Father: 'That boat is brilliant.'",
    "arrival": "Sam arrived smiling and sat down straight away.",
    "leaving": "Sam waved goodbye and asked when the next call is.",
    "concerns": "",
    "safeguarding": "None",
}


async def actor(app: web.Application, world: CallWorld, name: str) -> Actor:
    async with app[SESSIONMAKER]() as session:
        user = await session.scalar(select(User).where(User.id == world.users[name]))
        assert user is not None
        return Actor(
            user_id=user.id,
            role=user.role,
            centre_id=user.centre_id,
            display_name=user.display_name,
            email=user.email,
            session_token_hash="",
            csrf_token="",
            second_factor_done=True,
        )


async def ended_call(app: web.Application, world: CallWorld) -> uuid.UUID:
    """A supervised call that took place an hour ago and ended, with its record events."""
    call_id = await book_call(app, world, starts_in=timedelta(hours=-1))
    services = Services.of(app)
    supervisor = await actor(app, world, "supervisor")
    async with services.transaction(supervisor) as work:
        call = await work.session.get(Call, call_id)
        assert call is not None
        call.status = CallStatus.ENDED
        call.ended_at = datetime.now(UTC) - timedelta(minutes=32)
        call.end_reason = "completed"
        await work.session.flush()
        await work.record(
            world.family_id, "call_ended", {"call_id": call_id, "reason": "completed"}
        )
    return call_id
