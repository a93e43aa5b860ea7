"""Password hashing (argon2id) and the password policy.

Hashing is deliberately slow, so it always runs in a worker thread: the event loop keeps
serving other people while one sign-in is checked. The cost comes from settings (OWASP's
minimum in production, cheap but real in tests)."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from service.errors import Invalid
from service.i18n import _
from service.settings import Settings

MIN_LENGTH = 10
MAX_LENGTH = 200

# The most common passwords that still pass the length rule. A short list on purpose: the
# length rule does the real work; this stops the obvious choices.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "0000000000",
        "1q2w3e4r5t",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "password12",
        "password123",
        "password1234",
        "passw0rd12",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "changeme123",
        "abcdefghij",
        "abc1234567",
        "football12",
        "monkey1234",
        "sunshine12",
        "princess12",
        "letterbox1",
        "letterbox123",
        "asdfghjkl1",
        "zaq12wsxcde",
    }
)


def _hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=1,
        type=Type.ID,
    )


def check_password_policy(password: str) -> None:
    """Raise ``Invalid(field="password")`` with a plain message when the password is weak."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            _(
                "Your password needs at least {min_length} characters. A few words in a row "
                "make a good password."
            ).format(min_length=MIN_LENGTH),
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise Invalid(
            _("Your password can have at most {max_length} characters.").format(
                max_length=MAX_LENGTH
            ),
            field="password",
        )
    if password.strip().lower() in COMMON_PASSWORDS:
        raise Invalid(
            "Lots of people use that password, so it is easy to guess. Please choose another one.",
            field="password",
        )


async def hash_password(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(_hasher(settings).hash, password)


def _verify(hasher: PasswordHasher, password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        # No account (or no password yet): spend the same effort as a real check, so the
        # answer time does not tell whether the account exists.
        hasher.hash(secrets.token_urlsafe(16))
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]  # never hash unbounded input; still spend the time
    return await asyncio.to_thread(_verify, _hasher(settings), password_hash, password)


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current settings."""
    try:
        return _hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
