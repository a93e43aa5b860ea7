"""Accounts: sign-in with two-factor, invites and resets, the life cycle of sessions. (The
security log every capability writes to is the platform's: ``service.security_log``.)

Other capabilities use accounts only through these names:
``create_user``, ``user_by_email``, ``disable_user``, ``provision_demo_user`` (people);
``issue_token``, ``INVITE_LIFETIME``, ``send_invite`` (invite links and their e-mail);
``verify_password``; ``confirm_staff_password`` (a staff member's own password asked again
at a centre device, guesses slowed); ``ThrottlePolicy``, ``throttle_wait_needed``,
``throttle_failure``, ``throttle_success`` (slowing guesses)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.accounts.confirm import confirm_staff_password
from service.accounts.invites import send_invite
from service.accounts.passwords import verify_password
from service.accounts.throttle import Policy as ThrottlePolicy
from service.accounts.throttle import record_failure as throttle_failure
from service.accounts.throttle import record_success as throttle_success
from service.accounts.throttle import wait_needed as throttle_wait_needed
from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.accounts.users import create_user, disable_user, provision_demo_user, user_by_email
from service.typedefs import CleanupContext

__all__ = [
    "INVITE_LIFETIME",
    "ThrottlePolicy",
    "cleanup_contexts",
    "confirm_staff_password",
    "create_user",
    "disable_user",
    "issue_token",
    "provision_demo_user",
    "send_invite",
    "setup",
    "throttle_failure",
    "throttle_success",
    "throttle_wait_needed",
    "user_by_email",
    "verify_password",
]


def setup(app: web.Application) -> None:
    from service.accounts import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
