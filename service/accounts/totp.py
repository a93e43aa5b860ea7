"""TOTP two-factor codes and recovery codes.

A code is accepted once: the user's last accepted time step is stored, and only a later step
counts, so a code seen over someone's shoulder cannot be replayed. Recovery codes carry 80
random bits each, so a plain SHA-256 is enough to store them (no guessing list to attack).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keyring import KeyRing
from storage.models import RecoveryCode, User

ISSUER = "Letterbox"
STEP_SECONDS = 30
# One step either side: phones drift, and typing a code takes time.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_TOTP_PURPOSE = "totp-secret"


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(keyring: KeyRing, user_id: uuid.UUID, secret: str) -> bytes:
    return keyring.seal_for_centre(secret.encode(), f"{_TOTP_PURPOSE}:{user_id}")


def open_secret(keyring: KeyRing, user: User) -> str | None:
    if user.totp_secret_sealed is None:
        return None
    return keyring.open_for_centre(user.totp_secret_sealed, f"{_TOTP_PURPOSE}:{user.id}").decode()


def provisioning_uri(secret: str, email: str, centre_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"{ISSUER} {centre_name}")


def qr_svg(uri: str) -> str:
    """An inline ``<svg>`` (no XML declaration, no script, no style attribute): the CSP
    allows inline SVG markup, and no request leaves the page."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=5, border=2, dark="#000", light="#fff", title="QR code")
    return svg


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def matching_step(
    secret: str, code: str, after_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` belongs to, if it is valid and later than ``after_step``."""
    code = normalise_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    found: int | None = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Compare every candidate: the time taken does not depend on which one matched.
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code) and (
            after_step is None or step > after_step
        ):
            found = step
    return found


async def claim_step(session: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
    """Record ``step`` as used. A conditional update, so two requests racing with the same
    code cannot both win."""
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def verify_totp(session: AsyncSession, keyring: KeyRing, user: User, code: str) -> bool:
    secret = open_secret(keyring, user)
    if secret is None:
        return False
    step = matching_step(secret, code, user.totp_last_step)
    return step is not None and await claim_step(session, user.id, step)


# --- recovery codes ----------------------------------------------------------------------


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def replace_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Ten fresh codes; the old ones stop working. Returns the codes to show once."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash_recovery(c)) for c in codes)
    return codes


async def use_recovery_code(session: AsyncSession, user_id: uuid.UUID, code: str) -> bool:
    normal = normalise_code(code)
    if not re.fullmatch(f"[{_RECOVERY_ALPHABET}]{{16}}", normal):
        return False
    result = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _hash_recovery(normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def recovery_codes_left(session: AsyncSession, user_id: uuid.UUID) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())
