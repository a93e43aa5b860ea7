"""The client's address, as the app should believe it.

Behind a TLS proxy ``request.remote`` is the proxy. With ``LETTERBOX_TRUSTED_PROXIES=N`` the
address is read from ``X-Forwarded-For``, N entries from the right: the one the outermost
trusted proxy saw. Entries further left are written by the client and never trusted, so
nobody can pick the address that sign-in throttling counts against.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from service.appkeys import SETTINGS


def client_address(request: web.Request) -> str | None:
    trusted = request.app[SETTINGS].trusted_proxies
    if trusted == 0:
        return request.remote
    forwarded = [
        part.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for part in header.split(",")
        if part.strip()
    ]
    if len(forwarded) < trusted:
        return request.remote
    candidate = forwarded[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return request.remote
