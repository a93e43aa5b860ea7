"""Short-lived TURN credentials (the TURN REST API that coturn's ``use-auth-secret`` speaks).

The browser never sees the shared secret: it gets a username made of an expiry time and a
label, and an HMAC of that username under the secret, valid for a few hours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from service.settings import Settings

CREDENTIAL_LIFETIME = timedelta(hours=4)


def turn_credentials(secret: str, label: str, now: datetime) -> tuple[str, str]:
    expires = int((now + CREDENTIAL_LIFETIME).timestamp())
    username = f"{expires}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(settings: Settings, label: str, now: datetime) -> list[Mapping[str, object]]:
    """The ICE servers a participant (or the media relay) may use: the configured ones plus
    the centre's TURN with fresh credentials. Never a public default."""
    servers: list[Mapping[str, object]] = list(settings.ice_servers)
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, label, now)
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers
