"""The account pages: sign-in and two-factor, enrolment, invites and resets, password
change, sign-out, and an admin's reset of someone's sign-in.

Handlers stay thin: parse the form, call the domain functions in this package, render.
Every sign-in failure gives one message in similar time, whether the account exists or not.
A new session id is issued at every step (password, second factor, enrolment, new password).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from cryptography.exceptions import InvalidTag
from sqlalchemy import update

from service.accounts import passwords, throttle, totp
from service.accounts.tokens import (
    INVITE_LIFETIME,
    RESET_LIFETIME,
    check_token,
    issue_token,
    redeem_token,
)
from service.accounts.users import (
    enrol_totp_secret,
    reset_access,
    store_password_hash,
    user_by_email,
)
from service.appkeys import ACCOUNT_TASKS, KEYRING, MAILER, SESSIONMAKER, SETTINGS
from service.errors import Invalid, NotFound
from service.http.access import (
    ALL_ROLES,
    PUBLIC,
    SECOND_FACTOR_ROLES,
    Actor,
    add_route,
    current_actor,
    signed_in,
)
from service.http.clientip import client_address
from service.http.sessions import (
    clear_session_cookie,
    end_all_sessions,
    end_session,
    set_session_cookie,
    start_session,
    token_hash,
)
from service.i18n import LANGUAGES, N_, _
from service.notify import KINDS
from service.security_log import Kind, log_security_event
from storage.errors import StorageError
from storage.models import AccountStatus, Role, TokenPurpose, User

log = logging.getLogger(__name__)

HOME: dict[Role, str] = {
    Role.ADMIN: "/admin",
    Role.STAFF: "/staff",
    Role.SUPERVISOR: "/supervisor",
    Role.PARENT: "/letterbox",
    Role.REFERRER: "/referrer",
    Role.INTERPRETER: "/interpreter",
    Role.TRANSLATOR: "/translator",
}

SIGN_IN_FAILED = (
    "We do not know that e-mail address with that password. Please check them and try again."
)
CODE_FAILED = "That code did not work. Please enter the newest code from your app."
TOO_MANY = "Too many tries. Please wait {wait} and try again."
RESET_SENT = (
    "If a parent uses that e-mail address, we sent a link to it. Use the link to choose a new "
    "password. It works once, for one hour. Centre staff: please ask your centre's admin to "
    "reset your sign-in."
)


def home_for(role: Role) -> str:
    return HOME[role]


def safe_next(value: object, role: Role) -> str:
    """Only a path on this site, never another site (``//evil``, ``/\\evil``) or a page of
    the sign-in flow itself."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and len(value) <= 500
        and "\\" not in value
        and all(c.isprintable() and not c.isspace() for c in value)
        and not _is_flow_page(value)
    ):
        return value
    return home_for(role)


def _is_flow_page(path: str) -> bool:
    return path == "/" or path.startswith(
        ("/sign-in", "/sign-out", "/two-factor", "/invite/", "/reset/", "/forgot-password")
    )


def _wait_text(wait: timedelta) -> str:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 60:
        return "a few seconds" if seconds < 10 else f"{seconds} seconds"
    minutes = (seconds + 59) // 60
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _ip(request: web.Request) -> str | None:
    return client_address(request)


def _cookie_token(request: web.Request) -> str | None:
    token = request.cookies.get(request.app[SETTINGS].session_cookie_name)
    return token_hash(token) if token and len(token) <= 100 else None


