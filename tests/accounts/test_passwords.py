"""Passwords: argon2id with the configured cost, a plain policy."""

from __future__ import annotations

import pytest

from service.accounts.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from service.errors import Invalid
from service.settings import Settings


async def test_password_hash_is_argon2id_with_configured_cost(settings: Settings) -> None:
    hashed = await hash_password(settings, "a long enough passphrase")
    assert hashed.startswith("$argon2id$")
    assert f"m={settings.argon2_memory_kib},t={settings.argon2_time_cost}" in hashed
    assert await verify_password(settings, hashed, "a long enough passphrase")
    assert not await verify_password(settings, hashed, "a long enough passphrasE")
    assert not await verify_password(settings, None, "a long enough passphrase")
    assert not needs_rehash(settings, hashed)


@pytest.mark.parametrize("weak", ["short", "password123", "1234567890", "x" * 201])
def test_weak_passwords_are_refused_with_a_plain_message(weak: str) -> None:
    with pytest.raises(Invalid) as error:
        check_password_policy(weak)
    assert error.value.field == "password"
    assert "password" in error.value.message.lower()


def test_a_passphrase_is_accepted() -> None:
    check_password_policy("four ordinary words together")
