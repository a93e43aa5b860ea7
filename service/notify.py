"""E-mail notifications.

An e-mail is an envelope with a knock on the door, nothing more: it says that there is
something new and gives a sign-in link. It never carries letter content, a child's name or
any address. That is enforced by structure, not by care at each call site:

- each kind of e-mail (``KINDS``) has a fixed subject and a fixed, small set of context keys;
  anything else is refused with ``UnsafeEmail`` before a template is rendered;
- the values are typed: a link must be a path on this site's own public address, a time must
  be a ``datetime``; no free text from a letter, a family or a person is accepted at all.

An e-mail about a call may carry one attachment, a calendar file (``service.ics``) built from
typed values (the window, the call's own link) and the centre's name: still nothing free.

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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiosmtplib
import jinja2
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import Unavailable
from service.i18n import N_, gettext, use_language
from service.i18n.templates import LocalisedEnvironment
from service.ics import FILENAME, CalendarEvent, render
from service.localtime import local_day, local_time
from service.settings import Settings
from service.statuses import PARENT_WORDS
from storage.models import Centre, User

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
DEFAULT_FROM = "Letterbox <no-reply@letterbox.invalid>"
SMTP_TIMEOUT_SECONDS = 30

# A link's path may hold only what our own routes and random tokens use: no query string,
# no fragment, nothing a caller could smuggle a name into beyond a token-like segment.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/_\-]*$")
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


# The centre's own contact details, set by an admin: what a footer may show. Checked again
# here (not only on the settings form) so a footer never carries more than a number, an
# address and a short line of hours.
_PHONE = re.compile(r"^[0-9+() \-]{5,40}$")
_HOURS = re.compile(r"^[\w .,:;()&/+\-–]{1,200}$")


@dataclass(frozen=True)
class CentreContact:
    phone: str | None
    email: str | None
    hours: str | None

    @classmethod
    def checked(cls, phone: str | None, email: str | None, hours: str | None) -> CentreContact:
        return cls(
            phone if phone and _PHONE.match(phone) else None,
            email if email and _ADDRESS.match(email) and len(email) <= 320 else None,
            hours if hours and _HOURS.match(hours) else None,
        )

    @property
    def empty(self) -> bool:
        return not (self.phone or self.email or self.hours)


ContactSource = Callable[[], CentreContact | None]


class ContactBook:
    """The centre's contact details, kept in memory for page and e-mail footers.

    Footers never read the database themselves: an e-mail is often sent, and a page rendered,
    while the caller still holds a session, and on SQLite a second transaction would wait for
    the first one's write lock. The book is filled at start, refreshed after an admin saves new
    details, and every minute on every node (``refresh_job``), so other nodes follow."""

    def __init__(self) -> None:
        self._contact: CentreContact | None = None

    def current(self) -> CentreContact | None:
        return self._contact

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._contact = await read_centre_contact(sessionmaker)


# Declared beside its type (like service.services.SERVICES).
CONTACT_BOOK = web.AppKey("contact_book", ContactBook)
REFRESH_SECONDS = 60.0


async def read_centre_contact(
    sessionmaker: async_sessionmaker[AsyncSession], centre_id: uuid.UUID | None = None
) -> CentreContact | None:
    """The centre's contact details (``centre_id``, else the deployment's first centre)."""
    query = select(Centre.contact_phone, Centre.contact_email, Centre.opening_hours)
    if centre_id is not None:
        query = query.where(Centre.id == centre_id)
    async with sessionmaker() as session:
        row = (await session.execute(query.order_by(Centre.created_at).limit(1))).first()
    if row is None:
        return None
    contact = CentreContact.checked(*row)
    return None if contact.empty else contact


class UnsafeEmail(ValueError):
    """A caller tried to put something into an e-mail that e-mails may not carry."""


@dataclass(frozen=True)
class EmailKind:
    name: str
    subject: str
    # The only context keys the template may receive; ``link`` is always required.
    keys: frozenset[str]
    # Whether it may carry the call's calendar file.
    calendar: bool = False


def _kind(name: str, subject: str, *extra: str, calendar: bool = False) -> EmailKind:
    return EmailKind(name, subject, frozenset({"link", *extra}), calendar)


KINDS: Mapping[str, EmailKind] = {
    kind.name: kind
    for kind in (
        _kind("invite", N_("You have been invited to Letterbox"), "expires_at"),
        _kind("password_reset", N_("Reset your Letterbox password"), "expires_at"),
        _kind("item_approved", N_("Something you sent has been approved")),
        _kind("item_returned", N_("Something you sent has come back to you")),
        _kind("reply_waiting", N_("There is something new for you in Letterbox")),
        _kind("items_late", N_("Items have waited past the centre's target")),
        _kind("call_scheduled", N_("A video call has been booked"), "starts_at", calendar=True),
        _kind("call_changed", N_("A video call has changed"), "starts_at", calendar=True),
        _kind("call_cancelled", N_("A video call has been cancelled"), "starts_at", calendar=True),
        _kind(
            "call_reminder", N_("Reminder: your video call is tomorrow"), "starts_at", calendar=True
        ),
        # To the safeguarding lead, and to the admins when it is not acknowledged in time: a
        # link to sign in and nothing else (no family, no child, nothing of what was seen).
        _kind("concern_raised", N_("A safeguarding concern needs you now")),
        _kind("concern_unacknowledged", N_("A safeguarding concern has not been acknowledged")),
        # To the parent, two weeks before the plan expects a letter: when, and nothing else.
        _kind("letter_due", N_("A reminder from Letterbox"), "due_on"),
    )
}

# Keys whose values must be aware datetimes (rendered by us, in one fixed format).
_TIME_KEYS = frozenset({"expires_at", "starts_at"})
# Keys whose values must be dates (a day, no time): rendered "Friday 25 December 2026".
_DAY_KEYS = frozenset({"due_on"})


class Mailer(Protocol):
    async def send(
        self,
        *,
        to: str,
        subject: str,
        template: str,
        context: dict[str, object],
        calendar: CalendarEvent | None = None,
        language: str | None = None,
    ) -> None:
        """Send one e-mail in ``language`` (by default, the recipient account's language) of the kind ``template``, with ``calendar`` attached as an ``.ics``
        file if the kind allows it. Raises ``UnsafeEmail`` for anything an e-mail may not
        carry and ``Unavailable`` when the message could not be handed over."""
        ...


def _kind_for(template: str) -> EmailKind:
    name = template.removeprefix("email/").removesuffix(".txt")
    kind = KINDS.get(name)
    if kind is None:
        raise UnsafeEmail(f"unknown e-mail kind {template!r}; the kinds are {sorted(KINDS)}")
    return kind


# A date format with a word of its own: the translator moves "at" (rendered in the
# recipient's language, inside ``use_language``).
_WHEN: Final = N_("%A %d %B %Y at %H:%M %Z")


def _when(value: datetime, settings: Settings) -> str:
    # The centre's time with its zone spelled out (e.g. "14:30 BST"): unambiguous for a
    # parent elsewhere, and what the centre's own pages show.
    return local_time(value, settings.zone, gettext(_WHEN))


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
        elif key in _DAY_KEYS:
            if not isinstance(value, date) or isinstance(value, datetime):
                raise UnsafeEmail(f"{key} must be a date")
            values[key] = local_day(value, "%A %-d %B %Y")
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


def _calendar_file(
    settings: Settings, kind: EmailKind, calendar: CalendarEvent | None
) -> bytes | None:
    if calendar is None:
        return None
    if not kind.calendar:
        raise UnsafeEmail(f"a {kind.name!r} e-mail may not carry a calendar file")
    for name, value in (("starts_at", calendar.starts_at), ("ends_at", calendar.ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise UnsafeEmail(f"the calendar's {name} must be an aware datetime")
    if not isinstance(calendar.call_id, uuid.UUID):
        raise UnsafeEmail("the calendar's call_id must be a UUID")
    if not isinstance(calendar.sequence, int) or calendar.sequence < 0:
        raise UnsafeEmail("the calendar's sequence must be a whole number from 0")
    _check_link(settings, calendar.link)
    return render(calendar, centre_name=settings.centre_name)


def _recipient(to: str) -> str:
    if not _ADDRESS.match(to) or len(to) > 320:
        raise UnsafeEmail("the recipient must be one plain e-mail address")
    return to


class _Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Plain text: no HTML escaping wanted, and StrictUndefined makes a template that
        # asks for a key the kind does not allow fail loudly in tests.
        self.env = LocalisedEnvironment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )

    def message(
        self,
        *,
        to: str,
        subject: str,
        template: str,
        context: Mapping[str, object],
        calendar: CalendarEvent | None = None,
        contact: CentreContact | None = None,
        language: str = "en",
    ) -> EmailMessage:
        with use_language(language):
            return self._message(to, subject, template, context, calendar, contact)

    def _message(
        self,
        to: str,
        subject: str,
        template: str,
        context: Mapping[str, object],
        calendar: CalendarEvent | None,
        contact: CentreContact | None,
    ) -> EmailMessage:
        kind = _kind_for(template)
        values: dict[str, object] = {**check_context(self.settings, kind, subject, context)}
        values["contact"] = contact
        values["status_words"] = {s.value: w.words for s, w in PARENT_WORDS.items()}
        ics = _calendar_file(self.settings, kind, calendar)
        body = self.env.get_template(f"email/{kind.name}.txt").render(values)
        smtp = self.settings.smtp
        message = EmailMessage()
        message["From"] = smtp.mail_from if smtp is not None else DEFAULT_FROM
        message["To"] = _recipient(to)
        message["Subject"] = gettext(kind.subject)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="letterbox.invalid")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        if ics is not None:
            # multipart/mixed: the text first, then the file calendars offer to add.
            message.add_attachment(
                ics,
                maintype="text",
                subtype="calendar",
                filename=FILENAME,
                params={"method": "PUBLISH", "charset": "utf-8"},
            )
        return message


# The language of the account an address belongs to (English for an address with none).
LanguageSource = Callable[[str], Awaitable[str]]


def recipient_languages(sessionmaker: async_sessionmaker[AsyncSession]) -> LanguageSource:
    """Each e-mail is written in its recipient's language, looked up by the mailer itself so
    that no caller can forget it."""

    async def language_of(address: str) -> str:
        async with sessionmaker() as session:
            found = await session.scalar(
                select(User.language).where(func.lower(User.email) == address.lower())
            )
        return found or "en"

    return language_of


class _RenderingMailer:
    """Renders each e-mail (with the centre's contact details in its footer, in the
    recipient's language) and hands it to ``_deliver``."""

    def __init__(
        self,
        settings: Settings,
        contact: ContactSource | None = None,
        languages: LanguageSource | None = None,
    ) -> None:
        self._renderer = _Renderer(settings)
        self._contact = contact
        self._languages = languages

    async def send(
        self,
        *,
        to: str,
        subject: str,
        template: str,
        context: dict[str, object],
        calendar: CalendarEvent | None = None,
        language: str | None = None,
    ) -> None:
        contact = self._contact() if self._contact is not None else None
        if language is None:
            language = await self._languages(to) if self._languages is not None else "en"
        message = self._renderer.message(
            to=to,
            subject=subject,
            template=template,
            context=context,
            calendar=calendar,
            contact=contact,
            language=language,
        )
        await self._deliver(message)

    async def _deliver(self, message: EmailMessage) -> None:
        raise NotImplementedError


class OutboxMailer(_RenderingMailer):
    """The embedded default: each e-mail becomes one ``.eml`` file in the outbox folder."""

    def __init__(
        self,
        settings: Settings,
        contact: ContactSource | None = None,
        languages: LanguageSource | None = None,
    ) -> None:
        super().__init__(settings, contact, languages)
        self.outbox = settings.outbox_dir

    async def _deliver(self, message: EmailMessage) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        await asyncio.to_thread(_write_file, path, message.as_bytes())
        log.info("e-mail written to the outbox", extra={"path": str(path)})


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)  # a reader never sees half an e-mail


class SmtpMailer(_RenderingMailer):
    """Hands each e-mail to the SMTP server named by ``LETTERBOX_SMTP_URL``."""

    def __init__(
        self,
        settings: Settings,
        contact: ContactSource | None = None,
        languages: LanguageSource | None = None,
    ) -> None:
        if settings.smtp is None:
            raise ValueError("SmtpMailer needs LETTERBOX_SMTP_URL")
        super().__init__(settings, contact, languages)
        self._smtp = settings.smtp

    async def _deliver(self, message: EmailMessage) -> None:
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


def mailer_for(
    settings: Settings,
    contact: ContactSource | None = None,
    languages: LanguageSource | None = None,
) -> Mailer:
    """The configured mailer; ``contact`` gives the centre's details for every footer and
    ``languages`` each recipient's language."""
    if settings.smtp is not None:
        return SmtpMailer(settings, contact, languages)
    return OutboxMailer(settings, contact, languages)