def _text(form: Any, name: str, limit: int = 400) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _render(
    template: str, request: web.Request, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def _redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


# --- sign-in ----------------------------------------------------------------------------


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    return _render("accounts/sign_in.html", request, {"next": request.query.get("next", "")})


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = _text(form, "email", 320).strip().lower()
    password = _text(form, "password", passwords.MAX_LENGTH + 1)
    wanted = _text(form, "next", 500)
    settings = request.app[SETTINGS]
    keyring = request.app[KEYRING]
    maker = request.app[SESSIONMAKER]
    ip = _ip(request)
    device = throttle.device_from_cookie(
        keyring, request.cookies.get(throttle.device_cookie_name(settings.secure_cookies)), email
    )

    async with maker.begin() as session:
        user = await user_by_email(session, email)
        # Attempts on names that are not accounts spend their own per-address budget.
        keys = throttle.SignInKeys.for_attempt(
            email, ip, device, known_account=user is not None
        ).all()
        wait = await throttle.wait_needed(session, keys)
        if wait is not None:
            await log_security_event(session, Kind.SIGN_IN_THROTTLED, ip=ip)
            user = None
    if wait is not None:
        return _render(
            "accounts/sign_in.html",
            request,
            {"error": TOO_MANY.format(wait=_wait_text(wait)), "email": email, "next": wanted},
            status=429,
        )

    # Outside any transaction: the hash takes a while and must not hold a database lock.
    # With no account (or no password yet) the hasher still runs, against a dummy.
    password_ok = await passwords.verify_password(
        settings, user.password_hash if user is not None else None, password
    )
    ok = user is not None and password_ok and user.status is AccountStatus.ACTIVE

    async with maker.begin() as session:
        if not ok or user is None:
            await throttle.record_failure(session, keys)
            await log_security_event(
                session,
                Kind.SIGN_IN_FAILED,
                user_id=user.id if user is not None else None,
                ip=ip,
                detail={"step": "password"},
            )
            failed = True
        else:
            failed = False
            await throttle.record_success(session, keys)
            assert user.password_hash is not None  # noqa: S101 - ok implies a password
            if passwords.needs_rehash(settings, user.password_hash):
                fresh = await passwords.hash_password(settings, password)
                await store_password_hash(session, user.id, fresh)
            token = await start_session(
                session,
                user,
                second_factor_done=False,
                ip=ip,
                user_agent=request.headers.get("User-Agent"),
                replacing=_cookie_token(request),
            )
            await log_security_event(
                session,
                Kind.SIGN_IN,
                user_id=user.id,
                ip=ip,
                detail={"step": "password", "second_factor_next": user.role.needs_second_factor},
            )
    if failed or user is None:
        return _render(
            "accounts/sign_in.html",
            request,
            {"error": SIGN_IN_FAILED, "email": email, "next": wanted},
            status=401,
        )

    if user.role.needs_second_factor:
        location = "/two-factor"
        if wanted and safe_next(wanted, user.role) == wanted:
            location += "?" + _query(next=wanted)
    else:
        location = safe_next(wanted, user.role)
    response = _redirect(location)
    set_session_cookie(response, settings, token)
    if device is None:
        response.set_cookie(
            throttle.device_cookie_name(settings.secure_cookies),
            throttle.new_device_cookie(keyring, email),
            max_age=throttle.DEVICE_COOKIE_DAYS * 24 * 3600,
            path="/",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="Strict",
        )
    raise response


def _query(**values: str) -> str:
    return urlencode(values)


# --- second factor ----------------------------------------------------------------------


async def _load_user(request: web.Request, actor: Actor) -> User:
    async with request.app[SESSIONMAKER]() as session:
        user = await session.get(User, actor.user_id)
    if user is None:  # pragma: no cover - the session would not have loaded
        raise NotFound("We could not find that account.")
    return user


async def two_factor_page(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    if actor.second_factor_done:
        raise _redirect(safe_next(request.query.get("next"), actor.role))
    user = await _load_user(request, actor)
    if user.totp_secret_sealed is None:
        raise _redirect("/two-factor/enrol")
    return _render("accounts/two_factor.html", request, {"next": request.query.get("next", "")})


async def two_factor(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    form = await request.post()
    code = _text(form, "code", 64)
    wanted = _text(form, "next", 500)
    settings = request.app[SETTINGS]
    keyring = request.app[KEYRING]
    ip = _ip(request)
    keys = [(throttle.second_factor_key(actor.user_id), throttle.SECOND_FACTOR)]
    if actor.second_factor_done:
        raise _redirect(safe_next(wanted, actor.role))
    async with request.app[SESSIONMAKER].begin() as session:
        wait = await throttle.wait_needed(session, keys)
        user = await session.get(User, actor.user_id, with_for_update=True)
        if user is None or user.totp_secret_sealed is None:
            raise _redirect("/two-factor/enrol")
        ok = used_recovery = False
        if wait is None:
            ok = await totp.verify_totp(session, keyring, user, code)
            if not ok:
                ok = used_recovery = await totp.use_recovery_code(session, user.id, code)
        if ok:
            await throttle.record_success(session, keys)
            token = await start_session(
                session,
                user,
                second_factor_done=True,
                ip=ip,
                user_agent=request.headers.get("User-Agent"),
                replacing=actor.session_token_hash,
            )
            await log_security_event(
                session,
                Kind.RECOVERY_CODE_USED if used_recovery else Kind.SECOND_FACTOR_DONE,
                user_id=user.id,
                ip=ip,
            )
        elif wait is None:
            await throttle.record_failure(session, keys)
            await log_security_event(session, Kind.SECOND_FACTOR_FAILED, user_id=user.id, ip=ip)
    if not ok:
        message = CODE_FAILED if wait is None else TOO_MANY.format(wait=_wait_text(wait))
        return _render(
            "accounts/two_factor.html",
            request,
            {"error": message, "next": wanted},
            status=401 if wait is None else 429,
        )
    response = _redirect(safe_next(wanted, actor.role))
    set_session_cookie(response, settings, token)
    raise response


# --- enrolment --------------------------------------------------------------------------


def _pending_purpose(actor: Actor) -> str:
    # The secret being set up travels in the form, sealed and bound to this very session:
    # showing the page changes nothing on the server (GET never changes state).
    return f"totp-enrolment:{actor.user_id}:{actor.session_token_hash}"


def _seal_pending(request: web.Request, actor: Actor, secret: str) -> str:
    sealed = request.app[KEYRING].seal_for_centre(secret.encode(), _pending_purpose(actor))
    return base64.urlsafe_b64encode(sealed).decode()


def _open_pending(request: web.Request, actor: Actor, value: str) -> str:
    try:
        sealed = base64.urlsafe_b64decode(value.encode())
        return request.app[KEYRING].open_for_centre(sealed, _pending_purpose(actor)).decode()
    except (ValueError, InvalidTag, StorageError):
        raise Invalid(
            "This set-up page has expired. Please reload it and scan the new code.",
            field="code",
        ) from None


def _enrol_context(request: web.Request, actor: Actor, secret: str) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    uri = totp.provisioning_uri(secret, actor.email, settings.centre_name)
    return {
        "qr_svg": totp.qr_svg(uri),
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "pending": _seal_pending(request, actor, secret),
    }


async def _may_enrol(request: web.Request, actor: Actor) -> User:
    user = await _load_user(request, actor)
    if user.totp_secret_sealed is not None and not actor.second_factor_done:
        # Replacing a working second factor needs that factor first.
        raise _redirect("/two-factor")
    return user


async def enrol_page(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    await _may_enrol(request, actor)
    return _render(
        "accounts/enrol.html", request, _enrol_context(request, actor, totp.new_secret())
    )


async def enrol(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    await _may_enrol(request, actor)
    form = await request.post()
    secret = _open_pending(request, actor, _text(form, "pending", 400))
    code = _text(form, "code", 64)
    settings = request.app[SETTINGS]
    keyring = request.app[KEYRING]
    ip = _ip(request)
    keys = [(throttle.second_factor_key(actor.user_id), throttle.SECOND_FACTOR)]
    async with request.app[SESSIONMAKER].begin() as session:
        wait = await throttle.wait_needed(session, keys)
        step = totp.matching_step(secret, code, None) if wait is None else None
        user = await session.get(User, actor.user_id, with_for_update=True)
        if user is None:  # pragma: no cover
            raise NotFound("We could not find that account.")
        if step is None:
            if wait is None:
                await throttle.record_failure(session, keys)
                await log_security_event(
                    session,
                    Kind.SECOND_FACTOR_FAILED,
                    user_id=user.id,
                    ip=ip,
                    detail={"step": "enrolment"},
                )
            codes: list[str] = []
        else:
            await enrol_totp_secret(keyring, user, secret)
            user.totp_last_step = step  # the code just used cannot be used again
            codes = await totp.replace_recovery_codes(session, user.id)
            await throttle.record_success(session, keys)
            # A new second factor: every other session ends; this browser gets a new one.
            await end_all_sessions(session, user.id)
            token = await start_session(
                session,
                user,
                second_factor_done=True,
                ip=ip,
                user_agent=request.headers.get("User-Agent"),
            )
            await log_security_event(session, Kind.TOTP_ENROLLED, user_id=user.id, ip=ip)
    if step is None:
        context = _enrol_context(request, actor, secret)
        context["error"] = CODE_FAILED if wait is None else TOO_MANY.format(wait=_wait_text(wait))
        return _render("accounts/enrol.html", request, context, status=401 if wait is None else 429)
    response = _render(
        "accounts/recovery_codes.html",
        request,
        {"codes": codes, "continue_to": home_for(actor.role), "csrf_token": None},
    )
    set_session_cookie(response, settings, token)
    return response


# --- sign-out ---------------------------------------------------------------------------


async def sign_out(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER].begin() as session:
        await end_session(session, actor.session_token_hash)
        await log_security_event(session, Kind.SIGN_OUT, user_id=actor.user_id, ip=_ip(request))
    response = _redirect("/sign-in")
    clear_session_cookie(response, request.app[SETTINGS])
    raise response


async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER].begin() as session:
        await end_all_sessions(session, actor.user_id)
        await log_security_event(
            session, Kind.SIGN_OUT_EVERYWHERE, user_id=actor.user_id, ip=_ip(request)
        )
    response = _redirect("/sign-in")
    clear_session_cookie(response, request.app[SETTINGS])
    raise response


# --- invite and reset links -------------------------------------------------------------

_LINKS = {
    TokenPurpose.INVITE: (N_("Welcome to Letterbox"), N_("Choose a password. Then you can start.")),
    TokenPurpose.PASSWORD_RESET: (
        N_("Choose a new password"),
        N_("Your old password stops working."),
    ),
}


def _link_purpose(request: web.Request) -> TokenPurpose:
    return (
        TokenPurpose.INVITE if request.path.startswith("/invite/") else TokenPurpose.PASSWORD_RESET
    )


async def link_page(request: web.Request) -> web.StreamResponse:
    purpose = _link_purpose(request)
    async with request.app[SESSIONMAKER]() as session:
        user = await check_token(session, request.match_info["token"], purpose)
    title, lead = _LINKS[purpose]
    return _render(
        "accounts/set_password.html",
        request,
        {
            "title": title,
            "lead": lead,
            "email": user.email,
            "action": request.path,
            "ask_language": purpose is TokenPurpose.INVITE,
        },
    )


async def use_link(request: web.Request) -> web.StreamResponse:
    purpose = _link_purpose(request)
    raw = request.match_info["token"]
    form = await request.post()
    password = _text(form, "password", passwords.MAX_LENGTH + 1)
    confirm = _text(form, "confirm", passwords.MAX_LENGTH + 1)
    # Asked on the invitation: the language of everything from here on (pages, e-mails).
    language = _text(form, "language", 8) if purpose is TokenPurpose.INVITE else ""
    settings = request.app[SETTINGS]
    maker = request.app[SESSIONMAKER]
    title, lead = _LINKS[purpose]
    async with maker() as session:
        user = await check_token(session, raw, purpose)
    try:
        passwords.check_password_policy(password)
        if password != confirm:
            raise Invalid(
                "The two passwords are not the same. Please type them again.", field="confirm"
            )
    except Invalid as exc:
        # The link is not used up by a typo: check everything before redeeming it.
        return _render(
            "accounts/set_password.html",
            request,
            {
                "title": title,
                "lead": lead,
                "email": user.email,
                "action": request.path,
                "ask_language": purpose is TokenPurpose.INVITE,
                "error": exc.message,
                "error_field": exc.field,
            },
            status=422,
        )
    fresh = await passwords.hash_password(settings, password)
    ip = _ip(request)
    async with maker.begin() as session:
        user = await redeem_token(session, raw, purpose)
        await store_password_hash(session, user.id, fresh, activate=True)
        if language in LANGUAGES:
            await session.execute(update(User).where(User.id == user.id).values(language=language))
        await end_all_sessions(session, user.id)
        await log_security_event(
            session,
            Kind.PASSWORD_SET if purpose is TokenPurpose.INVITE else Kind.PASSWORD_CHANGED,
            user_id=user.id,
            ip=ip,
            detail={"via": purpose.value},
        )
        token = await start_session(
            session,
            user,
            second_factor_done=False,
            ip=ip,
            user_agent=request.headers.get("User-Agent"),
            replacing=_cookie_token(request),
        )
        await log_security_event(
            session, Kind.SIGN_IN, user_id=user.id, ip=ip, detail={"step": purpose.value}
        )
    response = _redirect("/two-factor" if user.role.needs_second_factor else home_for(user.role))
    set_session_cookie(response, settings, token)
    raise response


async def forgot_page(request: web.Request) -> web.StreamResponse:
    return _render("accounts/forgot_password.html", request, {})


async def forgot(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = _text(form, "email", 320).strip().lower()
    ip = _ip(request)
    send_to: tuple[str, str, datetime] | None = None
    keys = [(throttle.reset_mail_key(email), throttle.RESET_MAIL)]
    async with request.app[SESSIONMAKER].begin() as session:
        user = await user_by_email(session, email)
        eligible = (
            user is not None and user.role is Role.PARENT and user.status is AccountStatus.ACTIVE
        )
        # A few links per address an hour: nobody can flood a parent's inbox.
        flooding = await throttle.wait_needed(session, keys) is not None
        await log_security_event(
            session,
            Kind.PASSWORD_RESET_REQUESTED,
            user_id=user.id if user is not None else None,
            ip=ip,
            detail={"sent": eligible and not flooding},
        )
        if user is not None and eligible and not flooding:
            await throttle.record_failure(session, keys)
            raw = await issue_token(session, user.id, TokenPurpose.PASSWORD_RESET, RESET_LIFETIME)
            send_to = (user.email, raw, datetime.now(UTC) + RESET_LIFETIME)
    if send_to is not None:
        # Sent in the background, so the answer time does not say whether a mail went out.
        _spawn(request.app, _send_reset(request.app, *send_to))
    return _render("accounts/forgot_sent.html", request, {"message": RESET_SENT})


async def _send_reset(app: web.Application, to: str, raw: str, expires_at: datetime) -> None:
    await app[MAILER].send(
        to=to,
        subject=KINDS["password_reset"].subject,
        template="password_reset",
        context={"link": f"{app[SETTINGS].public_url}/reset/{raw}", "expires_at": expires_at},
    )


def _spawn(app: web.Application, job: Coroutine[Any, Any, None]) -> None:
    tasks = app[ACCOUNT_TASKS]
    task = asyncio.create_task(_logged(job))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _logged(job: Coroutine[Any, Any, None]) -> None:
    try:
        await job
    except Exception:
        log.exception("a password-reset e-mail could not be sent")


async def _finish_tasks(app: web.Application) -> None:
    running = app[ACCOUNT_TASKS]
    tasks = list(running)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


# --- an admin resets someone's sign-in ------------------------------------------------


async def reset_sign_in(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    try:
        user_id = uuid.UUID(request.match_info["user_id"])
    except ValueError:
        raise NotFound("We could not find that account.") from None
    settings = request.app[SETTINGS]
    async with request.app[SESSIONMAKER].begin() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None or user.centre_id != actor.centre_id:
            raise NotFound("We could not find that account.")
        raw = await reset_access(session, user, actor, ip=_ip(request))
        email, name = user.email, user.display_name
    expires_at = datetime.now(UTC) + INVITE_LIFETIME
    await request.app[MAILER].send(
        to=email,
        subject=KINDS["invite"].subject,
        template="invite",
        context={"link": f"{settings.public_url}/invite/{raw}", "expires_at": expires_at},
    )
    return _render("accounts/access_reset.html", request, {"display_name": name, "email": email})


# --- changing one's own password --------------------------------------------------------


# --- new recovery codes -------------------------------------------------------------------


async def recovery_codes_page(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[SESSIONMAKER]() as session:
        left = await totp.recovery_codes_left(session, actor.user_id)
    return _render("accounts/new_recovery_codes.html", request, {"left": left})


async def new_recovery_codes(request: web.Request) -> web.StreamResponse:
    """Ten new codes replace the old ones (all of them: a lost sheet is then worthless).
    The password is asked again, so an unattended signed-in browser cannot mint codes."""
    actor = current_actor(request)
    form = await request.post()
    current = _text(form, "current", passwords.MAX_LENGTH + 1)
    user = await _load_user(request, actor)
    if not await passwords.verify_password(request.app[SETTINGS], user.password_hash, current):
        async with request.app[SESSIONMAKER]() as session:
            left = await totp.recovery_codes_left(session, actor.user_id)
        return _render(
            "accounts/new_recovery_codes.html",
            request,
            {"left": left, "error": "Your password is not right.", "error_field": "current"},
            status=422,
        )
    async with request.app[SESSIONMAKER].begin() as session:
        codes = await totp.replace_recovery_codes(session, actor.user_id)
        await log_security_event(
            session, Kind.RECOVERY_CODES_REPLACED, user_id=actor.user_id, ip=_ip(request)
        )
    return _render(
        "accounts/recovery_codes.html",
        request,
        {"codes": codes, "continue_to": home_for(actor.role)},
    )


async def change_password_page(request: web.Request) -> web.StreamResponse:
    saved = request.query.get("saved") == "language"
    return _render("accounts/change_password.html", request, {"language_saved": saved})


async def change_language(request: web.Request) -> web.StreamResponse:
    """My account: the language of this person's pages and e-mails, from the next page on."""
    actor = current_actor(request)
    form = await request.post()
    language = _text(form, "language", 8)
    if language not in LANGUAGES:
        raise Invalid(
            _("Choose one of the languages listed ({languages}).").format(
                languages=", ".join(LANGUAGES.values())
            ),
            field="language",
        )
    async with request.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(User).where(User.id == actor.user_id).values(language=language)
        )
    raise _redirect("/account/password?saved=language")


async def change_password(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    form = await request.post()
    current = _text(form, "current", passwords.MAX_LENGTH + 1)
    password = _text(form, "password", passwords.MAX_LENGTH + 1)
    confirm = _text(form, "confirm", passwords.MAX_LENGTH + 1)
    settings = request.app[SETTINGS]
    maker = request.app[SESSIONMAKER]
    user = await _load_user(request, actor)
    try:
        if not await passwords.verify_password(settings, user.password_hash, current):
            raise Invalid("Your current password is not right.", field="current")
        passwords.check_password_policy(password)
        if password != confirm:
            raise Invalid(
                "The two new passwords are not the same. Please type them again.",
                field="confirm",
            )
    except Invalid as exc:
        return _render(
            "accounts/change_password.html",
            request,
            {"error": exc.message, "error_field": exc.field},
            status=422,
        )
    fresh = await passwords.hash_password(settings, password)
    async with maker.begin() as session:
        await store_password_hash(session, actor.user_id, fresh)
        # Every session ends — someone who knew the old password is out — and this browser
        # gets a new one, keeping its second factor.
        await end_all_sessions(session, actor.user_id)
        await log_security_event(
            session, Kind.PASSWORD_CHANGED, user_id=actor.user_id, ip=_ip(request)
        )
        refreshed = await session.get(User, actor.user_id)
        assert refreshed is not None  # noqa: S101 - the actor's own row
        token = await start_session(
            session,
            refreshed,
            second_factor_done=actor.second_factor_done,
            ip=_ip(request),
            user_agent=request.headers.get("User-Agent"),
        )
    response = _render("accounts/password_changed.html", request, {"csrf_token": None})
    set_session_cookie(response, settings, token)
    return response


# --- routes ------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    tasks: set[asyncio.Task[None]] = set()
    app[ACCOUNT_TASKS] = tasks
    app.on_cleanup.append(_finish_tasks)

    add_route(app, "GET", "/sign-in", sign_in_page, PUBLIC)
    add_route(app, "POST", "/sign-in", sign_in, PUBLIC)
    add_route(app, "GET", "/forgot-password", forgot_page, PUBLIC)
    add_route(app, "POST", "/forgot-password", forgot, PUBLIC)
    add_route(app, "GET", "/invite/{token}", link_page, PUBLIC)
    add_route(app, "POST", "/invite/{token}", use_link, PUBLIC)
    add_route(app, "GET", "/reset/{token}", link_page, PUBLIC)
    add_route(app, "POST", "/reset/{token}", use_link, PUBLIC)

    second_step = signed_in(SECOND_FACTOR_ROLES, before_second_factor=True)
    add_route(app, "GET", "/two-factor", two_factor_page, second_step)
    add_route(app, "POST", "/two-factor", two_factor, second_step)
    add_route(app, "GET", "/two-factor/enrol", enrol_page, second_step)
    add_route(app, "POST", "/two-factor/enrol", enrol, second_step)

    # Signing out must work half-way through signing in too.
    add_route(app, "POST", "/sign-out", sign_out, signed_in(ALL_ROLES, before_second_factor=True))
    add_route(app, "POST", "/sign-out-everywhere", sign_out_everywhere, signed_in(ALL_ROLES))
    add_route(
        app, "GET", "/account/recovery-codes", recovery_codes_page, signed_in(SECOND_FACTOR_ROLES)
    )
    add_route(
        app, "POST", "/account/recovery-codes", new_recovery_codes, signed_in(SECOND_FACTOR_ROLES)
    )
    add_route(app, "GET", "/account/password", change_password_page, signed_in(ALL_ROLES))
    add_route(app, "POST", "/account/language", change_language, signed_in(ALL_ROLES))
    add_route(app, "POST", "/account/password", change_password, signed_in(ALL_ROLES))
    add_route(
        app,
        "POST",
        "/admin/accounts/{user_id}/reset-sign-in",
        reset_sign_in,
        signed_in({Role.ADMIN}),
    )
