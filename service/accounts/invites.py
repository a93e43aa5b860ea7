"""The invite e-mail: a knock on the door with a one-time link, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

from service.accounts.tokens import INVITE_LIFETIME
from service.notify import KINDS
from service.services import Services


async def send_invite(services: Services, email: str, token: str) -> None:
    """The invite e-mail; sent after the transaction that made the token committed."""
    await services.mailer.send(
        to=email,
        subject=KINDS["invite"].subject,
        template="invite",
        context={
            "link": services.link(f"/invite/{token}"),
            "expires_at": datetime.now(UTC) + INVITE_LIFETIME,
        },
    )
