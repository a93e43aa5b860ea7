"""The security log: sign-ins, failures, two-factor changes, role changes and disables.

Kept apart from the family record: it is about accounts, not families, and it holds no
family content. Never log a password, code or token here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SecurityEvent


class Kind:
    """The event kinds this package writes (others may add their own)."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    SECOND_FACTOR_DONE = "second_factor_done"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_REPLACED = "recovery_codes_replaced"
    TOTP_ENROLLED = "totp_enrolled"
    SIGN_OUT = "sign_out"
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
    PASSWORD_SET = "password_set"  # noqa: S105 - an event name, not a secret
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name, not a secret
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 - an event name, not a secret
    ACCESS_RESET = "access_reset"
    USER_CREATED = "user_created"
    USER_DISABLED = "user_disabled"
    ROLE_CHANGED = "role_changed"
    # A call's signalling socket refused someone (forbidden command, another family, foreign
    # Origin, too many messages or offers); detail names the call, its family and the reason.
    CALL_REFUSED = "call_refused"


async def log_security_event(
    session: AsyncSession,
    kind: str,
    *,
    user_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        SecurityEvent(
            at=datetime.now(UTC),
            kind=kind,
            user_id=user_id,
            actor_id=actor_id,
            ip=(ip or None) and ip[:64],
            detail=detail or {},
        )
    )


async def recent_events(
    session: AsyncSession, kind: str, *, about: dict[str, str], scan: int = 2000
) -> list[SecurityEvent]:
    """The newest events of ``kind`` whose detail holds every ``about`` key with that value.

    Detail is JSON, matched here rather than in SQL so it reads the same on SQLite and
    PostgreSQL; only the newest ``scan`` events of the kind are looked at.
    """
    rows = (
        await session.scalars(
            select(SecurityEvent)
            .where(SecurityEvent.kind == kind)
            .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
            .limit(scan)
        )
    ).all()
    return [r for r in rows if all(r.detail.get(k) == v for k, v in about.items())]
