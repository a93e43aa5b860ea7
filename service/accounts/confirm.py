"""A staff member's own password asked again at a centre device (to lock it to a child's
screen, or to take it back): guesses slowed like sign-in, so a child at the device cannot keep
trying every word they know."""

from __future__ import annotations

import uuid
from datetime import timedelta

from service.accounts.passwords import verify_password
from service.accounts.throttle import Policy, record_failure, record_success, wait_needed
from service.errors import Forbidden, Throttled
from service.services import Services
from storage.models import User

# A few free tries, then a growing delay: the staff member mistyping is fine, a child trying
# every word they know is not.
AT_A_CENTRE_DEVICE = Policy(3, timedelta(seconds=5), timedelta(minutes=5), timedelta(hours=12))


async def confirm_staff_password(
    services: Services, user_id: uuid.UUID, key: str, password: str
) -> None:
    """Raise ``Throttled`` while guesses on ``key`` are slowed, ``Forbidden`` for a wrong
    password (counted against ``key``); return when the password is the user's own."""
    keys = [(key, AT_A_CENTRE_DEVICE)]
    async with services.sessionmaker() as session:
        wait = await wait_needed(session, keys)
        user = await session.get(User, user_id)
        password_hash = user.password_hash if user is not None else None
    if wait is not None:
        raise Throttled(
            "Too many wrong passwords. Please wait a minute, then the staff member can try again.",
            code="too_many_attempts",
        )
    if not await verify_password(services.settings, password_hash, password):
        async with services.sessionmaker.begin() as session:
            await record_failure(session, keys)
        raise Forbidden(
            "That password is not right. Please ask the staff member.", code="wrong_password"
        )
    async with services.sessionmaker.begin() as session:
        await record_success(session, keys)
