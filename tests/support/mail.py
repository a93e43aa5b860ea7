"""Reading what the app e-mailed: the outbox folder's messages and a message's calendar file,
parsed with a real calendar library (icalendar)."""

from __future__ import annotations

import email.policy
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import icalendar


def outbox(folder: Path) -> list[EmailMessage]:
    return [
        cast(EmailMessage, message_from_bytes(p.read_bytes(), policy=email.policy.default))
        for p in sorted(folder.glob("*.eml"))
    ]


def body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(cast(EmailMessage, body).get_content())


def calendar_bytes(message: EmailMessage) -> bytes:
    """The one ``text/calendar`` attachment of ``message`` (fails if there is not exactly one)."""
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def calendar_event(message: EmailMessage) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(calendar_bytes(message))
    (event,) = calendar.walk("VEVENT")
    return cast(icalendar.Event, event)
