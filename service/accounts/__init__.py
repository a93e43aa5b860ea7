"""Accounts: sign-in with two-factor, invites and resets, the life cycle of sessions, the
security log. ``setup(app)`` registers every account route.

Other packages use: ``passwords`` (hash/verify/policy), ``tokens`` (invite and reset
links), ``users`` (create, set password, reset, disable, demo accounts) and
``security_log``."""

from __future__ import annotations

from aiohttp import web

from service.accounts import views


def setup(app: web.Application) -> None:
    views.setup(app)
