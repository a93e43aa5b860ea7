"""E-mail notifications.

An e-mail is an envelope with a knock on the door, nothing more: it says that there is
something new and gives a sign-in link. It never carries letter content, a child's name or
any address. That is enforced by structure, not by care at each call site:

- each kind of e-mail (``KINDS``) has a fixed subject and a fixed, small set of context keys;
  anything else is refused with ``UnsafeEmail`` before a template is rendered;
- the values are typed: a link must be a path on this site's own public address, a time must
  be a ``datetime``; no free text from a letter, a family or a person is accepted at all.

Two mailers share one ``Mailer`` protocol: ``SmtpMailer`` (aiosmtplib, STARTTLS as the
settings say) and ``OutboxMailer`` (the embedded default: each e-mail becomes an ``.eml``
file in ``settings.outbox_dir``). ``service.resources.mailer_ctx`` puts the right one in ``app[MAILER]``.

Callers::

    await request.app[MAILER].send(
        to=user.email,
        subject=KINDS["invite"].subject,
        template="invite",
        context={"link": f"{settings.public_url}/invite/{token}", "expires_at": expiry},
    )
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib
import jinja2

from service.errors import Unavailable
from service.localtime import local_time
from service.settings import Settings

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
DEFAULT_FROM = "Letterbox <no-reply@letterbox.invalid>"
SMTP_TIMEOUT_SECONDS = 30

# A link's path may hold only what our own routes and random tokens use: no query string,
# no fragment, nothing a caller could smuggle a name into beyond a token-like segment.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/_\-]*$")
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class UnsafeEmail(ValueError):
    """A caller tried to put something into an e-mail that e-mails may not carry."""


@dataclass(frozen=True)
class EmailKind:
    name: str
    subject: str
    # The only context keys the template may receive; ``link`` is always required.
    keys: frozenset[str]


def _kind(name: str, subject: str, *extra: str) -> EmailKind:
    return EmailKind(name, subject, frozenset({"link", *extra}))


KINDS: Mapping[str, EmailKind] = {
    kind.name: kind
    for kind in (
        _kind("invite", "You have been invited to Letterbox", "expires_at"),
        _kind("password_reset", "Reset your Letterbox password", "expires_at"),
        _kind("item_approved", "Something you sent has been approved"),
        _kind("item_returned", "Something you sent has come back to you"),
        _kind("reply_waiting", "There is something new for you in Letterbox"),
        _kind("items_late", "Items have waited past the centre's target"),
        _kind("call_scheduled", "A video call has been booked", "starts_at"),
        _kind("call_changed", "A video call has changed", "starts_at"),
        _kind("call_cancelled", "A video call has been cancelled", "starts_at"),
    )
}

# Keys whose values must be aware datetimes (rendered by us, in one fixed format).
_TIME_KEYS = frozenset({"expires_at", "starts_at"})


class Mailer(Protocol):
    async def send(
        self, *, to: str, subject: str, template: str, context: dict[str, object]
    ) -> None:
        """Send one e-mail of the kind ``template``. Raises ``UnsafeEmail`` for anything an
        e-mail may not carry and ``Unavailable`` when the message could not be handed over."""
        ...


def _kind_for(template: str) -> EmailKind:
    name = template.removeprefix("email/").removesuffix(".txt")
    kind = KINDS.get(name)
    if kind is None:
        raise UnsafeEmail(f"unknown e-mail kind {template!r}; the kinds are {sorted(KINDS)}")
    return kind


def _when(value: datetime, settings: Settings) -> str:
    # The centre's time with its zone spelled out (e.g. "14:30 BST"): unambiguous for a
    # parent elsewhere, and what the centre's own pages show.
    return local_time(value, settings.zone, "%A %d %B %Y at %H:%M %Z")


def check_context(
    settings: Settings, kind: EmailKind, subject: str, context: Mapping[str, object]
) -> dict[str, str]:
    """The rendered values for ``kind``, or ``UnsafeEmail`` if anything does not fit."""
    if subject != kind.subject:
        raise UnsafeEmail(
            f"the subject of a {kind.name!r} e-mail is fixed: use notify.KINDS[{kind.name!r}].subject"
        )
    unknown = set(context) - kind.keys
    if unknown:
        raise UnsafeEmail(f"a {kind.name!r} e-mail may not carry {sorted(unknown)}")
    missing = kind.keys - set(context)
    if missing:
        raise UnsafeEmail(f"a {kind.name!r} e-mail needs {sorted(missing)}")
    values: dict[str, str] = {}
    for key, value in context.items():
        if key in _TIME_KEYS:
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise UnsafeEmail(f"{key} must be an aware datetime")
            values[key] = _when(value, settings)
        elif key == "link":
            values[key] = _check_link(settings, value)
        else:  # pragma: no cover - every key of KINDS is handled above
            raise UnsafeEmail(f"no rule for {key}")
    values["centre_name"] = settings.centre_name
    values["sign_in_link"] = f"{settings.public_url}/sign-in"
    return values


def _check_link(settings: Settings, value: object) -> str:
    if not isinstance(value, str):
        raise UnsafeEmail("link must be a string")
    base = settings.public_url
    if not value.startswith(base + "/"):
        raise UnsafeEmail("a link must point at this site's public address")
    path = urlsplit(value).path
    if value != base + path or not _SAFE_PATH.match(path):
        raise UnsafeEmail("a link may hold only a path of letters, digits, '-', '_' and '/'")
    return value


def _recipient(to: str) -> str:
    if not _ADDRESS.match(to) or len(to) > 320:
        raise UnsafeEmail("the recipient must be one plain e-mail address")
    return to


class _Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Plain text: no HTML escaping wanted, and StrictUndefined makes a template that
        # asks for a key the kind does not allow fail loudly in tests.
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - text/plain e-mail bodies, never HTML
            keep_trailing_newline=True,
        )

    def message(
        self, *, to: str, subject: str, template: str, context: Mapping[str, object]
    ) -> EmailMessage:
        kind = _kind_for(template)
        values = check_context(self.settings, kind, subject, context)
        body = self.env.get_template(f"email/{kind.name}.txt").render(values)
        smtp = self.settings.smtp
        message = EmailMessage()
        message["From"] = smtp.mail_from if smtp is not None else DEFAULT_FROM
        message["To"] = _recipient(to)
        message["Subject"] = kind.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="letterbox.invalid")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message


class OutboxMailer:
    """The embedded default: each e-mail becomes one ``.eml`` file in the outbox folder."""

    def __init__(self, settings: Settings) -> None:
        self._renderer = _Renderer(settings)
        self.outbox = settings.outbox_dir

    async def send(
        self, *, to: str, subject: str, template: str, context: dict[str, object]
    ) -> None:
        message = self._renderer.message(to=to, subject=subject, template=template, context=context)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        await asyncio.to_thread(_write_file, path, message.as_bytes())
        log.info("e-mail written to the outbox", extra={"path": str(path)})


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)  # a reader never sees half an e-mail


class SmtpMailer:
    """Hands each e-mail to the SMTP server named by ``LETTERBOX_SMTP_URL``."""

    def __init__(self, settings: Settings) -> None:
        if settings.smtp is None:
            raise ValueError("SmtpMailer needs LETTERBOX_SMTP_URL")
        self._renderer = _Renderer(settings)
        self._smtp = settings.smtp

    async def send(
        self, *, to: str, subject: str, template: str, context: dict[str, object]
    ) -> None:
        message = self._renderer.message(to=to, subject=subject, template=template, context=context)
        smtp = self._smtp
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                # The URL's scheme decides, never the port: smtp+starttls:// must upgrade
                # (no fallback to plain text), smtps:// is TLS from the first byte, and plain
                # smtp:// is not upgraded behind the operator's back either.
                start_tls=smtp.starttls,
                use_tls=smtp.implicit_tls,
                cert_bundle=str(smtp.ca_file) if smtp.ca_file is not None else None,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("e-mail could not be sent: %s", type(exc).__name__)
            raise Unavailable(
                "We could not send the e-mail just now. Nothing else was lost; please try "
                "again in a few minutes."
            ) from exc


def mailer_for(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp is not None else OutboxMailer(settings)
