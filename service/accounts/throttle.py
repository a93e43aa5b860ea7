"""Sign-in throttling that slows guessing without handing anyone a way to lock a real user
out.

- Per account *and network* (the account with the client's /24 or /64): after a few
  failures each further attempt must wait longer (1 s, 2 s, 4 s … at most 15 minutes). An
  attacker elsewhere only slows their own network down.
- Per browser that has signed in to the account before (a sealed "device" cookie, as OWASP
  suggests): that browser has its own counter, so even an attacker on the same network
  cannot stop the real user.
- Per address, two generous budgets: one for failures on existing accounts (against one
  machine spraying many real accounts), one for failures on names that are not accounts. A
  spray of made-up names therefore never stops a real account signing in from that address
  (issue 19: behind one proxy address, 110 made-up names locked every new browser out).
- A delay, never a lock: nothing here ever disables an account.

Counters are kept by a hash of the account name, so attempted names (people sometimes type
a password into the e-mail field) are not stored. Unknown accounts are throttled exactly like
real ones, so throttling does not tell whether an account exists, with one exception: once
an address has used up one of its two budgets and not the other, its answers differ by kind.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage.keyring import KeyRing
from storage.models import SignInThrottle


@dataclass(frozen=True)
class Policy:
    free_failures: int
    first_delay: timedelta
    max_delay: timedelta
    # Counters start again after this long without a failure.
    forget_after: timedelta


ACCOUNT = Policy(3, timedelta(seconds=1), timedelta(minutes=15), timedelta(hours=24))
DEVICE = Policy(5, timedelta(seconds=1), timedelta(minutes=5), timedelta(hours=24))
# Generous: a school or office behind one address signs in many people.
ADDRESS = Policy(100, timedelta(minutes=15), timedelta(minutes=15), timedelta(hours=1))
SECOND_FACTOR = Policy(5, timedelta(seconds=2), timedelta(minutes=15), timedelta(hours=24))
RESET_MAIL = Policy(3, timedelta(hours=1), timedelta(hours=1), timedelta(hours=1))

DEVICE_COOKIE_DAYS = 180
_DEVICE_PURPOSE = "sign-in-device"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def network_of(ip: str | None) -> str:
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def account_key(email: str, ip: str | None) -> str:
    return "account:" + _digest(email, network_of(ip))


def device_key(device: str) -> str:
    return "device:" + _digest(device)


def address_key(ip: str | None, *, known_account: bool = True) -> str:
    # Two budgets per address: failures on existing accounts, and on names that are not.
    return ("ip:" if known_account else "ip-unknown:") + (ip or "unknown")[:64]


def second_factor_key(user_id: uuid.UUID) -> str:
    return f"totp:{user_id}"


def reset_mail_key(email: str) -> str:
    return "reset:" + _digest(email)


@dataclass(frozen=True)
class SignInKeys:
    """The counters one password attempt touches."""

    primary: tuple[str, Policy]  # the account+network counter, or this device's
    address: tuple[str, Policy] | None  # skipped for a known device

    @classmethod
    def for_attempt(
        cls, email: str, ip: str | None, device: str | None, *, known_account: bool = True
    ) -> SignInKeys:
        if device is not None:
            return cls((device_key(device), DEVICE), None)
        return cls(
            (account_key(email, ip), ACCOUNT),
            (address_key(ip, known_account=known_account), ADDRESS),
        )

    def all(self) -> list[tuple[str, Policy]]:
        return [self.primary] + ([self.address] if self.address else [])


def _delay(policy: Policy, failures: int) -> timedelta:
    over = failures - policy.free_failures
    if over < 0:
        return timedelta(0)
    return min(policy.first_delay * (1 << min(over, 30)), policy.max_delay)


async def wait_needed(
    session: AsyncSession, keys: list[tuple[str, Policy]], now: datetime | None = None
) -> timedelta | None:
    """How long the caller must still wait, or None when an attempt may go ahead."""
    now = now or datetime.now(UTC)
    rows = (
        await session.scalars(
            select(SignInThrottle).where(SignInThrottle.key.in_([k for k, _ in keys]))
        )
    ).all()
    longest = timedelta(0)
    for row in rows:
        if row.blocked_until is not None and row.blocked_until > now:
            longest = max(longest, row.blocked_until - now)
    return longest if longest > timedelta(0) else None


async def record_failure(
    session: AsyncSession, keys: list[tuple[str, Policy]], now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    for key, policy in keys:
        row = await session.get(SignInThrottle, key, with_for_update=True)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failure_at=now)
            try:
                async with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # someone else created it a moment ago
                row = await session.get(
                    SignInThrottle, key, with_for_update=True, populate_existing=True
                )
                if row is None:  # pragma: no cover - deleted in between; nothing to count
                    continue
        if now - row.last_failure_at > policy.forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = _delay(policy, row.failures)
        row.blocked_until = now + delay if delay else None


async def record_success(session: AsyncSession, keys: list[tuple[str, Policy]]) -> None:
    # Only the account's (or device's) own counter is cleared: one good password must not
    # reset the counter of an address that is spraying other accounts.
    await session.execute(delete(SignInThrottle).where(SignInThrottle.key == keys[0][0]))


# --- the known-device cookie ----------------------------------------------------------------


def device_cookie_name(secure: bool) -> str:
    return "__Host-letterbox-device" if secure else "letterbox-device"


def new_device_cookie(keyring: KeyRing, email: str) -> str:
    payload = json.dumps({"a": _digest(email), "n": secrets.token_urlsafe(16)}).encode()
    sealed = keyring.seal_for_centre(payload, _DEVICE_PURPOSE)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def device_from_cookie(keyring: KeyRing, cookie: str | None, email: str) -> str | None:
    """The device id when ``cookie`` was issued by us to a browser that signed in to
    ``email`` before; otherwise None (forged, damaged or for another account)."""
    if not cookie or len(cookie) > 400:
        return None
    try:
        sealed = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        payload = json.loads(keyring.open_for_centre(sealed, _DEVICE_PURPOSE))
    except (ValueError, InvalidTag, StorageError):
        return None
    if not isinstance(payload, dict) or payload.get("a") != _digest(email):
        return None
    nonce = payload.get("n")
    return nonce if isinstance(nonce, str) else None
