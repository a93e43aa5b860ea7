"""One-time links (invites, password resets): a random token, only its SHA-256 stored,
single use, expiring."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Invalid
from storage.models import AccountStatus, OneTimeToken, TokenPurpose, User

INVITE_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)

EXPIRED_MESSAGE = (
    "This link has expired or was already used. Please ask the centre for a new one, or use "
    "“Forgot your password?” on the sign-in page."
)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_token(
    session: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose, lifetime: timedelta
) -> str:
    """A new link for ``user_id``; earlier unused links for the same purpose stop working,
    so only the newest e-mail is live."""
    now = datetime.now(UTC)
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        OneTimeToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=_hash(raw),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return raw


async def _live(
    session: AsyncSession, raw: str, purpose: TokenPurpose, *, for_update: bool
) -> tuple[OneTimeToken, User]:
    if not raw or len(raw) > 100:
        raise Invalid(EXPIRED_MESSAGE, code="link_expired")
    query = (
        select(OneTimeToken, User)
        .join(User, User.id == OneTimeToken.user_id)
        .where(OneTimeToken.token_hash == _hash(raw), OneTimeToken.purpose == purpose)
    )
    if for_update:
        query = query.with_for_update(of=OneTimeToken)
    row = (await session.execute(query)).first()
    if row is None:
        raise Invalid(EXPIRED_MESSAGE, code="link_expired")
    token, user = row
    if (
        token.used_at is not None
        or token.expires_at <= datetime.now(UTC)
        or user.status is AccountStatus.DISABLED
    ):
        raise Invalid(EXPIRED_MESSAGE, code="link_expired")
    return token, user


async def check_token(session: AsyncSession, raw: str, purpose: TokenPurpose) -> User:
    """The user a link belongs to, without using it up (to show the form on GET)."""
    _, user = await _live(session, raw, purpose, for_update=False)
    return user


async def redeem_token(session: AsyncSession, raw: str, purpose: TokenPurpose) -> User:
    """Use a link up and return its user. Call inside a transaction."""
    token, user = await _live(session, raw, purpose, for_update=True)
    # Conditional update: of two simultaneous redemptions only one changes the row.
    result = await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == token.id, OneTimeToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise Invalid(EXPIRED_MESSAGE, code="link_expired")
    return user
